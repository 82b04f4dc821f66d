/**
 * Stable sort of indices by non-negative integer keys, in linear time for large inputs.
 *
 * Trace analysis sorts a million spans by start and by end; a comparator sort costs about
 * 20 comparisons per span, a radix sort four counting passes at most (usually two: offsets from
 * the trace start rarely pass 2^32 ns, about 4.3 s, and passes whose digit never varies are skipped).
 */

const TWO_32 = 4294967296;

/**
 * Returns the indices `0..keys.length-1` ordered by ascending key; equal keys keep index order.
 * Keys must be integers in `[0, 2^53)` (exact offsets in nanoseconds); fractions or negative keys
 * are not handled and produce an unspecified order.
 */
export function sortIndicesByKey(keys: Float64Array): Int32Array {
  const n = keys.length;
  let idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  let sorted = true;
  for (let i = 1; i < n; i++) {
    if (keys[i] < keys[i - 1]) {
      sorted = false;
      break;
    }
  }
  if (sorted) return idx;
  if (n <= 128) {
    const arr = Array.from(idx).sort((a, b) => keys[a] - keys[b] || a - b);
    for (let i = 0; i < n; i++) idx[i] = arr[i];
    return idx;
  }
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    const h = Math.floor(k / TWO_32);
    hi[i] = h;
    lo[i] = k - h * TWO_32;
  }
  let tmp = new Int32Array(n);
  const count = new Int32Array(65537);
  for (let pass = 0; pass < 4; pass++) {
    const words = pass < 2 ? lo : hi;
    const shift = pass % 2 === 0 ? 0 : 16;
    count.fill(0);
    for (let i = 0; i < n; i++) count[((words[i] >>> shift) & 0xffff) + 1]++;
    let skip = false;
    for (let d = 1; d <= 65536; d++) {
      if (count[d] === n) {
        skip = true;
        break;
      }
      if (count[d] !== 0) break;
    }
    if (skip) continue;
    for (let d = 1; d <= 65536; d++) count[d] += count[d - 1];
    for (let j = 0; j < n; j++) {
      const i = idx[j];
      tmp[count[(words[i] >>> shift) & 0xffff]++] = i;
    }
    const swap = idx;
    idx = tmp;
    tmp = swap;
  }
  return idx;
}
