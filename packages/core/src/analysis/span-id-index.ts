/**
 * Span id to span index, for a million spans in a few typed arrays.
 *
 * A `Map<string, number>` over a million span ids costs about half a second to fill and query
 * (string hashing, string comparison, a million map entries for the garbage collector). Span ids
 * are nearly always 16 lowercase hex digits, so they are parsed into two 32-bit halves and kept
 * in an open-addressing table of int triples; any other id (wrong length, upper case, not hex)
 * goes to a small `Map` beside it, so every string still has its exact identity:
 * ```
 * "00f067aa0ba902b7" ─▶ hi 0x00f067aa, lo 0x0ba902b7 ─▶ slot h(hi, lo) & mask, linear probing
 * slots: [ hi, lo, index + 1 | hi, lo, index + 1 | … ]   index + 1 = 0 marks an empty slot
 * ```
 * Keeps at most one index per id, like a `Map`. Not thread-safe, not shrinkable, no deletion.
 *
 * For a million lookups the table itself is the cost: every probe is a cache miss. `buildTrace`
 * therefore parses ids into arrays first (`parseSpanId`) and probes in tight loops
 * (`addParsed`, `indexOfParsed`), where the processor overlaps the misses of consecutive probes.
 */

import { keepShapeAlive, Scratch } from './scratch.ts';

/**
 * Parses a span id of 16 lowercase hex digits into `hi[at]` and `lo[at]` (as int32); returns
 * false, leaving them unchanged, for any other string.
 */
export function parseSpanId(id: string, hi: Int32Array, lo: Int32Array, at: number): boolean {
  if (id.length !== 16) return false;
  let h = 0;
  let l = 0;
  // Every digit and character is or-ed into `bad`: a non-hex digit (-1) or a character beyond
  // ASCII sets a bit above 15. One check at the end instead of two branches per character.
  let bad = 0;
  for (let j = 0; j < 8; j++) {
    const c = id.charCodeAt(j);
    const d = HEX_DIGIT[c & 0x7f];
    bad |= d | (c & ~0x7f);
    h = (h << 4) | d;
  }
  for (let j = 8; j < 16; j++) {
    const c = id.charCodeAt(j);
    const d = HEX_DIGIT[c & 0x7f];
    bad |= d | (c & ~0x7f);
    l = (l << 4) | d;
  }
  if ((bad & ~0xf) !== 0) return false;
  hi[at] = h;
  lo[at] = l;
  return true;
}

/** The value of each ASCII character as a lowercase hex digit, -1 for any other character. */
const HEX_DIGIT = ((): Int8Array => {
  const table = new Int8Array(128).fill(-1);
  for (let c = 0; c < 10; c++) table[48 + c] = c;
  for (let c = 0; c < 6; c++) table[97 + c] = 10 + c;
  return table;
})();

/**
 * A `ReadonlyMap<string, number>` from span id to index that `buildTrace` fills with `add` and
 * `set`. Lookups never allocate. Iteration (rarely needed) materialises a plain `Map` once, in
 * no particular order, and keeps it until the next change.
 */
export class SpanIdIndex implements ReadonlyMap<string, number> {
  #slots: Int32Array;
  #mask: number;
  #count = 0;
  #other: Map<string, number> | undefined;
  #map: Map<string, number> | undefined;
  /** Scratch for parsing one id. */
  readonly #hi = new Int32Array(1);
  readonly #lo = new Int32Array(1);
  readonly #scratch: Scratch | undefined;

