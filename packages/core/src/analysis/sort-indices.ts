/**
 * Stable sort of indices by non-negative integer keys, in linear time for large inputs.
 *
 * Trace analysis sorts a million spans by start and by end; a comparator sort costs about
 * 20 comparisons per span, a radix sort four counting passes at most (usually two: offsets from
 * the trace start rarely pass 2^32 ns, about 4.3 s, and passes whose digit never varies are skipped).
 */

import type { Scratch } from './scratch.ts';

const TWO_32 = 4294967296;

/**
 * Returns the indices `0..keys.length-1` ordered by ascending key; equal keys keep index order.
 * Keys must be integers in `[0, 2^53)` (exact offsets in nanoseconds); fractions or negative keys
 * are not handled and produce an unspecified order.
 */
export function sortIndicesByKey(keys: Float64Array | Uint32Array): Int32Array {
  return sortIndices(keys, new Int32Array(keys.length), undefined);
}

/**
 * `sortIndicesByKey` into `out` (length `keys.length`), with its temporaries carved from
 * `scratch` and freed again (fresh arrays without one).
 */
export function sortIndices(
  keys: Float64Array | Uint32Array,
  out: Int32Array,
  scratch: Scratch | undefined,
): Int32Array {
  const mark = scratch?.mark() ?? 0;
  const result = sortIndicesTo(keys, out, scratch);
  scratch?.reset(mark);
  return result;
}

function sortIndicesTo(keys: Float64Array | Uint32Array, out: Int32Array, scratch: Scratch | undefined): Int32Array {
  const n = keys.length;
  let idx = out;
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
  // 32-bit keys are their own low word and need no high passes.
  const narrow = keys instanceof Uint32Array;
  let lo: Uint32Array;
  let hi: Uint32Array;
  if (narrow) {
    lo = keys;
    hi = keys;
  } else {
    lo = scratch === undefined ? new Uint32Array(n) : scratch.uint32Dirty(n);
    hi = scratch === undefined ? new Uint32Array(n) : scratch.uint32Dirty(n);
    for (let i = 0; i < n; i++) {
      const k = keys[i];
      const h = Math.floor(k / TWO_32);
      hi[i] = h;
      lo[i] = k - h * TWO_32;
    }
  }
  let tmp = scratch === undefined ? new Int32Array(n) : scratch.int32Dirty(n);
  const count = scratch === undefined ? new Int32Array(65537) : scratch.int32Dirty(65537);
  for (let pass = 0; pass < (narrow ? 2 : 4); pass++) {
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
  // An odd number of passes leaves the order in the temporary.
  if (idx !== out) out.set(idx);
  return out;
}
