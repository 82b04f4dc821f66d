/**
 * Retention in the DuckDB store: the timer that deletes spans older than the retention period,
 * and the deletion of one slice of old data in one transaction. The store runs the slices between
 * its write batches (`DuckDbSpanStore.deleteBefore`), so ingest waits for at most one slice.
 */
import {
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  LIST,
  listValue,
  UBIGINT,
  UINTEGER,
  VARCHAR,
} from '@duckdb/node-api';
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
 * that only describe such spans, the index minutes before it, and the (service, span name) pairs
 * of `operations` left without a span (so that the service and operation lists follow the
 * spans). Not handled: pairs whose spans an older version deleted stay listed.
 */
export async function deleteSlice(db: DuckDBConnection, sliceEnd: bigint): Promise<DeletedSlice> {
  let forgottenOperations: number;
  await db.run('BEGIN TRANSACTION');
  try {
    const [services, names] = columnsOf(
      await db.runAndReadAll('SELECT DISTINCT service, name FROM spans WHERE start_ns < $1', [sliceEnd], [UBIGINT]),
    );
    await db.run('DELETE FROM spans WHERE start_ns < $1', [sliceEnd], [UBIGINT]);
    forgottenOperations = await deleteEmptyOperations(db, sliceEnd, services as string[], names as string[]);
    await db.run('DELETE FROM trace_parts WHERE last_start_ns < $1', [sliceEnd], [UBIGINT]);
    await db.run('DELETE FROM attr_index WHERE minute < $1', [minuteOf(sliceEnd)], [UINTEGER]);
    await db.run('COMMIT');
  } catch (error) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
  const [next] = columnsOf(await db.runAndReadAll('SELECT min(start_ns) FROM trace_parts'));
  return { minStartNs: (next[0] as bigint | null) ?? undefined, forgottenOperations };
}

/** What `deleteSlice` did. */
export interface DeletedSlice {
  /** The earliest span start left, as `trace_parts` has it (undefined when nothing is left). */
  readonly minStartNs: bigint | undefined;
  /** (service, span name) pairs deleted from `operations`: a preparer may still take them as stored. */
  readonly forgottenOperations: number;
}

/**
 * Deletes from `operations` those of the given pairs (the deleted spans' pairs) that no span
 * holds any more. Most pairs reappear in the hour after the slice, which its start times keep to
 * a few row groups; only the others are looked for in every span.
 */
async function deleteEmptyOperations(
  db: DuckDBConnection,
  sliceEnd: bigint,
  services: readonly string[],
  names: readonly string[],
): Promise<number> {
  if (services.length === 0) return 0;
  const key = (service: unknown, name: unknown) => JSON.stringify([service, name]);
  const unseen = new Map(services.map((service, i) => [key(service, names[i]), [service, names[i]] as const]));
  const stillHeld = async (where: string, params: DuckDBValue[], types: DuckDBType[]) => {
    const pairs = [...unseen.values()];
    const [s, n] = columnsOf(
      await db.runAndReadAll(
        `SELECT DISTINCT s.service, s.name FROM spans s
           SEMI JOIN (SELECT unnest($1) AS service, unnest($2) AS name) p ON s.service = p.service AND s.name = p.name
           ${where}`,
        [listValue(pairs.map((p) => p[0])), listValue(pairs.map((p) => p[1])), ...params],
        [LIST(VARCHAR), LIST(VARCHAR), ...types],
      ),
    );
    for (let i = 0; i < s.length; i++) unseen.delete(key(s[i], n[i]));
  };
  await stillHeld('WHERE s.start_ns < $3', [sliceEnd + RETENTION_SLICE], [UBIGINT]);
  if (unseen.size > 0) await stillHeld('', [], []);
  if (unseen.size === 0) return 0;
  const gone = [...unseen.values()];
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
