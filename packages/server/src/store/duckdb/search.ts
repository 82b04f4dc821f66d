/**
 * Trace search in the DuckDB store: which traces have a span matching a query, newest first, and
 * their summaries. Reads the newest time window first and widens it only while fewer traces than
 * the limit were found; attribute filters on indexed values read only the minutes the index names
 * (attribute-index.ts).
 */
import { unixNanos } from '@ariadne/core';
import { LIST, listValue, UBIGINT, UHUGEINT, UINTEGER, VARCHAR } from '@duckdb/node-api';
import type { TraceQuery, TraceSummary } from '../../query/span-store.ts';
import { attributeFilterCandidates, attributeValueText } from '../attribute-codec.ts';
import { hashAttribute, minutesToRanges, type NanoRange } from '../attribute-index.ts';
import type { AttributeSlots } from '../attribute-slots.ts';
import { SLOT_COLUMNS } from '../duckdb-schema.ts';
import type { ReadConnection } from './read-connection.ts';
import { bigIntToHex, clampU64, maxBig, minBig, NANOS_PER_MINUTE, Params } from './sql.ts';

const DEFAULT_FIRST_WINDOW = 10n * NANOS_PER_MINUTE;
/** How much wider each further search window is than the one before. */
const WINDOW_GROWTH = 6n;

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
 * Summaries of the newest `query.limit` (at most 10,000) traces with a span matching `query`,
 * newest first; `stored` is the range of span starts the store holds (undefined while empty).
 */
export async function searchTraces(
  ctx: SearchContext,
  query: TraceQuery,
  stored: StoredTimeRange | undefined,
): Promise<TraceSummary[]> {
  const limit = Math.max(1, Math.min(Math.floor(query.limit), 10_000));
  if (stored === undefined) return [];
  // The window that can hold matches: the query's, cut to the data's.
  let lo = stored.minStartNs;
  let hi = stored.maxStartNs + 1n;
  if (query.startUnixNano !== undefined && query.startUnixNano > lo) lo = query.startUnixNano;
  if (query.endUnixNano !== undefined && query.endUnixNano < hi) hi = query.endUnixNano;
  if (lo >= hi) return [];

  const { params: p, conditions, indexedMinutes } = await spanFilter(ctx, query);

  /** The ids of the newest `limit` traces with a matching span in `ranges`. */
  const match = async (ranges: readonly NanoRange[]): Promise<bigint[]> => {
    const q = new Params();
    q.values.push(...p.values);
    q.types.push(...p.types);
    const hits = ranges
      .map(
        (r) =>
          `SELECT trace_id, start_ns FROM spans WHERE ${conditions}start_ns >= ${q.add(r.start, UBIGINT)} AND start_ns < ${q.add(r.end, UBIGINT)}`,
      )
      .join(' UNION ALL ');
    const [ids] = await ctx.reads.columns(
      `SELECT trace_id FROM (${hits}) GROUP BY trace_id ORDER BY max(start_ns) DESC LIMIT ${limit}`,
      q.values,
      q.types,
    );
    return ids as bigint[];
  };

  let ids: bigint[];
  if (indexedMinutes !== undefined) {
    const ranges = minutesToRanges([...indexedMinutes], 32)
      .map((r) => ({ start: maxBig(r.start, lo), end: minBig(r.end, hi) }))
      .filter((r) => r.start < r.end);
    if (ranges.length === 0) return [];
    ids = await match(ranges);
  } else {
    // Newest first: read a small recent window, widen it only while too few traces were found.
    let width = ctx.firstWindowNanos ?? DEFAULT_FIRST_WINDOW;
    while (true) {
      const from = maxBig(hi - width, lo);
      ids = await match([{ start: from, end: hi }]);
      if (ids.length >= limit || from === lo) break;
      width *= WINDOW_GROWTH;
    }
  }
  if (ids.length === 0) return [];
  return summarise(ctx.reads, ids);
}

/** A query's conditions on spans, as a SQL prefix (`… AND ` or empty) with its parameters. */
interface SpanFilter {
  readonly params: Params;
  readonly conditions: string;
  /** The minutes the attribute index allows, when some attribute filter is on an indexed value. */
  readonly indexedMinutes: Set<number> | undefined;
}

