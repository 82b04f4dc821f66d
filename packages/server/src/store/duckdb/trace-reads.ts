/**
 * Reading whole traces from the DuckDB store: one trace by id (`getTrace`), the traces of a page
 * of ids at once (`getTraces`, for walking a store), and the walk itself (`listTraceIds`,
 * `countTraces`). Rows become model spans here, with resources and scopes from the store's caches.
 *
 * Both reads find a trace's time range in `trace_parts` first, so that the span scan reads only the
 * row groups whose `start_ns` zone maps overlap it.
 */
import {
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  type Span,
  serviceNameOf,
  unixNanos,
} from '@ariadne/core';
import { LIST, listValue, UBIGINT, UHUGEINT, UINTEGER } from '@duckdb/node-api';
import type { TimeRange } from '../../query/span-store.ts';
import { decodeAttribute } from '../attribute-codec.ts';
import { type AttributeSlots, attributesFromSlots } from '../attribute-slots.ts';
import { eventsFromText, linksFromText, resourceFromBody, scopeFromBody } from '../span-text.ts';
import type { ReadConnection, RunRead } from './read-connection.ts';
import { bigIntToHex, clampU64, columnsOf, hexToBigInt, U64_MAX } from './sql.ts';
import {
  assembleTraceColumns,
  SpanColumn as C,
  inTraceOrder,
  PACKED_NUMBER_COLUMNS,
  PACKED_NUMBER_COUNT,
  spanReadColumns,
  splitPacked,
  stringColumns,
  traceOrder,
} from './trace-columns.ts';

/** A resource as the store caches it. */
export interface StoredResource {
  readonly resource: Resource;
  readonly serviceName: string;
}

/** What trace reads use of the store: its read connection, the attribute slots, and its caches. */
export interface TraceReadContext {
  readonly reads: ReadConnection;
  /** Which attribute keys have their own column, as committed. */
  readonly slots: AttributeSlots;
  /** Resources by their small number, and scopes by id, filled as reads meet them. */
  readonly resources: Map<number, StoredResource>;
  readonly scopes: Map<bigint, InstrumentationScope>;
}

/** The spans of one trace (in `range`, if given), ordered by start, then span id; [] if unknown. */
export async function getTrace(ctx: TraceReadContext, traceId: string, range: TimeRange = {}): Promise<Span[]> {
  const id = hexToBigInt(traceId);
  const from = clampU64(range.startUnixNano ?? 0n);
  if (range.endUnixNano !== undefined && range.endUnixNano <= from) return [];
  const to = range.endUnixNano === undefined ? U64_MAX : clampU64(range.endUnixNano - 1n);
  const c = await readTraceColumns(ctx, id, from, to);
  // c: the columns of spanReadColumns, in order.
  const n = c[0].length;
  if (n === 0) return [];
  await loadResourcesAndScopes(ctx, c[C.resourceNo] as number[], c[C.scopeId] as bigint[]);
  const hexTraceId = bigIntToHex(id, 32);
  const decode = spanDecoder(ctx, c);
  const spans: Span[] = new Array(n);
  for (let i = 0; i < n; i++) spans[i] = decode(i, hexTraceId);
  return spans;
}

/**
 * The spans of every trace in `traceIds` (hex, as `getTrace` takes them), by the id as given: the
 * same spans in the same order as `getTrace(id)` returns, [] for an unknown id. Reads the page
 * with one query for the time ranges and one for the spans, instead of two per trace; the spans
 * scanned are those in the time range of all the traces together, so pages of ids close in time
 * read the least. Holds every span of the page in memory at once.
 */
export async function getTraces(ctx: TraceReadContext, traceIds: readonly string[]): Promise<Map<string, Span[]>> {
  const result = new Map<string, Span[]>();
  const wanted = [...new Set(traceIds.map(hexToBigInt))];
  if (wanted.length > 0) {
    const [found, lo, hi] = await ctx.reads.columns(
      `SELECT t.trace_id, min(t.start_ns), max(t.last_start_ns)
       FROM trace_parts t SEMI JOIN (SELECT unnest($1) AS id) page ON t.trace_id = page.id GROUP BY t.trace_id`,
      [listValue(wanted)],
      [LIST(UHUGEINT)],
    );
    if (found.length > 0) {
      const spans = await readPage(ctx, found as bigint[], lo as bigint[], hi as bigint[]);
      for (const id of traceIds) result.set(id, spans.get(hexToBigInt(id)) ?? []);
    }
  }
  for (const id of traceIds) if (!result.has(id)) result.set(id, []);
  return result;
}

