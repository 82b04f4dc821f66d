/**
 * What the DuckDB store's searches share (the TraceQL candidates, tags): the read connection and
 * what is known of attributes; and the summaries of traces, which the form search returns.
 */
import { unixNanos } from '@ariadne/core';
import { UHUGEINT } from '@duckdb/node-api';
import type { TraceSummary } from '../../query/span-store.ts';
import type { AttributeSlots } from '../attribute-slots.ts';
import type { ReadConnection } from './read-connection.ts';
import { bigIntToHex } from './sql.ts';

/** What a search uses of the store. */
export interface SearchContext {
  readonly reads: ReadConnection;
  /** Which attribute keys have their own column, as committed. */
  readonly slots: AttributeSlots;
  /** Attribute hashes marked frequent: not in the index, searched by scanning. */
  readonly frequent: ReadonlySet<number>;
  /** Width of the newest window read first (default 10 minutes). */
  readonly firstWindowNanos?: bigint;
}

/** Earliest and latest span start stored. */
export interface StoredTimeRange {
  readonly minStartNs: bigint;
  readonly maxStartNs: bigint;
}

/**
 * Summaries from all spans of the traces `ids`, newest first, reading only the time range they
 * cover (from trace_parts, whose fixed-width columns scan in a millisecond), in one statement.
 */
export async function summarizeTraces(reads: ReadConnection, ids: readonly bigint[]): Promise<TraceSummary[]> {
  if (ids.length === 0) return [];
  const idList = ids.map((_, i) => `$${i + 1}`).join(', ');
  const idTypes = ids.map(() => UHUGEINT);
  // One statement: the traces' time range from trace_parts is a subquery, which DuckDB hands to
  // the span scan as a dynamic filter (as for a trace by id, trace-reads.ts).
  const rows = await reads.rows(
    `SELECT spans.trace_id AS trace_id,
         min(start_ns) AS start_ns,
         max(start_ns + duration_ns) AS end_ns,
         count(*) AS span_count,
         count(*) FILTER (WHERE status_code = 2) AS error_count,
         list(DISTINCT service ORDER BY service) AS services,
         coalesce(arg_min(service, start_ns) FILTER (WHERE parent_span_id = 0), arg_min(service, start_ns)) AS root_service,
         coalesce(arg_min(name, start_ns) FILTER (WHERE parent_span_id = 0), arg_min(name, start_ns)) AS root_name
       FROM spans,
         (SELECT min(start_ns) AS lo, max(last_start_ns) AS hi FROM trace_parts WHERE trace_id IN (${idList})) r
       WHERE spans.trace_id IN (${idList}) AND spans.start_ns >= r.lo AND spans.start_ns <= r.hi
       GROUP BY spans.trace_id
       ORDER BY start_ns DESC, trace_id`,
    [...ids],
    idTypes,
  );
  return rows.map((r) => ({
    traceId: bigIntToHex(r.trace_id as bigint, 32),
    rootService: r.root_service as string,
    rootName: r.root_name as string,
    startUnixNano: unixNanos(r.start_ns as bigint),
    durationNanos: BigInt(r.end_ns as bigint) - BigInt(r.start_ns as bigint),
    spanCount: Number(r.span_count),
    errorCount: Number(r.error_count),
    services: (r.services as { items: string[] }).items,
  }));
}
