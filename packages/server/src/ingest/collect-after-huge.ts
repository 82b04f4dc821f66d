/**
 * A full garbage collection of a thread's heap after it handled a huge request, once it has
 * nothing left to do. The objects decoded from megabytes of spans (about ten times the body) are
 * garbage as soon as the request is answered, but V8 collects an old generation only when it next
 * needs the space, which an idle thread never does: until then they stay resident, and the next
 * huge request's memory comes on top (BENCHMARKS.md, session 18). `collect` is V8's, exposed by
 * `--expose-gc` on the command's shebang line (bin/ariadne.mjs); without it, nothing is collected.
 *
 * A full collection takes tens of milliseconds of the thread: it is skipped while the heap holds
 * little (`heapBytes` under `minHeapBytes`), and runs at most once every `minIntervalMs`, so that
 * senders of huge requests one after another cost a few per cent of one thread at most. One due
 * too soon after the last runs when the interval has passed (if the thread is idle then; when its
 * work ends otherwise): the worker collects after converting a huge request and again after its
 * spans went into a batch, often less than a second apart, and the second frees the most.
 */
export interface CollectAfterHugeOptions {
  /** V8's full collection (`globalThis.gc`); undefined: never collect. */
  readonly collect: (() => void) | undefined;
  /** A request body at least this large makes a collection due. */
  readonly hugeBytes: number;
  /** The heap's size now (V8's used heap size); a collection runs only above `minHeapBytes`. */
  readonly heapBytes: () => number;
  readonly minHeapBytes: number;
  /** The least time between two collections. */
  readonly minIntervalMs: number;
  /**
   * Between the slices of a huge request (`between`), a collection runs once the heap has grown
   * to `growth` times what the last one left, and to `minBetweenHeapBytes` at least. Undefined:
   * never between slices.
   */
  readonly between?: { readonly growth: number; readonly minBetweenHeapBytes: number };
  /** Milliseconds on a monotonic clock (default `performance.now`). */
  readonly now?: () => number;
  /** Runs a function after the current turn, once the answer has gone out (default `setImmediate`). */
  readonly later?: (fn: () => void) => void;
  /** Runs a function in `ms` milliseconds without keeping the thread alive (default: an unref'd `setTimeout`). */
  readonly after?: (ms: number, fn: () => void) => void;
}

function afterUnref(ms: number, fn: () => void): void {
  setTimeout(fn, ms).unref();
}

export class CollectAfterHuge {
  /** Requests being worked on (each one may pause between its slices). */
  private busy = 0;
  private due = false;
  private last = Number.NEGATIVE_INFINITY;
  /** The heap a collection between slices left (`between`). */
  private left = 0;
  /** A retry at the end of the interval is scheduled. */
  private retrying = false;
  private readonly now: () => number;
  private readonly later: (fn: () => void) => void;
  private readonly after: (ms: number, fn: () => void) => void;

  constructor(private readonly options: CollectAfterHugeOptions) {
    this.now = options.now ?? (() => performance.now());
    this.later = options.later ?? setImmediate;
    this.after = options.after ?? afterUnref;
  }

  /** Runs one request's work; after a huge one, collects once no work is left. */
  async run<T>(bodyBytes: number, work: () => Promise<T>): Promise<T> {
    this.busy++;
    if (bodyBytes >= this.options.hugeBytes) this.due = true;
    try {
      return await work();
    } finally {
      this.busy--;
      if (this.busy === 0 && this.due && this.options.collect !== undefined) {
        this.due = false;
        this.later(() => this.collectIfIdle());
      }
    }
  }

  /**
   * Called between two slices of a huge request. V8 collects its old generation only once it
   * reaches its limit (128 MB at first with `--initial-old-space-size=128`), and the objects of
   * each slice that outlive two scavenges (the slice's parsed spans, while it is prepared) pile
   * up there: a 15 MB Zipkin request grew the worker's heap to 110 MiB for 30 MiB of prepared
   * spans. This collects when the heap has grown by `growth` since the last collection.
   */
  between(): void {
    const { between, collect, heapBytes } = this.options;
    if (between === undefined || collect === undefined) return;
    const heap = heapBytes();
    if (heap < Math.max(between.minBetweenHeapBytes, this.left * between.growth)) return;
    collect();
    this.left = heapBytes();
  }

  private collectIfIdle(): void {
    // Work that arrived meanwhile collects when it ends.
    if (this.busy > 0) {
      this.due = true;
      return;
    }
    const { collect, heapBytes, minHeapBytes, minIntervalMs } = this.options;
    const wait = this.last + minIntervalMs - this.now();
    if (wait > 0) {
      if (this.retrying) return;
      this.retrying = true;
      this.after(wait, () => {
        this.retrying = false;
        this.collectIfIdle();
      });
      return;
    }
    if (heapBytes() < minHeapBytes) return;
    this.last = this.now();
    collect?.();
    this.left = 0;
  }
}