/** The spans of the traces `ids`, each from `lo` to `hi` (inclusive) of its own, by trace id. */
async function readPage(
  ctx: TraceReadContext,
  ids: readonly bigint[],
  lo: readonly bigint[],
  hi: readonly bigint[],
): Promise<Map<bigint, Span[]>> {
  // Each trace's range as getTrace reads it, [lo, hi + 1), and the range around them all.
  const rangeOf = new Map<bigint, readonly [bigint, bigint]>();
  let from = lo[0];
  let to = 0n;
  for (let t = 0; t < ids.length; t++) {
    const end = clampU64(hi[t] + 1n);
    rangeOf.set(ids[t], [lo[t], end]);
    if (lo[t] < from) from = lo[t];
    if (end > to) to = end;
  }
  const { columns: c, traceIds, rowIds } = await readPageColumns(ctx, ids, from, to);
  // Rows of each trace, only those within the trace's own range.
  const start = c[C.startNs] as bigint[];
  const rowsOf = new Map<bigint, number[]>();
  for (let i = 0; i < traceIds.length; i++) {
    const range = rangeOf.get(traceIds[i]);
    if (range === undefined || start[i] < range[0] || start[i] >= range[1]) continue;
    let rows = rowsOf.get(traceIds[i]);
    if (rows === undefined) {
      rows = [];
      rowsOf.set(traceIds[i], rows);
    }
    rows.push(i);
  }
  await loadResourcesAndScopes(ctx, c[C.resourceNo] as number[], c[C.scopeId] as bigint[]);
  const decode = spanDecoder(ctx, c);
  const spanId = c[C.spanId] as bigint[];
  const byTrace = new Map<bigint, Span[]>();
  for (const [id, rows] of rowsOf) {
    const hexTraceId = bigIntToHex(id, 32);
    byTrace.set(
      id,
      traceOrder(start, spanId, rowIds, rows).map((i) => decode(i, hexTraceId)),
    );
  }
  return byTrace;
}

/**
 * The columns of spanReadColumns for one trace's spans with a start in `[from, to]`, ordered by
 * start. One statement: the trace's time range from `trace_parts` (a small table), which DuckDB
 * hands to the span scan as a dynamic filter on `start_ns`, so that it reads only the row groups
 * whose zone maps overlap it, wherever in the week the trace is. As two statements, the read
 * waited twice for the thread that answers, which under ingest is the longest part of it.
 * Converting strings one by one is most of a read, so a row's strings come packed into one
 * (one conversion) and are split here; a value holding the separator shows as a row with too
 * many fields, and then the plain query is used. The rows come unordered (sorting in DuckDB
 * moved every row's whole payload) and are put in order here, usually without a sort: each
 * batch is stored sorted by trace and start. Measured against string_agg of each column (one
 * string per column): as fast or faster from 20 to 100,000 spans (BENCHMARKS.md).
 */
function readTraceColumns(ctx: TraceReadContext, id: bigint, from: bigint, to: bigint): Promise<unknown[][]> {
  const values = [id, from, to];
  const types = [UHUGEINT, UBIGINT, UBIGINT];
  // An unknown trace has no range (NULL): no row, and nothing scanned.
  const where = `, (SELECT min(start_ns) AS lo, max(last_start_ns) AS hi FROM trace_parts WHERE trace_id = $1) r
    WHERE spans.trace_id = $1 AND spans.start_ns >= r.lo AND spans.start_ns <= r.hi
      AND spans.start_ns >= $2 AND spans.start_ns <= $3`;
  const slotCount = ctx.slots.count;
  const strings = stringColumns(slotCount);
  return ctx.reads.read(async (run) => {
    const packed = columnsOf(
      await run(
        `SELECT ${PACKED_NUMBER_COLUMNS}, concat_ws(chr(28), ${strings.join(', ')}), spans.rowid FROM spans ${where}`,
        values,
        types,
      ),
    );
    inTraceOrder(packed, C.startNs, C.spanId, PACKED_NUMBER_COUNT + 1);
    const split = splitPacked(packed[PACKED_NUMBER_COUNT] as string[], strings.length);
    if (split !== undefined) return assembleTraceColumns(packed.slice(0, PACKED_NUMBER_COUNT), split);
    return columnsOf(
      await run(
        `SELECT ${spanReadColumns(slotCount)} FROM spans ${where} ORDER BY start_ns, span_id, spans.rowid`,
        values,
        types,
      ),
    );
  });
}

