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
 * senders of huge requests one after another cost a few per cent of one thread at most.
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
  /** Milliseconds on a monotonic clock (default `performance.now`). */
  readonly now?: () => number;
  /** Runs a function after the current turn, once the answer has gone out (default `setImmediate`). */
  readonly later?: (fn: () => void) => void;
}

export class CollectAfterHuge {
  /** Requests being worked on (each one may pause between its slices). */
  private busy = 0;
  private due = false;
  private last = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly later: (fn: () => void) => void;

  constructor(private readonly options: CollectAfterHugeOptions) {
    this.now = options.now ?? (() => performance.now());
    this.later = options.later ?? setImmediate;
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

  private collectIfIdle(): void {
    // Work that arrived meanwhile collects when it ends.
    if (this.busy > 0) {
      this.due = true;
      return;
    }
    const { collect, heapBytes, minHeapBytes, minIntervalMs } = this.options;
    if (this.now() - this.last < minIntervalMs || heapBytes() < minHeapBytes) return;
    this.last = this.now();
    collect?.();
  }
}
