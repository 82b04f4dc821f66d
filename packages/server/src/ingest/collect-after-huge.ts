/**
 * A full garbage collection of a thread's heap after it handled a huge request, once it has
 * nothing left to do. The objects decoded from megabytes of spans (about ten times the body) are
 * garbage as soon as the request is answered, but V8 collects an old generation only when it next
 * needs the space, which an idle thread never does: until then they stay resident, and the next
 * huge request's memory comes on top (BENCHMARKS.md, session 18). `collect` is V8's, exposed by
 * `--expose-gc` on the command's shebang line (bin/ariadne.mjs); without it, nothing is collected.
 */
export class CollectAfterHuge {
  /** Requests being worked on (each one may pause between its slices). */
  private busy = 0;
  private due = false;

  constructor(
    private readonly collect: (() => void) | undefined,
    /** A request body at least this large makes a collection due. */
    private readonly hugeBytes: number,
    /** Runs a function after the current turn (after the answer has gone out). */
    private readonly later: (fn: () => void) => void = setImmediate,
  ) {}

  /** Runs one request's work; after a huge one, collects once no work is left. */
  async run<T>(bodyBytes: number, work: () => Promise<T>): Promise<T> {
    this.busy++;
    if (bodyBytes >= this.hugeBytes) this.due = true;
    try {
      return await work();
    } finally {
      this.busy--;
      if (this.busy === 0 && this.due && this.collect !== undefined) {
        this.due = false;
        const collect = this.collect;
        this.later(() => {
          // Work that arrived meanwhile collects when it ends.
          if (this.busy === 0) collect();
          else this.due = true;
        });
      }
    }
  }
}