/** What `readPageColumns` returns: the columns of spanReadColumns, and each row's trace id and rowid. */
interface PageColumns {
  readonly columns: unknown[][];
  readonly traceIds: bigint[];
  readonly rowIds: bigint[];
}

/**
 * The spans of the traces `ids` in `[start, end)`, unordered, read as `readTraceColumns` reads
 * one trace (packed, or plain if a value holds the separator).
 */
function readPageColumns(ctx: TraceReadContext, ids: readonly bigint[], start: bigint, end: bigint) {
  const values = [listValue([...ids]), start, end];
  const types = [LIST(UHUGEINT), UBIGINT, UBIGINT];
  // A semi join with the unnested list: several times faster than \`trace_id IN (SELECT unnest($1))\`.
  const where = 'SEMI JOIN (SELECT unnest($1) AS id) page ON trace_id = page.id WHERE start_ns >= $2 AND start_ns < $3';
  const slotCount = ctx.slots.count;
  const strings = stringColumns(slotCount);
  return ctx.reads.read(async (run: RunRead): Promise<PageColumns> => {
    const packed = columnsOf(
      await run(
        `SELECT ${PACKED_NUMBER_COLUMNS}, concat_ws(chr(28), ${strings.join(', ')}), rowid, trace_id FROM spans ${where}`,
        values,
        types,
      ),
    );
    const rowIds = packed[PACKED_NUMBER_COUNT + 1] as bigint[];
    const traceIds = packed[PACKED_NUMBER_COUNT + 2] as bigint[];
    const split = splitPacked(packed[PACKED_NUMBER_COUNT] as string[], strings.length);
    if (split !== undefined) {
      return { columns: assembleTraceColumns(packed.slice(0, PACKED_NUMBER_COUNT), split), traceIds, rowIds };
    }
    const plain = columnsOf(
      await run(`SELECT ${spanReadColumns(slotCount)}, rowid, trace_id FROM spans ${where}`, values, types),
    );
    const columnCount = plain.length - 2;
    return {
      columns: plain.slice(0, columnCount),
      rowIds: plain[columnCount] as bigint[],
      traceIds: plain[columnCount + 1] as bigint[],
    };
  });
}

/**
 * Turns row `i` of the columns `c` (spanReadColumns' order) into a span of trace `hexTraceId`.
 * Resources and scopes must be loaded (`loadResourcesAndScopes`). Most attribute strings repeat
 * across spans: the decoder decodes each distinct one once (the decoded values are immutable, so
 * spans may share them).
 */
