/**
 * Retention in the DuckDB store: the timer that deletes spans older than the retention period,
 * and the deletion of one slice of old data in one transaction. The store runs the slices between
 * its write batches (`DuckDbSpanStore.deleteBefore`), so ingest waits for at most one slice.
 */
import { type DuckDBConnection, UBIGINT, UINTEGER } from '@duckdb/node-api';
import { minuteOf } from '../attribute-index.ts';
import { columnsOf, NANOS_PER_MINUTE } from './sql.ts';

/** Longest slice of data one retention DELETE removes, so writes wait at most for one slice. */
const RETENTION_SLICE = 60n * NANOS_PER_MINUTE;
const DEFAULT_INTERVAL_MS = 60_000;

/** The end of the next slice to delete, from the earliest start stored, for deleting up to `cutoff`. */
export function nextSliceEnd(minStartNs: bigint, cutoff: bigint): bigint {
  return minStartNs + RETENTION_SLICE < cutoff ? minStartNs + RETENTION_SLICE : cutoff;
}

/**
 * Deletes, in one transaction on `db`, the spans that started before `sliceEnd`, the trace parts
 * that only describe such spans and the index minutes before it. Returns the earliest span start
 * left, as `trace_parts` has it (undefined when nothing is left).
 */
export async function deleteSlice(db: DuckDBConnection, sliceEnd: bigint): Promise<bigint | undefined> {
  await db.run('BEGIN TRANSACTION');
  try {
    await db.run('DELETE FROM spans WHERE start_ns < $1', [sliceEnd], [UBIGINT]);
    await db.run('DELETE FROM trace_parts WHERE last_start_ns < $1', [sliceEnd], [UBIGINT]);
    await db.run('DELETE FROM attr_index WHERE minute < $1', [minuteOf(sliceEnd)], [UINTEGER]);
    await db.run('COMMIT');
  } catch (error) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
  const [next] = columnsOf(await db.runAndReadAll('SELECT min(start_ns) FROM trace_parts'));
  return (next[0] as bigint | null) ?? undefined;
}

/** What the retention timer runs and how often. */
export interface RetentionTimerOptions {
  /** Spans are kept this long (by start time). */
  readonly retentionNanos: bigint;
  /** Milliseconds between runs (default 60 s). */
  readonly intervalMs?: number;
  /** Deletes every span started before `cutoffNanos`. */
  readonly deleteBefore: (cutoffNanos: bigint) => Promise<void>;
}

/**
 * Runs `deleteBefore(now - retention)` at once and then every interval, never two at a time;
 * a failed run is reported as a process warning (unless the timer was stopped meanwhile) and the
 * next one tries again. Does not keep the process alive.
 */
export class RetentionTimer {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: RetentionTimerOptions) {
    this.timer = setInterval(() => this.tick(), options.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
    this.tick();
  }

  /** Stops the timer at once; resolves when the run under way (if any) has finished. */
  stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopped = true;
    return this.running ?? Promise.resolve();
  }

  private tick(): void {
    if (this.stopped || this.running) return;
    const cutoff = BigInt(Date.now()) * 1_000_000n - this.options.retentionNanos;
    this.running = this.options
      .deleteBefore(cutoff)
      .catch((error: unknown) => {
        if (!this.stopped) process.emitWarning(`ariadne retention failed: ${(error as Error).message}`);
      })
      .finally(() => {
        this.running = undefined;
      });
  }
}