/** The conditions a span must meet to match `query`, apart from its time window. */
async function spanFilter(ctx: SearchContext, query: TraceQuery): Promise<SpanFilter> {
  const p = new Params();
  const where: string[] = [];
  if (query.service !== undefined) where.push(`service = ${p.add(query.service, VARCHAR)}`);
  if (query.operation !== undefined) where.push(`name = ${p.add(query.operation, VARCHAR)}`);
  if (query.status !== undefined) {
    where.push(`status_code = ${query.status === 'error' ? 2 : query.status === 'ok' ? 1 : 0}`);
  }
  if (query.minDurationNanos !== undefined) {
    where.push(`duration_ns >= ${p.add(clampU64(query.minDurationNanos), UBIGINT)}`);
  }
  if (query.maxDurationNanos !== undefined) {
    where.push(`duration_ns <= ${p.add(clampU64(query.maxDurationNanos), UBIGINT)}`);
  }
  // Attribute filters: the index narrows the search to a few minutes when at least one filter
  // is on a value that is indexed (not frequent) and not a resource attribute.
  let indexedMinutes: Set<number> | undefined;
  for (const filter of query.attributes ?? []) {
    const candidates = attributeFilterCandidates(filter.key, filter.value);
    const list = p.add(listValue(candidates), LIST(VARCHAR));
    const resourceNos = (
      await ctx.reads.columns(
        'SELECT no FROM resources WHERE list_has_any(attrs, $1)',
        [listValue(candidates)],
        [LIST(VARCHAR)],
      )
    )[0] as number[];
    // A key with a slot has its values there, except a second occurrence in one span (in rest).
    const slot = ctx.slots.slotOf(filter.key);
    const inSpan =
      slot === undefined
        ? `list_has_any(attrs_rest, ${list})`
        : `(${SLOT_COLUMNS[slot]} IN (${candidates.map((c) => p.add(attributeValueText(c), VARCHAR)).join(', ')}) OR list_has_any(attrs_rest, ${list}))`;
    if (resourceNos.length === 0) where.push(inSpan);
    else {
      where.push(`(${inSpan} OR list_contains(${p.add(listValue(resourceNos), LIST(UINTEGER))}, resource_no))`);
      continue;
    }
    const hashes = candidates.map(hashAttribute);
    if (hashes.some((h) => ctx.frequent.has(h))) continue;
    const minutes = (
      await ctx.reads.columns(
        `SELECT DISTINCT minute FROM attr_index WHERE h IN (${hashes.map((_, i) => `$${i + 1}`).join(', ')})`,
        hashes,
        hashes.map(() => UINTEGER),
      )
    )[0] as number[];
    const found = new Set(minutes);
    if (indexedMinutes === undefined) indexedMinutes = found;
    else for (const m of indexedMinutes) if (!found.has(m)) indexedMinutes.delete(m);
  }
  const conditions = where.length > 0 ? `${where.join(' AND ')} AND ` : '';
  return { params: p, conditions, indexedMinutes };
}

/**
 * Summaries from all spans of the traces `ids`, newest first, reading only the time range they
 * cover (from trace_parts, whose fixed-width columns scan in a millisecond).
 */
async function summarise(reads: ReadConnection, ids: readonly bigint[]): Promise<TraceSummary[]> {
  const idList = ids.map((_, i) => `$${i + 1}`).join(', ');
  const idTypes = ids.map(() => UHUGEINT);
  const [from, to] = await reads.columns(
    `SELECT min(start_ns), max(last_start_ns) FROM trace_parts WHERE trace_id IN (${idList})`,
    [...ids],
    idTypes,
  );
  const rows = await reads.rows(
    `SELECT trace_id,
         min(start_ns) AS start_ns,
         max(start_ns + duration_ns) AS end_ns,
         count(*) AS span_count,
         count(*) FILTER (WHERE status_code = 2) AS error_count,
         list(DISTINCT service ORDER BY service) AS services,
         coalesce(arg_min(service, start_ns) FILTER (WHERE parent_span_id = 0), arg_min(service, start_ns)) AS root_service,
         coalesce(arg_min(name, start_ns) FILTER (WHERE parent_span_id = 0), arg_min(name, start_ns)) AS root_name
       FROM spans WHERE trace_id IN (${idList})
         AND start_ns >= $${ids.length + 1} AND start_ns <= $${ids.length + 2}
       GROUP BY trace_id
       ORDER BY start_ns DESC, trace_id`,
    [...ids, from[0] as bigint, to[0] as bigint],
    [...idTypes, UBIGINT, UBIGINT],
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
