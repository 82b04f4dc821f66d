/**
 * Retention in the DuckDB store: the timer that deletes spans older than the retention period,
 * and the deletion of one slice of old data in one transaction. The store runs the slices between
 * its write batches (`DuckDbSpanStore.deleteBefore`), so ingest waits for at most one slice.
 */
import { type DuckDBConnection, LIST, listValue, UBIGINT, UINTEGER, VARCHAR } from '@duckdb/node-api';
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
 * left and the (service, span name) pairs of the deleted spans, for `forgetEmptyOperations`.
 */
export async function deleteSlice(db: DuckDBConnection, sliceEnd: bigint): Promise<DeletedSlice> {
  let operations: (readonly [string, string])[];
  await db.run('BEGIN TRANSACTION');
  try {
    const [services, names] = columnsOf(
      await db.runAndReadAll('SELECT DISTINCT service, name FROM spans WHERE start_ns < $1', [sliceEnd], [UBIGINT]),
    );
    operations = services.map((service, i) => [service as string, names[i] as string] as const);
    await db.run('DELETE FROM spans WHERE start_ns < $1', [sliceEnd], [UBIGINT]);
    await db.run('DELETE FROM trace_parts WHERE last_start_ns < $1', [sliceEnd], [UBIGINT]);
    await db.run('DELETE FROM attr_index WHERE minute < $1', [minuteOf(sliceEnd)], [UINTEGER]);
    await db.run('COMMIT');
  } catch (error) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
  const [next] = columnsOf(await db.runAndReadAll('SELECT min(start_ns) FROM trace_parts'));
  return { minStartNs: (next[0] as bigint | null) ?? undefined, operations };
}

/** What `deleteSlice` did. */
export interface DeletedSlice {
  /** The earliest span start left, as `trace_parts` has it (undefined when nothing is left). */
  readonly minStartNs: bigint | undefined;
  /** The distinct (service, span name) pairs of the deleted spans. */
  readonly operations: readonly (readonly [string, string])[];
}

/**
 * Deletes from `operations` those of `pairs` (the pairs of spans retention deleted) that no span
 * holds any more, so that the service and operation lists follow the spans; returns how many.
 * One pass over the spans' service and name columns, once per retention run, not per slice.
 * Not handled: pairs whose spans an older version deleted stay listed.
 */
export async function forgetEmptyOperations(
  db: DuckDBConnection,
  pairs: readonly (readonly [string, string])[],
): Promise<number> {
  if (pairs.length === 0) return 0;
  const list = (column: 0 | 1) => listValue(pairs.map((p) => p[column]));
  const [s, n] = columnsOf(
    await db.runAndReadAll(
      `SELECT DISTINCT s.service, s.name FROM spans s
         SEMI JOIN (SELECT unnest($1) AS service, unnest($2) AS name) p ON s.service = p.service AND s.name = p.name`,
      [list(0), list(1)],
      [LIST(VARCHAR), LIST(VARCHAR)],
    ),
  );
  const held = new Set(s.map((service, i) => JSON.stringify([service, n[i]])));
  const gone = pairs.filter((p) => !held.has(JSON.stringify(p)));
  if (gone.length === 0) return 0;
  await db.run(
    `DELETE FROM operations o WHERE EXISTS (
       SELECT 1 FROM (SELECT unnest($1) AS service, unnest($2) AS name) p WHERE o.service = p.service AND o.name = p.name)`,
    [listValue(gone.map((p) => p[0])), listValue(gone.map((p) => p[1]))],
    [LIST(VARCHAR), LIST(VARCHAR)],
  );
  return gone.length;
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