function spanDecoder(ctx: TraceReadContext, c: unknown[][]): (i: number, hexTraceId: string) => Span {
  const decoded = new Map<string, KeyValue>();
  const attribute = (text: string): KeyValue => {
    let kv = decoded.get(text);
    if (kv === undefined) {
      kv = decodeAttribute(text);
      decoded.set(text, kv);
    }
    return kv;
  };
  const prefixes = ctx.slots.prefixes();
  const bySlot = prefixes.map(() => new Map<string, KeyValue>());
  const layoutPlans = new Map<string, Int8Array>();
  const slotAttribute = (slot: number, value: string): KeyValue | undefined => {
    const cache = bySlot[slot];
    if (cache === undefined) return undefined;
    let kv = cache.get(value);
    if (kv === undefined) {
      kv = decodeAttribute(prefixes[slot] + value);
      cache.set(value, kv);
    }
    return kv;
  };
  return (i, hexTraceId) => {
    const stored = ctx.resources.get(c[C.resourceNo][i] as number);
    const scope = ctx.scopes.get(c[C.scopeId][i] as bigint);
    if (!stored || !scope) throw new Error('corrupt store: span references a missing resource or scope');
    const begin = c[C.startNs][i] as bigint;
    const events = c[C.events][i] as string;
    const links = c[C.links][i] as string;
    return {
      traceId: hexTraceId,
      spanId: (c[C.spanId][i] as bigint).toString(16).padStart(16, '0'),
      parentSpanId: bigIntToHex(c[C.parentSpanId][i] as bigint, 16),
      traceState: c[C.traceState][i] as string,
      flags: Number(c[C.flags][i]),
      name: c[C.name][i] as string,
      kind: Number(c[C.kind][i]),
      startTimeUnixNano: unixNanos(begin),
      endTimeUnixNano: unixNanos(begin + (c[C.durationNs][i] as bigint)),
      attributes: attributesFromSlots(
        c[C.layout][i] as string,
        c[C.attrSlots][i] as string,
        c[C.attrsRest][i] as string,
        slotAttribute,
        attribute,
        layoutPlans,
      ),
      droppedAttributesCount: Number(c[C.droppedAttributes][i]),
      events: events === '' ? [] : eventsFromText(events),
      droppedEventsCount: Number(c[C.droppedEvents][i]),
      links: links === '' ? [] : linksFromText(links),
      droppedLinksCount: Number(c[C.droppedLinks][i]),
      status: { code: Number(c[C.statusCode][i]), message: c[C.statusMessage][i] as string },
      serviceName: c[C.service][i] as string,
      resource: stored.resource,
      scope,
    };
  };
}

/** Reads the resources and scopes not in the caches yet. */
async function loadResourcesAndScopes(ctx: TraceReadContext, resourceNos: number[], scopeIds: bigint[]) {
  const missingResources = [...new Set(resourceNos)].filter((no) => !ctx.resources.has(no));
  if (missingResources.length > 0) {
    const rows = await ctx.reads.rows(
      'SELECT no, body FROM resources WHERE list_contains($1, no)',
      [listValue(missingResources)],
      [LIST(UINTEGER)],
    );
    for (const row of rows) {
      const resource = resourceFromBody(row.body as string);
      ctx.resources.set(row.no as number, { resource, serviceName: serviceNameOf(resource) });
    }
  }
  const missingScopes = [...new Set(scopeIds)].filter((id) => !ctx.scopes.has(id));
  if (missingScopes.length > 0) {
    const rows = await ctx.reads.rows(
      'SELECT id, body FROM scopes WHERE list_contains($1, id)',
      [listValue(missingScopes)],
      [LIST(UBIGINT)],
    );
    for (const row of rows) ctx.scopes.set(row.id as bigint, scopeFromBody(row.body as string));
  }
}

/**
 * Up to `limit` distinct trace ids (32 lowercase hex digits) greater than `after`, ascending:
 * a stable order to walk every trace in (`ariadne copy`). Each call scans `trace_parts`, whose
 * fixed-width columns scan quickly; there is no index to seek to `after`.
 */
export async function listTraceIds(reads: ReadConnection, after: string | undefined, limit: number) {
  const n = BigInt(Math.max(0, Math.floor(limit)));
  const [ids] =
    after === undefined
      ? await reads.columns('SELECT DISTINCT trace_id FROM trace_parts ORDER BY trace_id LIMIT $1', [n], [UBIGINT])
      : await reads.columns(
          'SELECT DISTINCT trace_id FROM trace_parts WHERE trace_id > $1 ORDER BY trace_id LIMIT $2',
          [hexToBigInt(after), n],
          [UHUGEINT, UBIGINT],
        );
  return ids.map((id) => bigIntToHex(id as bigint, 32));
}

/** The number of distinct traces stored. */
export async function countTraces(reads: ReadConnection): Promise<number> {
  const [counts] = await reads.columns('SELECT count(DISTINCT trace_id) FROM trace_parts');
  return Number(counts[0]);
}
