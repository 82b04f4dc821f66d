/**
 * Scratch memory for the temporary arrays of the analyses, reused from one call to the next.
 *
 * Why: V8 starts a full garbage collection whenever about 64 MB of array buffers have been
 * allocated since the last one (its external-memory heuristic). A million-span trace needs about
 * 100 MB of temporaries (id table, sort buffers, walk stacks) on top of its 38 MB of results, and
 * with the half gigabyte of span objects it analyses still alive, each full collection costs
 * 300–500 ms, more than the analysis itself. Carving the temporaries from one buffer that
 * outlives the call makes them free after the first call; only results are allocated anew.
 * ```
 * buffer: [ idHi | idLo | id table … | free ]     mark() … reset(mark) frees back to a mark
 * ```
 * The one spare buffer is module state: a cache, never configuration. Results do not depend on
 * it, and a call that finds it taken (a nested analysis) gets a buffer of its own. The largest
 * buffer a call needed, up to `MAX_KEPT_BYTES`, stays allocated for the life of the process.
 * Carved arrays must never be returned to callers: copy them into fresh arrays.
 */

/**
 * Keeps one instance of a class alive for the life of the process, so that V8 keeps its hidden
 * class. Why: the hidden class an instance gets from its constructor is held only weakly, by the
 * class it came from. When every instance of a class that an analysis creates per call (this
 * arena, the span-id table, the host interner) is garbage, a full collection frees that hidden
 * class and throws away all optimized code that uses it (V8's "deoptimization, reason: weak
 * objects"). The next analysis then runs unoptimized until V8 has compiled the code again: a
 * 100,000-span buildTrace right after a full collection took 70–180 ms instead of 30–40 ms.
 * Call it once, at module level, with an instance built like the ones the analyses build.
 */
export function keepShapeAlive<T extends object>(instance: T): T {
  keptShapes.push(instance);
  return instance;
}

const keptShapes: object[] = [];

/** Buffers above this size are dropped after the call instead of kept (about 3M spans). */
const MAX_KEPT_BYTES = 256 * 1024 * 1024;

let spare: ArrayBuffer | undefined;

/** A bump allocator over one buffer; overflows fall back to fresh arrays and are remembered. */
export class Scratch {
  readonly #buffer: ArrayBuffer;
  #used = 0;
  /** The most this arena would have used if it had been large enough. */
  #highWater = 0;
  #overflow = 0;

  constructor(buffer: ArrayBuffer) {
    this.#buffer = buffer;
  }

  /** An Int32Array of `n` zeros. */
  int32(n: number): Int32Array {
    return this.int32Dirty(n).fill(0);
  }

  /** An Int32Array of `n` unspecified values, for arrays that are written before they are read. */
  int32Dirty(n: number): Int32Array {
    const at = this.#carve(n * 4);
    return at < 0 ? new Int32Array(n) : new Int32Array(this.#buffer, at, n);
  }

  uint32Dirty(n: number): Uint32Array {
    const at = this.#carve(n * 4);
    return at < 0 ? new Uint32Array(n) : new Uint32Array(this.#buffer, at, n);
  }

  float64Dirty(n: number): Float64Array {
    const at = this.#carve(n * 8);
    return at < 0 ? new Float64Array(n) : new Float64Array(this.#buffer, at, n);
  }

  /** A Uint8Array of `n` zeros. */
  uint8(n: number): Uint8Array {
    const at = this.#carve(n);
    return at < 0 ? new Uint8Array(n) : new Uint8Array(this.#buffer, at, n).fill(0);
  }

  /** The current position; `reset(mark)` frees everything carved after it. */
  mark(): number {
    return this.#used + this.#overflow;
  }

  reset(mark: number): void {
    // Once an arena overflows, everything after goes to fresh arrays: a mark at or before the
    // start of the overflow is inside the buffer, a later one is inside the overflow.
    if (mark <= this.#used) {
      this.#used = mark;
      this.#overflow = 0;
    } else {
      this.#overflow = mark - this.#used;
    }
  }

  get buffer(): ArrayBuffer {
    return this.#buffer;
  }

  /** Bytes this arena needed at most, including what overflowed. */
  get highWater(): number {
    return this.#highWater;
  }

  /** Offset of `bytes` bytes, 8-byte aligned, or -1 when they do not fit. */
  #carve(bytes: number): number {
    const size = Math.ceil(bytes / 8) * 8;
    const at = this.#used;
    const wanted = at + this.#overflow + size;
    if (wanted > this.#highWater) this.#highWater = wanted;
    if (this.#overflow > 0 || at + size > this.#buffer.byteLength) {
      this.#overflow += size;
      return -1;
    }
    this.#used = at + size;
    return at;
  }
}

keepShapeAlive(new Scratch(new ArrayBuffer(8)));

/**
 * Takes the spare buffer (or a new one) as an arena of at least `bytes` bytes. Pair with
 * `releaseScratch`, in a `finally` block.
 */
export function takeScratch(bytes: number): Scratch {
  let buffer = spare;
  spare = undefined;
  if (buffer === undefined || buffer.byteLength < bytes) buffer = new ArrayBuffer(Math.ceil(bytes / 8) * 8);
  return new Scratch(buffer);
}

/** Gives the arena's buffer back for the next call, grown if the call overflowed it. */
export function releaseScratch(scratch: Scratch): void {
  let buffer = scratch.buffer;
  if (scratch.highWater > buffer.byteLength && scratch.highWater <= MAX_KEPT_BYTES) {
    buffer = new ArrayBuffer(Math.ceil(scratch.highWater / 8) * 8);
  }
  if (buffer.byteLength > MAX_KEPT_BYTES) return;
  if (spare === undefined || spare.byteLength < buffer.byteLength) spare = buffer;
}
