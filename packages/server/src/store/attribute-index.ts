/**
 * The attribute index: which minutes hold spans with a given attribute value, so that a search for
 * a nearly unique value (`order.id=ORD-7f3k`) over a week reads a few minutes of spans instead of
 * every attribute of every span.
 *
 * Each stored attribute (its encoded `key RS type value` string, see attribute-codec.ts) is hashed
 * to 32 bits; a write batch adds one `(hash, minute)` row per distinct pair. Values that turn out
 * to be common (`http.method=GET`) would fill the index without narrowing anything, so a small
 * count sketch notices them and marks their hash as *frequent* (persisted in the same transaction);
 * from then on they are no longer indexed and searches for them scan instead.
 *
 * Invariant, which makes the index exact: for every hash not marked frequent, every occurrence is
 * indexed. Hash collisions only make a search read a few more minutes (the scan then applies the
 * real condition), and sketch collisions only mark a value frequent early (it is then scanned).
 */

/** 32-bit FNV-1a over the UTF-16 code units of a string. */
export function hashAttribute(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const NANOS_PER_MINUTE = 60_000_000_000n;

/** The minute (since the unix epoch) a timestamp falls in. Exact: bigint arithmetic. */
export function minuteOf(unixNanos: bigint): number {
  return Number(unixNanos / NANOS_PER_MINUTE);
}

/** Options of the frequent-value tracker. */
export interface FrequentValueOptions {
  /** A value seen in this many write batches stops being indexed. */
  readonly threshold: number;
  /** log2 of the sketch size (counters of one byte). */
  readonly sketchBits?: number;
}

/**
 * Counts in how many write batches each attribute hash appeared (one byte per counter, in a
 * fixed-size sketch) and decides when a value is common enough to stop indexing it. Holds the set
 * of hashes already marked frequent.
 */
export class FrequentValueTracker {
  private readonly counts: Uint8Array;
  private readonly mask: number;
  private readonly frequent: Set<number>;

  constructor(
    private readonly options: FrequentValueOptions,
    frequent: Iterable<number> = [],
  ) {
    const bits = options.sketchBits ?? 22;
    this.counts = new Uint8Array(1 << bits);
    this.mask = (1 << bits) - 1;
    this.frequent = new Set(frequent);
  }

  /** Whether searches for this hash must scan (it is not indexed). */
  isFrequent(hash: number): boolean {
    return this.frequent.has(hash);
  }

  /**
   * Counts one batch's distinct hashes (none of them frequent) and returns those that have now
   * reached the threshold. They count as frequent only after `markFrequent`, once committed.
   */
  observe(hashes: Iterable<number>): number[] {
    const out: number[] = [];
    const limit = Math.min(this.options.threshold, 255);
    for (const h of hashes) {
      const slot = h & this.mask;
      const c = this.counts[slot];
      if (c < 255) this.counts[slot] = c + 1;
      if (c + 1 >= limit) out.push(h);
    }
    return out;
  }

  /** Records hashes whose frequent mark has been committed. */
  markFrequent(hashes: Iterable<number>): void {
    for (const h of hashes) this.frequent.add(h);
  }
}

/**
 * The distinct `(hash, minute)` pairs of one write batch: an open-addressing set over two typed
 * arrays, so adding a pair allocates nothing (a batch adds tens of thousands, mostly repeats).
 */
export class IndexPairs {
  private hashes: Int32Array;
  /** Minute of each slot; -1 where the slot is empty. */
  private minutes: Int32Array;
  private mask: number;
  size = 0;

  constructor(expected = 1024) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.hashes = new Int32Array(capacity);
    this.minutes = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
  }

  /** Adds the pair (a minute is at least 0). */
  add(hash: number, minute: number): void {
    const h = hash | 0;
    const hashes = this.hashes;
    const minutes = this.minutes;
    let at = Math.imul(h ^ Math.imul(minute, 0x9e3779b1), 0x85ebca6b) & this.mask;
    while (true) {
      const m = minutes[at];
      if (m === -1) break;
      if (m === minute && hashes[at] === h) return;
      at = (at + 1) & this.mask;
    }
    hashes[at] = h;
    minutes[at] = minute;
    if (++this.size * 2 > minutes.length) this.grow();
  }

  /** Calls `fn` for each pair, the hash as an unsigned 32-bit number. */
  forEach(fn: (hash: number, minute: number) => void): void {
    const { hashes, minutes } = this;
    for (let i = 0; i < minutes.length; i++) if (minutes[i] !== -1) fn(hashes[i] >>> 0, minutes[i]);
  }

  /** The distinct hashes of the pairs. */
  distinctHashes(): Set<number> {
    const out = new Set<number>();
    this.forEach((h) => {
      out.add(h);
    });
    return out;
  }

  private grow(): void {
    const { hashes, minutes } = this;
    this.hashes = new Int32Array(hashes.length * 2);
    this.minutes = new Int32Array(minutes.length * 2).fill(-1);
    this.mask = this.minutes.length - 1;
    this.size = 0;
    for (let i = 0; i < minutes.length; i++) if (minutes[i] !== -1) this.add(hashes[i], minutes[i]);
  }
}

/** A half-open range `[start, end)` of unix nanoseconds. */
export interface NanoRange {
  readonly start: bigint;
  readonly end: bigint;
}

/**
 * Turns a set of minutes into at most `maxRanges` time ranges covering them: consecutive minutes
 * merge, and while there are too many ranges the two separated by the smallest gap merge (a range
 * may then cover minutes without hits; the search still applies its real conditions).
 */
export function minutesToRanges(minutes: readonly number[], maxRanges: number): NanoRange[] {
  const sorted = [...new Set(minutes)].sort((a, b) => a - b);
  const ranges: { first: number; last: number }[] = [];
  for (const m of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && m === last.last + 1) last.last = m;
    else ranges.push({ first: m, last: m });
  }
  while (ranges.length > Math.max(1, maxRanges)) {
    let best = 1;
    for (let i = 2; i < ranges.length; i++) {
      if (ranges[i].first - ranges[i - 1].last < ranges[best].first - ranges[best - 1].last) best = i;
    }
    ranges[best - 1].last = ranges[best].last;
    ranges.splice(best, 1);
  }
  return ranges.map((r) => ({
    start: BigInt(r.first) * NANOS_PER_MINUTE,
    end: BigInt(r.last + 1) * NANOS_PER_MINUTE,
  }));
}