  /**
   * `expected`: about how many ids will be added; the table doubles when it is half full.
   * With `scratch`, the table and the batch orders are carved from it (see `scratch.ts`): the
   * index must then not outlive the arena.
   */
  constructor(expected: number, scratch?: Scratch) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.#scratch = scratch;
    this.#slots = scratch === undefined ? new Int32Array(capacity * 3) : scratch.int32(capacity * 3);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#count + (this.#other?.size ?? 0);
  }

  /** Adds `id → index` unless `id` is present; returns the index already there, or -1 when added. */
  add(id: string, index: number): number {
    if (!this.#parse(id)) {
      this.#map = undefined;
      this.#other ??= new Map();
      const other = this.#other;
      const found = other.get(id);
      if (found !== undefined) return found;
      other.set(id, index);
      return -1;
    }
    return this.addParsed(this.#hi[0], this.#lo[0], index);
  }

  /** `add` for an id parsed by `parseSpanId`. */
  addParsed(hi: number, lo: number, index: number): number {
    const slot = this.#find(hi, lo);
    const slots = this.#slots;
    if (slots[slot + 2] !== 0) return slots[slot + 2] - 1;
    slots[slot] = hi;
    slots[slot + 1] = lo;
    slots[slot + 2] = index + 1;
    this.#added();
    return -1;
  }

  /**
   * `addParsed` for every span `i < count` with `parsed[i] === 1`, as if in order of `i`; returns
   * the spans whose id was already present, ascending. A large batch is entered region by region
   * of the table (a stable counting sort of the spans by home slot), so that each region stays in
   * the cache while it fills instead of every insert missing it: a million random inserts into a
   * 24 MB table otherwise wait on memory for most of their time.
   */
  addAllParsed(hi: Int32Array, lo: Int32Array, parsed: Uint8Array, count: number): number[] {
    while ((this.#count + count) * 2 > this.#mask + 1) this.#grow();
    const repeats: number[] = [];
    if (count < BATCH_MIN) {
      for (let i = 0; i < count; i++) if (parsed[i] === 1 && this.addParsed(hi[i], lo[i], i) >= 0) repeats.push(i);
      return repeats;
    }
    // Equal ids share a home slot, so the stable order keeps the first of them first.
    const mark = this.#scratch?.mark() ?? 0;
    const order = this.#byRegion(hi, lo, parsed, 1, count);
    for (let k = 0; k < order.length; k++) {
      const i = order[k];
      if (this.addParsed(hi[i], lo[i], i) >= 0) repeats.push(i);
    }
    this.#scratch?.reset(mark);
    return repeats.sort((a, b) => a - b);
  }

  /**
   * `indexOfParsed` for every span `i < count` with `select[i] === want`, into `out[i]` (-1 when
   * absent); other entries of `out` are left alone. Large batches go region by region, as in
   * `addAllParsed`.
   */
  indexOfAllParsed(
    hi: Int32Array,
    lo: Int32Array,
    select: Uint8Array,
    want: number,
    count: number,
    out: Int32Array,
  ): void {
    if (count < BATCH_MIN) {
      for (let i = 0; i < count; i++) if (select[i] === want) out[i] = this.indexOfParsed(hi[i], lo[i]);
      return;
    }
    const mark = this.#scratch?.mark() ?? 0;
    const order = this.#byRegion(hi, lo, select, want, count);
    for (let k = 0; k < order.length; k++) {
      const i = order[k];
      out[i] = this.indexOfParsed(hi[i], lo[i]);
    }
    this.#scratch?.reset(mark);
  }

  /** Spans `i < count` with `select[i] === want`, stably grouped by the table region of their home slot. */
  #byRegion(hi: Int32Array, lo: Int32Array, select: Uint8Array, want: number, count: number): Int32Array {
    const mask = this.#mask;
    const shift = Math.max(0, Math.log2(mask + 1) - REGION_BITS);
    const regions = ((mask + 1) >>> shift) + 1;
    const scratch = this.#scratch;
    const fill = scratch === undefined ? new Int32Array(regions) : scratch.int32(regions);
    let selected = 0;
    for (let i = 0; i < count; i++) {
      if (select[i] !== want) continue;
      fill[((slotHash(hi[i], lo[i]) & mask) >>> shift) + 1]++;
      selected++;
    }
    for (let r = 1; r < regions; r++) fill[r] += fill[r - 1];
    const order = scratch === undefined ? new Int32Array(selected) : scratch.int32Dirty(selected);
    for (let i = 0; i < count; i++) {
      if (select[i] !== want) continue;
      order[fill[(slotHash(hi[i], lo[i]) & mask) >>> shift]++] = i;
    }
    return order;
  }

  /** The index of an id parsed by `parseSpanId`, or -1. */
  indexOfParsed(hi: number, lo: number): number {
    return this.#slots[this.#find(hi, lo) + 2] - 1;
  }

  /** Sets `id → index`, replacing any index already there. */
  set(id: string, index: number): void {
    this.#map = undefined;
    if (!this.#parse(id)) {
      this.#other ??= new Map();
      this.#other.set(id, index);
      return;
    }
    const slot = this.#find(this.#hi[0], this.#lo[0]);
    if (this.#slots[slot + 2] !== 0) this.#slots[slot + 2] = index + 1;
    else this.addParsed(this.#hi[0], this.#lo[0], index);
  }

  get(id: string): number | undefined {
    if (!this.#parse(id)) return this.#other?.get(id);
    const i = this.indexOfParsed(this.#hi[0], this.#lo[0]);
    return i < 0 ? undefined : i;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Replaces every index `i` by `newIndex[i]` (after spans were dropped). */
  remap(newIndex: Int32Array): void {
    this.#map = undefined;
    const slots = this.#slots;
    for (let k = 2; k < slots.length; k += 3) if (slots[k] !== 0) slots[k] = newIndex[slots[k] - 1] + 1;
    if (this.#other !== undefined) for (const [id, i] of this.#other) this.#other.set(id, newIndex[i]);
  }

  forEach(callback: (value: number, key: string, map: ReadonlyMap<string, number>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.#asMap()) callback.call(thisArg, value, key, this);
  }

  entries(): MapIterator<[string, number]> {
    return this.#asMap().entries();
  }

  keys(): MapIterator<string> {
    return this.#asMap().keys();
  }

  values(): MapIterator<number> {
    return this.#asMap().values();
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.#asMap().entries();
  }

  #asMap(): Map<string, number> {
    if (this.#map !== undefined) return this.#map;
    const map = new Map<string, number>();
    const slots = this.#slots;
    for (let k = 0; k < slots.length; k += 3) {
      if (slots[k + 2] === 0) continue;
      map.set(hex8(slots[k]) + hex8(slots[k + 1]), slots[k + 2] - 1);
    }
    if (this.#other !== undefined) for (const [id, i] of this.#other) map.set(id, i);
    this.#map = map;
    return map;
  }

  #parse(id: string): boolean {
    return parseSpanId(id, this.#hi, this.#lo, 0);
  }

  /** The slot (offset into `#slots`) holding `hi, lo`, or the empty slot where it would go. */
  #find(hi: number, lo: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let s = slotHash(hi, lo) & mask; ; s = (s + 1) & mask) {
      const at = s * 3;
      if (slots[at + 2] === 0 || (slots[at] === hi && slots[at + 1] === lo)) return at;
    }
  }

  #added(): void {
    this.#count++;
    this.#map = undefined;
    if (this.#count * 2 > this.#mask + 1) this.#grow();
  }

  #grow(): void {
    const old = this.#slots;
    const capacity = (this.#mask + 1) * 2;
    this.#slots = new Int32Array(capacity * 3);
    this.#mask = capacity - 1;
    for (let k = 0; k < old.length; k += 3) {
      if (old[k + 2] === 0) continue;
      const at = this.#find(old[k], old[k + 1]);
      this.#slots[at] = old[k];
      this.#slots[at + 1] = old[k + 1];
      this.#slots[at + 2] = old[k + 2];
    }
  }
}

/** murmur3's 32-bit finaliser over both halves: sequential and random ids spread alike. */
function slotHash(hi: number, lo: number): number {
  let h = lo ^ Math.imul(hi, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Below this many ids the table fits the caches and batches go in input order. */
const BATCH_MIN = 1 << 17;
/** Slots per region of a batch: 8,192 slots of 12 bytes stay in a 256 KB L2 cache. */
const REGION_BITS = 13;

function hex8(word: number): string {
  return (word >>> 0).toString(16).padStart(8, '0');
}

/**
 * The id index of a repaired trace, where ids are unique and `spans[i].spanId` maps to `i`. The
 * table is built at the first use: `buildTrace` needs its own table only while it links
 * parents, and a million-span table kept for lookups that may never come (the analyses do not
 * use it) costs 24 MB and a garbage collection.
 */
export class SpanIdLookup implements ReadonlyMap<string, number> {
  readonly #spans: readonly { readonly spanId: string }[];
  #index: SpanIdIndex | undefined;

  constructor(spans: readonly { readonly spanId: string }[]) {
    this.#spans = spans;
  }

  get size(): number {
    return this.#table().size;
  }

  get(id: string): number | undefined {
    return this.#table().get(id);
  }

  has(id: string): boolean {
    return this.#table().has(id);
  }

  forEach(callback: (value: number, key: string, map: ReadonlyMap<string, number>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.#table()) callback.call(thisArg, value, key, this);
  }

  entries(): MapIterator<[string, number]> {
    return this.#table().entries();
  }

  keys(): MapIterator<string> {
    return this.#table().keys();
  }

  values(): MapIterator<number> {
    return this.#table().values();
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.#table().entries();
  }

  #table(): SpanIdIndex {
    if (this.#index !== undefined) return this.#index;
    const spans = this.#spans;
    const index = new SpanIdIndex(spans.length);
    for (let i = 0; i < spans.length; i++) index.add(spans[i].spanId, i);
    this.#index = index;
    return index;
  }
}

// Built per call: keep one of each alive so that optimized code survives full collections.
keepShapeAlive(new SpanIdIndex(0, new Scratch(new ArrayBuffer(1024))));
keepShapeAlive(new SpanIdLookup([]));
