/**
 * What the embedded store does when ingest pauses: checkpoint the database (fold its WAL into the
 * file) and trim the ingest log down to one empty segment, so that a data directory at rest is
 * the database file and little else; then collect the heap's garbage, so that the process at rest
 * does not keep the memory of the burst before. While spans stream in, both grow and are cut back in steps
 * (the store checkpoints at a WAL size, the log drops whole segments); at rest there is no next
 * step, so without this the last WAL and the last log segment (up to 128 MiB and 64 MiB) would
 * stay until the next start.
 *
 * ```
 * tick     tick     tick     tick     tick
 *  |  ingest |  ingest |  quiet  |  quiet  |
 *  seen A    seen B    seen C    seen C ──▶ checkpoint, trim (nothing moved for a whole interval)
 * ```
 *
 * Not handled: deciding what is safe to trim (the write queue trims only what the store's file
 * holds without its WAL: `WriteQueue.trimLog`).
 */
import type { IngestLog } from './ingest-log.ts';

/** The store side: a checkpoint, and how much its WAL holds. */
export interface Checkpointable {
  /** Folds the WAL into the database file. */
  checkpoint(): Promise<void>;
  /** Bytes in the WAL (0 when everything is checkpointed). */
  walBytes(): number;
}

/** The queue side: what is still waiting, and trimming the log as far as the store holds it. */
export interface TrimmingQueue {
  /** Spans acknowledged and not yet committed. */
  readonly pending: number;
  /** Deletes the log's records the store holds; `everything` includes the segment being written. */
  trimLog(log: IngestLog, everything?: boolean): Promise<void>;
}

/** Timers to schedule ticks with: the global ones, or a test's mock (node:test `mock.timers`). */
export interface IntervalTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface IdleMaintenanceOptions {
  readonly store: Checkpointable;
  readonly queue: TrimmingQueue;
  readonly log: IngestLog;
  /** How often to look (default 5 s): ingest counts as paused after one whole quiet interval. */
  readonly intervalMs?: number;
  /** Told about a failed checkpoint or trim (it is tried again at the next quiet tick). */
  readonly onError: (error: unknown) => void;
  /** Default: the global `setInterval` / `clearInterval`, unref'd. */
  readonly timers?: IntervalTimers;
  /**
   * Called after each settle: a full collection of this thread's heap (`ariadne serve` passes
   * V8's, exposed by `--expose-gc`), so that the buffers of the burst that just ended do not stay
   * resident while ingest rests (about 90 MB after a few huge requests; BENCHMARKS.md, session 18).
   */
  readonly collect?: () => void;
}

/** Default interval between looks at whether ingest paused. */
export const DEFAULT_IDLE_INTERVAL_MS = 5_000;

const globalTimers: IntervalTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/**
 * Checkpoints and trims once ingest has paused (see the file comment). `settle()` does the same
 * at once, whatever the traffic (tests, benchmarks, shutdown).
 */
export class IdleMaintenance {
  private readonly timers: IntervalTimers;
  private handle: unknown;
  /** What the last tick saw: the log's end and the WAL's size. */
  private seen: string | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: IdleMaintenanceOptions) {
    this.timers = options.timers ?? globalTimers;
  }

  /** Starts looking every `intervalMs`. */
  start(): void {
    if (this.handle !== undefined) return;
    this.handle = this.timers.setInterval(() => void this.tick(), this.options.intervalMs ?? DEFAULT_IDLE_INTERVAL_MS);
  }

  /**
   * One look: settles if nothing moved since the last look, nothing waits in the queue, and there
   * is something to fold in or trim. Resolves when that is done (at once if not quiet).
   */
  tick(): Promise<void> {
    const { store, queue, log } = this.options;
    const wal = store.walBytes();
    const seen = `${log.end}:${wal}`;
    const quiet = seen === this.seen && queue.pending === 0;
    this.seen = seen;
    if (!quiet || (wal === 0 && log.end === log.start)) return this.running ?? Promise.resolve();
    return this.settle().catch(this.options.onError);
  }

  /**
   * Checkpoints the store, then trims the log as far as the checkpoint allows (the segment being
   * written too, if everything in it is checkpointed and no append is in flight). One at a time:
   * a call while one runs waits for it and then runs again.
   */
  settle(): Promise<void> {
    const run = (this.running ?? Promise.resolve()).then(async () => {
      await this.options.store.checkpoint();
      await this.options.queue.trimLog(this.options.log, true);
      this.options.collect?.();
    });
    // What the next settle waits for: this one, failed or not.
    const settled: Promise<void> = run.then(
      () => this.done(settled),
      () => this.done(settled),
    );
    this.running = settled;
    return run;
  }

  private done(settled: Promise<void>): void {
    if (this.running === settled) this.running = undefined;
  }

  /** Resolves once the settle in progress, if any, is done (whether it worked or not). */
  async settling(): Promise<void> {
    await this.running;
  }

  /** Stops looking and waits for a settle in progress. */
  async stop(): Promise<void> {
    if (this.handle !== undefined) this.timers.clearInterval(this.handle);
    this.handle = undefined;
    await this.running;
  }
}
