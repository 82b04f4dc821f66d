import { type Span, UNKNOWN_SERVICE, unixNanos } from '@ariadne/core';
import { type Logger, silentLogger } from '../../logger.ts';
import type {
  DependencyEdge,
  OperationStats,
  PreparedWriter,
  SpanCompareOp,
  SpanField,
  SpanPredicate,
  SpanStore,
  SpanValue,
  TagScope,
  TagValue,
  TagValuesQuery,
  TimeRange,
  TraceCandidate,
  TraceCandidateQuery,
  TraceSummary,
  WriteProgress,
} from '../../query/span-store.ts';
import { attributeKeyPrefix, decodeAttribute, decodeAttributeKey } from '../attribute-codec.ts';
import { hashAttribute, minuteOf, minutesToRanges } from '../attribute-index.ts';
import {
  attributeEqualityTexts,
  isSearchableValue,
  jsonValuePrefix,
  oddServiceNameTexts,
  requiredEqualities,
  simplifyPredicate,
  tagValuesOf,
} from '../span-predicate.ts';
import { resourceFromBody } from '../span-text.ts';
import { type ClickHouseExecutor, ClickHouseUnavailableError, isTransientClickHouseError } from './executor.ts';
import {
  CLICKHOUSE_PREPARER_MODULE,
  ClickHousePreparer,
  type ClickHousePreparerState,
  MAX_KNOWN_BODIES,
  type PreparedRows,
} from './preparer.ts';
import {
  ATTR_INDEX_COLUMNS,
  ATTR_TRACE_COLUMNS,
  BODY_COLUMNS,
  INDEX_COLUMNS,
  NANOS_PER_DAY,
  OPERATION_COLUMNS,
  SPAN_COLUMNS,
  TRACE_COLUMNS,
} from './rows.ts';
import { type EngineFeatures, engineFeatures, migrateClickHouseSchema, type TableNames, tableNames } from './schema.ts';
import { clampUInt64, sqlString, sqlStringArray, sqlUInt64 } from './sql.ts';
import { SPAN_SELECT, type StoredSpanRow, spansFromRows } from './stored-spans.ts';

/** Options for the ClickHouse store. */
export interface ClickHouseStoreOptions {
  /** The engine: a server over HTTP (`HttpExecutor`) or, in tests, an embedded one. */
  readonly executor: ClickHouseExecutor;
  readonly database: string;
  /** With a cluster name: local tables on every shard and Distributed tables over them. */
  readonly cluster?: string;
  readonly logger?: Logger;
  /** Delete spans older than this many nanoseconds, by whole days; unset keeps everything. */
  readonly retentionNanos?: bigint;
  readonly retentionIntervalMs?: number;
  /** How long a write keeps retrying failures that may pass (default 3 s) before it fails. */
  readonly writeRetryMs?: number;
  /** Clock of the retention (unix milliseconds); tests pass their own. */
  readonly now?: () => number;
  /**
   * With a cluster, how long (seconds, default 10) a retention statement `ON CLUSTER` waits for
   * every server to carry it out before the store stops waiting (`distributed_ddl_task_timeout`;
   * the server's default is 180 s): a server that is down carries it out when it returns.
   */
  readonly ddlTimeoutSeconds?: number;
}

/** `ClickHouseStoreOptions.ddlTimeoutSeconds` when unset. */
export const DEFAULT_DDL_TIMEOUT_SECONDS = 10;
/** ClickHouse's TIMEOUT_EXCEEDED: an `ON CLUSTER` statement some server has not carried out yet. */
const DDL_TIMEOUT_CODE = '159';

const NANOS_PER_MINUTE = 60_000_000_000n;
const FIRST_WINDOW = 10n * NANOS_PER_MINUTE;
const WINDOW_GROWTH = 6n;
const MAX_LIMIT = 10_000;
/** Time ranges a search for attribute values reads at most (nearby minutes merge). */
const MAX_MINUTE_RANGES = 32;
/** Distinct stored attribute texts read for a value list at most (before typing and sorting). */
const MAX_TAG_TEXTS = 100_000;
/** Beyond this many traces holding a value (attr_traces), a search reads its minutes instead. */
const MAX_PREFIX_CANDIDATES = 256;
/** Beyond this many minutes with the value, a search reads newest first instead. */
const MAX_INDEXED_MINUTES = 1_440;
/** The all-zero parent id of a root span. */
const ROOT = "toFixedString(unhex('0000000000000000'), 8)";

/** An id as a ClickHouse `FixedString` of its bytes. */
function idLiteral(hex: string): string {
  return `unhex(${sqlString(hex)})`;
}

/**
 * Spans in ClickHouse (schema.ts): a stateless store, so that any number of Ariadne nodes can
 * share one database or cluster. A write returns only once ClickHouse acknowledged every insert
 * holding its spans (through Distributed tables, once every shard has them); failures that may
 * pass (network, overload, a shard restarting) are retried with backoff for `writeRetryMs`, then
 * reported as `ClickHouseUnavailableError`. There are no transactions: a write's inserts (spans,
 * index, operations, progress) are each retried until acknowledged, and a retry that stores a
 * row twice is harmless (reads deduplicate, merges remove the copy).
 */
export class ClickHouseSpanStore
  implements SpanStore, PreparedWriter<ClickHousePreparerState, PreparedRows | undefined>
{
  private closed = false;
  private retentionTimer: NodeJS.Timeout | undefined;
  private retentionRunning: Promise<void> | undefined;
  /** Stops waiting for the retention's statements when the store closes. */
  private readonly closing = new AbortController();
  private lastWriteFailure: Error | undefined;
  /** What `writeSpans` prepares its rows with (undefined after a failed write). */
  private localPreparer: ClickHousePreparer | undefined;
  /** Texts of `bodies` read back, by id (decimal). */
  private readonly bodyCache = new Map<string, string>();

  private constructor(
    private readonly executor: ClickHouseExecutor,
    readonly tables: TableNames,
    readonly features: EngineFeatures,
    private readonly options: ClickHouseStoreOptions,
    private readonly logger: Logger,
  ) {}

  /** Connects, reads the server's version and creates or migrates the schema. */
  static async open(options: ClickHouseStoreOptions): Promise<ClickHouseSpanStore> {
    const logger = options.logger ?? silentLogger;
    const [row] = await options.executor.query<{ v: string }>('SELECT version() AS v');
    const features = engineFeatures(row.v);
    const tables = tableNames(options.database, options.cluster);
    await migrateClickHouseSchema(options.executor, tables, features, logger);
    const store = new ClickHouseSpanStore(options.executor, tables, features, options, logger);
    if (options.retentionNanos !== undefined) store.startRetention(options.retentionNanos);
    return store;
  }

  /** The last write that failed, while none has succeeded since. */
  get writeFailure(): Error | undefined {
    return this.lastWriteFailure;
  }

  /**
   * Resolves when ClickHouse answers (and forgets the last failed write: the database is back);
   * rejects with why it does not.
   */
  async ping(): Promise<void> {
    await this.executor.ping();
    this.lastWriteFailure = undefined;
  }

  /** Batches are prepared by preparer.ts, on ingest's prepare thread (or here, for `writeSpans`). */
  readonly preparerModule = CLICKHOUSE_PREPARER_MODULE;

  async preparerState(): Promise<ClickHousePreparerState> {
    return {};
  }

  async writeSpans(spans: readonly Span[], progress?: WriteProgress): Promise<void> {
    this.assertOpen();
    this.localPreparer ??= new ClickHousePreparer();
    const rows = spans.length > 0 ? this.localPreparer.combine([this.localPreparer.preparePart(spans)]) : undefined;
    try {
      await this.writePrepared(rows, progress);
    } catch (error) {
      // It took the batch's resource and scope texts as stored: start afresh.
      this.localPreparer = undefined;
      throw error;
    }
  }

  /**
   * Inserts the rows of a batch prepared by a `ClickHousePreparer` (on ingest's prepare thread):
   * resource and scope texts first, then every table's rows; with `progress` as `writeSpans`.
   * Resolves once ClickHouse acknowledged every insert.
   */
  async writePrepared(rows: PreparedRows | undefined, progress?: WriteProgress): Promise<void> {
    this.assertOpen();
    const sync = { distributedSync: this.tables.cluster !== undefined };
    // Rows that crossed from another thread arrive as plain Uint8Arrays.
    const bytes = (view: Uint8Array) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    if (rows !== undefined && rows.spanCount > 0) {
      // Resource and scope texts first: a span is never visible before what it refers to.
      if (rows.bodies) {
        const bodies = bytes(rows.bodies);
        await this.retrying(() => this.executor.insert(this.tables.bodies, BODY_COLUMNS, bodies, sync));
      }
      // Wait for every insert, even after one failed, so that nothing is left running.
      const t = this.tables;
      const inserts: [string, readonly string[], Uint8Array][] = [
        [t.spans, SPAN_COLUMNS, rows.spans],
        [t.spanIndex, INDEX_COLUMNS, rows.index],
        [t.traces, TRACE_COLUMNS, rows.traces],
        [t.operations, OPERATION_COLUMNS, rows.operations],
        [t.attrIndex, ATTR_INDEX_COLUMNS, rows.attrIndex],
        [t.attrTraces, ATTR_TRACE_COLUMNS, rows.attrTraces],
      ];
      const results = await Promise.allSettled(
        inserts
          .filter(([, , view]) => view.length > 0)
          .map(([table, columns, view]) =>
            this.retrying(() => this.executor.insert(table, columns, bytes(view), sync)),
          ),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    if (progress) {
      const written = sqlUInt64(BigInt(Date.now()) * 1_000_000n);
      const entries: [string, bigint][] = [[progress.source, progress.position]];
      for (const [name, value] of Object.entries(progress.counters ?? {}))
        entries.push([`${progress.source}.${name}`, value]);
      const values = entries.map(([source, value]) => `(${sqlString(source)}, ${sqlUInt64(value)}, ${written})`);
      await this.retrying(() =>
        this.executor.command(
          `INSERT INTO ${this.tables.progress} (source, value, written_ns) VALUES ${values.join(', ')}`,
          this.tables.cluster ? { insert_distributed_sync: 1 } : undefined,
        ),
      );
    }
  }

  /** Runs `insert` until it succeeds, retrying failures that may pass, for `writeRetryMs`. */
  private async retrying(insert: () => Promise<void>): Promise<void> {
    const budget = this.options.writeRetryMs ?? 3_000;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await insert();
        this.lastWriteFailure = undefined;
        return;
      } catch (error) {
        const e = error as Error;
        this.lastWriteFailure = e;
        const delay = Math.min(1_000, 50 * 2 ** attempt);
        if (this.closed || !isTransientClickHouseError(e) || Date.now() - started + delay > budget) {
          this.logger.error({ err: e, attempts: attempt + 1 }, 'ClickHouse insert failed');
          throw e instanceof ClickHouseUnavailableError || !isTransientClickHouseError(e)
            ? e
            : new ClickHouseUnavailableError(e.message);
        }
        this.logger.warn({ err: e, attempt: attempt + 1 }, 'ClickHouse insert failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async readProgress(source: string): Promise<bigint | undefined> {
    const [row] = await this.executor.query<{ n: string; v: string }>(
      `SELECT count() AS n, argMax(value, written_ns) AS v FROM ${this.tables.progress} WHERE source = ${sqlString(source)}`,
    );
    return row && Number(row.n) > 0 ? BigInt(row.v) : undefined;
  }

  async getTrace(traceId: string, range: TimeRange = {}): Promise<Span[]> {
    if (!/^[0-9a-f]{32}$/.test(traceId)) return [];
    const where =
      range.startUnixNano === undefined && range.endUnixNano === undefined
        ? [await this.traceCondition([traceId])]
        : [`trace_id = ${idLiteral(traceId)}`, ...rangeConditions(range, 'start_ns')];
    const rows = await this.executor.query<StoredSpanRow>(
      `SELECT ${SPAN_SELECT} FROM ${this.tables.spans} WHERE ${where.join(' AND ')}`,
    );
    if (rows.length === 0) return [];
    return spansFromRows(rows, await this.bodies(rows.flatMap((r) => [r.resource_id, r.scope_id])));
  }

  async getTraces(traceIds: readonly string[]): Promise<Map<string, Span[]>> {
    const result = new Map<string, Span[]>();
    const wanted = [...new Set(traceIds.filter((id) => /^[0-9a-f]{32}$/.test(id)))];
    if (wanted.length > 0) {
      const rows = await this.executor.query<StoredSpanRow>(
        `SELECT ${SPAN_SELECT} FROM ${this.tables.spans} WHERE ${await this.traceCondition(wanted)}`,
      );
      const bodies = await this.bodies(rows.flatMap((r) => [r.resource_id, r.scope_id]));
      for (const [id, traceRows] of groupByTrace(rows)) result.set(id, spansFromRows(traceRows, bodies));
    }
    for (const id of traceIds) if (!result.has(id)) result.set(id, []);
    return result;
  }

  async findTraceCandidates(query: TraceCandidateQuery): Promise<TraceCandidate[]> {
    const limit = Math.max(1, Math.min(Math.floor(query.limit), MAX_LIMIT));
    const requirements = query.requirements.map((r) => ({
      predicate: simplifyPredicate(r.predicate),
      minSpans: Math.max(1, Math.floor(r.minSpans)),
    }));
    const days = await this.dataDays();
    if (days === undefined) return [];
    let lo = days.first * NANOS_PER_DAY;
    let hi = (days.last + 1n) * NANOS_PER_DAY;
    if (query.startUnixNano !== undefined && query.startUnixNano > lo) lo = query.startUnixNano;
    if (query.endUnixNano !== undefined && query.endUnixNano < hi) hi = query.endUnixNano;
    const after = query.after;
    if (after !== undefined && after.lastMatchUnixNano + 1n < hi) hi = after.lastMatchUnixNano + 1n;
    if (lo >= hi) return [];
    /**
     * The candidates among spans in `window`, from `span_index` (ordered by service and time) or
     * from `spans` (ordered by trace id: for a few traces named by id prefix; it has no
     * attribute array, so attribute conditions count as true there).
     */
    const select = async (window: string, table: 'index' | 'spans' = 'index') => {
      const conditions = requirements.map((r) => predicateSql(r.predicate, table));
      if (table === 'index' && requirements.length > 1)
        return this.joinedCandidates(
          conditions.map((sql, i) => ({ sql, minSpans: requirements[i].minSpans })),
          window,
          limit,
          after,
        );
      const any = requirements.length === 0 ? '1' : conditions.map((c) => `(${c})`).join(' OR ');
      const having = requirements.map((r, i) => `countIf(${conditions[i]}) >= ${r.minSpans}`);
      if (after !== undefined)
        having.push(
          `(max(start_ns) < ${sqlUInt64(after.lastMatchUnixNano)} OR trace_id > ${idLiteral(after.traceId)})`,
        );
      const rows = await this.executor.query<{ trace_hex: string; last_ns: string }>(
        `SELECT lower(hex(trace_id)) AS trace_hex, max(start_ns) AS last_ns
         FROM ${table === 'index' ? this.tables.spanIndex : this.tables.spans}
         WHERE (${any}) AND ${window} GROUP BY trace_id
         ${having.length > 0 ? `HAVING ${having.join(' AND ')}` : ''}
         ORDER BY last_ns DESC, trace_id LIMIT ${limit}`,
      );
      return rows.map((r) => ({ traceId: r.trace_hex, lastMatchUnixNano: unixNanos(BigInt(r.last_ns)) }));
    };
    // One requirement with attribute equalities: the attribute index names the minutes (or the
    // traces) that can hold its spans.
    const equalities = requirements.length === 1 ? requiredEqualities(requirements[0].predicate) : [];
    if (equalities.length > 0) {
      const narrowed = await this.attributeNarrowing(
        equalities.map((e) => e.values.flatMap((v) => attributeEqualityTexts(e.key, v))),
        lo,
        hi,
      );
      if (narrowed === 'none') return [];
      if (narrowed !== undefined && 'prefixes' in narrowed) {
        const ids = narrowed.prefixes.map(prefixRange);
        return select(`(${ids.join(' OR ')}) AND ${between(lo, hi)}`, 'spans');
      }
      if (narrowed !== undefined)
        return select(`(${narrowed.ranges.map((r) => between(r.start, r.end)).join(' OR ')})`);
    }
    let found: TraceCandidate[] = [];
    for (let width = FIRST_WINDOW; ; width *= WINDOW_GROWTH) {
      const from = later(hi - width, lo);
      found = await select(between(from, hi));
      if (found.length >= limit || from === lo) return found;
      // Nothing in the newest window: the conditions are rare there, and every wider window would
      // read it again, a round trip each; the whole range in one query costs about the last one.
      if (found.length === 0) width = hi - lo;
    }
  }

  /**
   * Candidates for several requirements (`{A} >> {B}`, `{A} && {B}`), one grouped subquery per
   * requirement joined on the trace id: each subquery reads only what its own condition needs (a
   * service's rows through the sorting key, a status through one column), where a single scan of
   * `A OR B` would read every column of the window for every row. The same traces and order as
   * that scan: each requirement met by its own spans in the window, ordered by the latest of them.
   * The joins nest, one per level, as servers before 19.x allow one JOIN per SELECT.
   */
  private async joinedCandidates(
    conditions: readonly { sql: string; minSpans: number }[],
    window: string,
    limit: number,
    after: TraceCandidate | undefined,
  ): Promise<TraceCandidate[]> {
    const requirement = (i: number) =>
      `SELECT trace_id, max(start_ns) AS m${i} FROM ${this.tables.spanIndex}
       WHERE (${conditions[i].sql}) AND ${window} GROUP BY trace_id HAVING count() >= ${conditions[i].minSpans}`;
    let joined = requirement(0);
    let last = 'm0';
    for (let i = 1; i < conditions.length; i++) {
      joined = `SELECT trace_id, greatest(${last}, m${i}) AS j${i} FROM (${joined}) AS l${i}
        ANY INNER JOIN (${requirement(i)}) AS r${i} USING trace_id`;
      last = `j${i}`;
    }
    const cursor =
      after === undefined
        ? ''
        : `WHERE ${last} < ${sqlUInt64(after.lastMatchUnixNano)} OR trace_id > ${idLiteral(after.traceId)}`;
    const rows = await this.executor.query<{ trace_hex: string; last_ns: string }>(
      `SELECT lower(hex(trace_id)) AS trace_hex, ${last} AS last_ns FROM (${joined}) AS candidates ${cursor}
       ORDER BY last_ns DESC, trace_id LIMIT ${limit}`,
    );
    return rows.map((r) => ({ traceId: r.trace_hex, lastMatchUnixNano: unixNanos(BigInt(r.last_ns)) }));
  }

  /**
   * What the attribute index says of spans holding one of each list of stored texts in
   * `[lo, hi)`: none; a few trace id prefixes (attr_traces) when one list's every occurrence is
   * covered there; else the time ranges of the minutes holding all of them, if not too many;
   * undefined when it cannot narrow.
   */
  private async attributeNarrowing(
    textLists: readonly (readonly string[])[],
    lo: bigint,
    hi: bigint,
  ): Promise<'none' | { prefixes: number[] } | { ranges: { start: bigint; end: bigint }[] } | undefined> {
    let minutes: Set<number> | undefined;
    let prefixes: number[] | undefined;
    const minuteRange = `minute >= ${minuteOf(lo)} AND minute <= ${minuteOf(hi - 1n)}`;
    for (const texts of textLists) {
      if (texts.length === 0) return 'none';
      const hashes = `h IN (${texts.map((c) => hashAttribute(c)).join(', ')})`;
      const rows = await this.executor.query<{ minute: number; covered: number }>(
        `SELECT minute, min(covered) AS covered FROM ${this.tables.attrIndex}
         WHERE ${hashes} AND ${minuteRange} GROUP BY minute`,
      );
      const found = new Set(rows.map((r) => Number(r.minute)));
      minutes = minutes === undefined ? found : new Set([...minutes].filter((m) => found.has(m)));
      if (minutes.size === 0) return 'none';
      if (prefixes === undefined && rows.every((r) => Number(r.covered) === 1)) {
        const traces = await this.executor.query<{ p: number }>(
          `SELECT DISTINCT trace_prefix AS p FROM ${this.tables.attrTraces}
           WHERE ${hashes} AND ${minuteRange} LIMIT ${MAX_PREFIX_CANDIDATES + 1}`,
        );
        if (traces.length <= MAX_PREFIX_CANDIDATES) prefixes = traces.map((r) => Number(r.p));
      }
    }
    if (prefixes !== undefined) return prefixes.length === 0 ? 'none' : { prefixes };
    if (minutes === undefined || minutes.size > MAX_INDEXED_MINUTES) return undefined;
    const ranges = minutesToRanges([...minutes], MAX_MINUTE_RANGES)
      .map((r) => ({ start: later(r.start, lo), end: earlier(r.end, hi) }))
      .filter((r) => r.start < r.end);
    return ranges.length === 0 ? 'none' : { ranges };
  }

  /**
   * A condition selecting the spans of these traces that reads only their time (from `traces`):
   * their ids, and the span of time from the first start to the last end among them, so that a
   * read of recent traces touches only their days. Without a `traces` row for one of them (not
   * written yet), the ids alone.
   */
  private async traceCondition(ids: readonly string[]): Promise<string> {
    const plain = `trace_id IN (${ids.map(idLiteral).join(', ')})`;
    const rows = await this.executor.query<{ trace_hex: string; lo: string; hi: string }>(
      `SELECT lower(hex(trace_id)) AS trace_hex, min(first_ns) AS lo, max(last_ns) AS hi FROM ${this.tables.traces}
       WHERE trace_id IN (${ids.map(idLiteral).join(', ')}) GROUP BY trace_id`,
    );
    if (rows.length < new Set(ids).size) return plain;
    // One range over all of them: cheaper to evaluate than a range per trace (an OR per row), and
    // as selective through the sorting key (trace id first) and the day partitions.
    let lo = BigInt(rows[0].lo);
    let hi = BigInt(rows[0].hi);
    for (const r of rows) {
      if (BigInt(r.lo) < lo) lo = BigInt(r.lo);
      if (BigInt(r.hi) > hi) hi = BigInt(r.hi);
    }
    return `(${plain} AND start_ns >= ${sqlUInt64(lo)} AND start_ns <= ${sqlUInt64(hi)})`;
  }

  /** The resource and scope texts of `ids` (decimal), from the cache or `bodies`. */
  private async bodies(ids: readonly string[]): Promise<Map<string, string>> {
    const missing = [...new Set(ids)].filter((id) => !this.bodyCache.has(id));
    if (missing.length > 0) {
      const rows = await this.executor.query<{ id_text: string; text: string }>(
        `SELECT toString(id) AS id_text, any(body) AS text FROM ${this.tables.bodies}
         WHERE id IN (${missing.map((id) => sqlUInt64(BigInt(id))).join(', ')}) GROUP BY id`,
      );
      if (this.bodyCache.size + rows.length > MAX_KNOWN_BODIES) this.bodyCache.clear();
      for (const row of rows) this.bodyCache.set(row.id_text, row.text);
    }
    return this.bodyCache;
  }

  /** The first and last day holding spans (from the small operations table), if any. */
  private async dataDays(): Promise<{ first: bigint; last: bigint } | undefined> {
    const [row] = await this.executor.query<{ n: string; lo: string; hi: string }>(
      `SELECT count() AS n, min(day) AS lo, max(day) AS hi FROM ${this.tables.operations}`,
    );
    if (!row || Number(row.n) === 0) return undefined;
    return { first: BigInt(row.lo), last: BigInt(row.hi) };
  }

  /** A summary of each trace, from all its spans (each counted once). */
  async summarizeTraces(traceIds: readonly string[]): Promise<Map<string, TraceSummary>> {
    const ids = [...new Set(traceIds.filter((id) => /^[0-9a-f]{32}$/.test(id)))];
    if (ids.length === 0) return new Map();
    const rows = await this.executor.query<{
      trace_hex: string;
      first_ns: string;
      last_ns: string;
      span_count: string;
      error_count: string;
      services: string[];
      root_service: string;
      root_name: string;
    }>(
      `SELECT lower(hex(trace_id)) AS trace_hex, min(start_ns) AS first_ns, max(start_ns + duration_ns) AS last_ns,
         uniqExact(span_id, kind, start_ns, parent_span_id) AS span_count,
         uniqExactIf(span_id, kind, start_ns, parent_span_id, status_code = 2) AS error_count,
         arraySort(groupUniqArray(toString(service))) AS services,
         if(countIf(parent_span_id = ${ROOT}) > 0, argMinIf(toString(service), start_ns, parent_span_id = ${ROOT}),
            argMin(toString(service), start_ns)) AS root_service,
         if(countIf(parent_span_id = ${ROOT}) > 0, argMinIf(toString(name), start_ns, parent_span_id = ${ROOT}),
            argMin(toString(name), start_ns)) AS root_name
       FROM ${this.tables.spans} WHERE ${await this.traceCondition(ids)}
       GROUP BY trace_id`,
    );
    const summaries = rows.map((r): [string, TraceSummary] => [
      r.trace_hex,
      {
        traceId: r.trace_hex,
        rootService: r.root_service,
        rootName: r.root_name,
        startUnixNano: unixNanos(BigInt(r.first_ns)),
        durationNanos: BigInt(r.last_ns) - BigInt(r.first_ns),
        spanCount: Number(r.span_count),
        errorCount: Number(r.error_count),
        services: r.services,
      },
    ]);
    return new Map(summaries);
  }

  async listTagNames(scope: TagScope, range: TimeRange, limit: number): Promise<string[]> {
    const n = Math.max(1, Math.min(Math.floor(limit), MAX_LIMIT));
    const window = [...rangeConditions(range, 'start_ns'), '1'].join(' AND ');
    if (scope === 'span') {
      // Keys whose value is a scalar or an array (a map's or bytes' keys are not searchable).
      const rows = await this.executor.query<{ k: string }>(
        `SELECT DISTINCT arrayJoin(arrayFilter((k, v) -> substring(v, 1, 1) IN ('s', 'i', 'd', 'b')
             OR substring(v, 1, 14) = 'j{"arrayValue"', attr_keys, attr_values)) AS k
         FROM ${this.tables.spans} WHERE ${window} ORDER BY k LIMIT ${n}`,
      );
      return rows.map((r) => decodeAttributeKey(r.k));
    }
    const names = new Set<string>();
    for (const resource of await this.resourcesIn(window))
      for (const a of resource.attributes) if (isSearchableValue(a.value)) names.add(a.key);
    return [...names].sort().slice(0, n);
  }

  /** The resources of spans matching `where` (SQL on `spans`). */
  private async resourcesIn(where: string): Promise<Span['resource'][]> {
    const rows = await this.executor.query<{ id: string }>(
      `SELECT DISTINCT toString(resource_id) AS id FROM ${this.tables.spans} WHERE ${where} LIMIT ${MAX_KNOWN_BODIES}`,
    );
    const bodies = await this.bodies(rows.map((r) => r.id));
    return rows.flatMap((r) => {
      const body = bodies.get(r.id);
      return body === undefined ? [] : [resourceFromBody(body)];
    });
  }

  async listTagValues(query: TagValuesQuery): Promise<TagValue[]> {
    const n = Math.max(1, Math.min(Math.floor(query.limit), MAX_LIMIT));
    const where = [
      ...rangeConditions(query, 'start_ns'),
      query.where === undefined ? '1' : predicateSql(simplifyPredicate(query.where)),
    ].join(' AND ');
    const field = query.field;
    if (field.kind === 'service' || field.kind === 'name') {
      const rows = await this.executor.query<{ v: string }>(
        `SELECT DISTINCT toString(${field.kind}) AS v FROM ${this.tables.spanIndex} WHERE ${where} ORDER BY v LIMIT ${n}`,
      );
      return rows.map((r) => ({ type: 'string', value: r.v }));
    }
    if (field.kind === 'statusMessage') {
      // The message is in spans only; the condition may name span_index's attributes.
      const rows = await this.executor.query<{ v: string }>(
        `SELECT DISTINCT status_message AS v FROM ${this.tables.spans}
         WHERE status_message != '' AND (trace_id, span_id) IN (SELECT trace_id, span_id FROM ${this.tables.spanIndexLocal} WHERE ${where})
         ORDER BY v LIMIT ${n}`,
      );
      return rows.map((r) => ({ type: 'string', value: r.v }));
    }
    if (field.kind !== 'attribute') return [];
    // span_index holds span and resource attributes in one array: the values of both scopes.
    const prefix = attributeKeyPrefix(field.key);
    const rows = await this.executor.query<{ t: string }>(
      `SELECT DISTINCT arrayJoin(arrayFilter(x -> substring(x, 1, ${Buffer.byteLength(prefix)}) = ${sqlString(prefix)}, attrs)) AS t
       FROM ${this.tables.spanIndex} WHERE ${where} LIMIT ${MAX_TAG_TEXTS}`,
    );
    return tagValuesOf(
      rows.map((r) => decodeAttribute(r.t).value),
      n,
    );
  }

  async listServices(): Promise<string[]> {
    const rows = await this.executor.query<{ service: string }>(
      `SELECT DISTINCT service FROM ${this.tables.operations} ORDER BY service`,
    );
    return rows.map((r) => r.service);
  }

  async listOperations(service: string): Promise<string[]> {
    const rows = await this.executor.query<{ name: string }>(
      `SELECT DISTINCT name FROM ${this.tables.operations} WHERE service = ${sqlString(service)} ORDER BY name`,
    );
    return rows.map((r) => r.name);
  }

  /**
   * Calls between services: each span in the window whose parent (anywhere in its trace) belongs
   * to another service, each counted once. Spans whose parent arrived in the same write carry the
   * parent's service (`span_index.parent_service`); only the others are joined with their parent,
   * where the trace lives (on its shard, with a cluster: the subqueries name the shard-local
   * tables).
   */
  async dependencies(range: TimeRange): Promise<DependencyEdge[]> {
    const window = rangeConditions(range, 'start_ns');
    const t = this.tables;
    type Row = { parent: string; child: string; calls: string; errors: string };
    const resolved = this.executor.query<Row>(
      `SELECT toString(parent_service) AS parent, toString(service) AS child, uniqExact(trace_id, span_id, start_ns) AS calls,
         uniqExactIf(trace_id, span_id, start_ns, status_code = 2) AS errors
       FROM ${t.spanIndex} WHERE ${["parent_service != ''", 'parent_service != service', ...window].join(' AND ')}
       GROUP BY parent, child`,
    );
    const unresolved = [
      `parent_span_id != ${ROOT}`,
      ...window,
      `(trace_id, span_id) IN (SELECT trace_id, span_id FROM ${t.spanIndexLocal} WHERE ${['parent_unresolved = 1', ...window].join(' AND ')})`,
    ].join(' AND ');
    const joined = this.executor.query<Row>(
      `SELECT parent, toString(service) AS child, uniqExact(trace_id, span_id, kind, start_ns) AS calls,
         uniqExactIf(trace_id, span_id, kind, start_ns, status_code = 2) AS errors
       FROM ${t.spans}
       ALL INNER JOIN (
         SELECT DISTINCT trace_id, span_id AS parent_span_id, toString(service) AS parent FROM ${t.spansLocal}
         WHERE trace_id IN (SELECT trace_id FROM ${t.spansLocal} WHERE ${unresolved})
       ) AS p USING (trace_id, parent_span_id)
       WHERE ${unresolved} AND parent != toString(service)
       GROUP BY parent, child`,
    );
    const edges = new Map<string, DependencyEdge>();
    for (const r of [...(await resolved), ...(await joined)]) {
      const key = `${r.parent}\n${r.child}`;
      const seen = edges.get(key);
      edges.set(key, {
        parent: r.parent,
        child: r.child,
        callCount: (seen?.callCount ?? 0) + Number(r.calls),
        errorCount: (seen?.errorCount ?? 0) + Number(r.errors),
      });
    }
    return [...edges.values()].sort((a, b) =>
      a.parent < b.parent ? -1 : a.parent > b.parent ? 1 : a.child < b.child ? -1 : a.child > b.child ? 1 : 0,
    );
  }

  async operationStats(service: string, range: TimeRange): Promise<OperationStats[]> {
    const where = [`service = ${sqlString(service)}`, ...rangeConditions(range, 'start_ns')];
    // Percentiles as DuckDB's quantile_disc: the value at rank ceil(q * n), ranks from 1.
    const rank = (q: number) => `d[toUInt64(greatest(1, intDiv(length(d) * ${q} + 99, 100)))]`;
    const rows = await this.executor.query<{
      op: string;
      n: string;
      errors: string;
      p50: string;
      p95: string;
      p99: string;
    }>(
      `SELECT op, n, errors, ${rank(50)} AS p50, ${rank(95)} AS p95, ${rank(99)} AS p99 FROM (
         SELECT toString(name) AS op, count() AS n, countIf(status_code = 2) AS errors,
           arraySort(groupArray(duration_ns)) AS d
         FROM ${this.tables.spanIndex} WHERE ${where.join(' AND ')} GROUP BY op
       ) ORDER BY op`,
    );
    return rows.map((r) => ({
      operation: r.op,
      spanCount: Number(r.n),
      errorCount: Number(r.errors),
      p50Nanos: BigInt(r.p50),
      p95Nanos: BigInt(r.p95),
      p99Nanos: BigInt(r.p99),
    }));
  }

  private startRetention(retentionNanos: bigint): void {
    const now = this.options.now ?? Date.now;
    const tick = () => {
      if (this.closed || this.retentionRunning) return;
      const cutoff = BigInt(now()) * 1_000_000n - retentionNanos;
      this.retentionRunning = this.deleteBefore(cutoff)
        .catch((error: unknown) => {
          if (!this.closed) this.logger.warn({ err: error }, 'ClickHouse retention failed; will try again');
        })
        .finally(() => {
          this.retentionRunning = undefined;
        });
    };
    this.retentionTimer = setInterval(tick, this.options.retentionIntervalMs ?? 60_000);
    this.retentionTimer.unref();
    tick();
  }

  /**
   * Drops every day partition that ends at or before `cutoffNanos`: whole days only (dropping a
   * partition is instant and frees its disk at once; deleting rows would rewrite the day), so
   * spans of the day the cutoff falls in stay until that day is over.
   *
   * With a cluster, each drop runs `ON CLUSTER`: ClickHouse queues it for every server, and each
   * carries it out, a server that is down once it returns. The store waits `ddlTimeoutSeconds`
   * (not the server's 180 s) for all of them; when some server has not answered by then, it stops
   * this run with a warning and leaves the day listed, so that the next run issues the day's drops
   * again (a drop of a partition already gone does nothing) until every server has carried them
   * out: ClickHouse 18.16 does not always carry out a queued drop on a shard whose leader replica
   * died, so a run is only done when nobody is missing. A replica or shard down so holds
   * retention back, never the node's shutdown: closing the store stops the wait at once.
   */
  async deleteBefore(cutoffNanos: bigint): Promise<void> {
    if (cutoffNanos <= 0n) return;
    const lastWholeDay = cutoffNanos / NANOS_PER_DAY; // days < this end at or before the cutoff
    const rows = await this.executor.query<{ day: string }>(
      `SELECT DISTINCT day FROM ${this.tables.operations} WHERE day < ${sqlUInt64(lastWholeDay)} ORDER BY day`,
    );
    const t = this.tables;
    const on = t.cluster ? ` ON CLUSTER ${t.cluster}` : '';
    const local = t.cluster ? '_local' : '';
    const settings = t.cluster
      ? { distributed_ddl_task_timeout: this.options.ddlTimeoutSeconds ?? DEFAULT_DDL_TIMEOUT_SECONDS }
      : undefined;
    for (const { day } of rows) {
      const partition = sqlUInt64(BigInt(day));
      // Operations last: a day stays listed until its spans are gone, so a failure is retried.
      for (const table of ['spans', 'span_index', 'traces', 'attr_index', 'attr_traces', 'operations']) {
        if (this.closed) return;
        const sql = `ALTER TABLE ${t.database}.${table}${local}${on} DROP PARTITION ${partition}`;
        try {
          await this.executor.command(sql, settings, this.closing.signal);
        } catch (error) {
          if ((error as { code?: unknown }).code !== DDL_TIMEOUT_CODE) throw error;
          this.logger.warn(
            { day: Number(day), table, err: error },
            'retention: a server of the cluster has not dropped the day yet (down or slow); the next run drops it again',
          );
          return;
        }
      }
      this.logger.info({ day: Number(day) }, 'retention: dropped a day of spans');
    }
  }

  /** Bytes the store's tables take on disk (of the server it is connected to). */
  async databaseBytes(): Promise<number> {
    const [row] = await this.executor.query<{ b: string }>(
      `SELECT sum(bytes_on_disk) AS b FROM system.parts WHERE database = ${sqlString(this.tables.database)} AND active`,
    );
    return Number(row?.b ?? 0);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the ClickHouse store is closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.closing.abort();
    await this.retentionRunning;
    await this.executor.close();
  }
}

/** The later of two instants (bigints, which `Math.max` does not take). */
const later = (a: bigint, b: bigint) => (a > b ? a : b);
/** The earlier of two instants. */
const earlier = (a: bigint, b: bigint) => (a < b ? a : b);

/** Rows grouped by trace id (hex), in order of first appearance. */
function groupByTrace(rows: readonly StoredSpanRow[]): Map<string, StoredSpanRow[]> {
  const byTrace = new Map<string, StoredSpanRow[]>();
  for (const row of rows) {
    const group = byTrace.get(row.trace_id_hex);
    if (group) group.push(row);
    else byTrace.set(row.trace_id_hex, [row]);
  }
  return byTrace;
}

const between = (from: bigint, to: bigint) => `start_ns >= ${sqlUInt64(from)} AND start_ns < ${sqlUInt64(to)}`;

/** The trace ids starting with a 32-bit prefix, as a range of the sorting key. */
function prefixRange(p: number): string {
  const hex = p.toString(16).padStart(8, '0');
  return `(trace_id >= ${idLiteral(`${hex}${'0'.repeat(24)}`)} AND trace_id <= ${idLiteral(`${hex}${'f'.repeat(24)}`)})`;
}

const SQL_OPS: Record<SpanCompareOp, string> = { '=': '=', '!=': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/**
 * A span predicate as a condition on `span_index` rows (or `spans` rows): exact where the table
 * holds the field, true (`1`) where it does not (span kind, status message, non-equality attribute
 * conditions, every attribute condition on `spans`) or cannot tell span from resource attributes
 * (`span_index` holds both in one array).
 */
export function predicateSql(p: SpanPredicate, table: 'index' | 'spans' = 'index'): string {
  switch (p.kind) {
    case 'all':
      return '1';
    case 'and':
    case 'or':
      return p.args.length === 0
        ? p.kind === 'and'
          ? '1'
          : '0'
        : `(${p.args.map((a) => predicateSql(a, table)).join(p.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'compare':
      return compareSql(p.field, p.op, p.value, table);
  }
}

function compareSql(field: SpanField, op: SpanCompareOp, value: SpanValue, table: 'index' | 'spans'): string {
  switch (field.kind) {
    case 'name':
      return typeof value === 'string' ? `name ${SQL_OPS[op]} ${sqlString(value)}` : '0';
    case 'service': {
      // A resource whose service.name is "", not a string or an array is stored as unknown_service,
      // which says nothing of what TraceQL compares: its spans stay candidates where they may match.
      const exact = typeof value === 'string' ? `service ${SQL_OPS[op]} ${sqlString(value)}` : '0';
      const odd = oddServiceNameTexts(op, value);
      if (odd.texts.length === 0 && odd.prefixes.length === 0) return exact;
      const matches =
        table === 'spans'
          ? ['1']
          : [
              ...(odd.texts.length > 0 ? [`has(attrs, ${sqlString(odd.texts[0])})`] : []),
              ...odd.prefixes.map(
                (prefix) =>
                  `arrayExists(x -> substring(x, 1, ${Buffer.byteLength(prefix)}) = ${sqlString(prefix)}, attrs)`,
              ),
            ];
      return `(${exact} OR (service = ${sqlString(UNKNOWN_SERVICE)} AND (${matches.join(' OR ')})))`;
    }
    case 'status':
      if (typeof value !== 'bigint') return '0';
      return op === '=' || op === '!=' ? `status_code ${SQL_OPS[op]} ${sqlUInt64(clampUInt64(value))}` : '1';
    case 'duration': {
      if (typeof value === 'bigint') {
        if (value < 0n) return op === '>' || op === '>=' || op === '!=' ? '1' : '0';
        return `duration_ns ${SQL_OPS[op]} ${sqlUInt64(clampUInt64(value))}`;
      }
      if (typeof value === 'number' && Number.isFinite(value)) return `toFloat64(duration_ns) ${SQL_OPS[op]} ${value}`;
      return typeof value === 'number' ? '1' : '0';
    }
    case 'attribute': {
      if (op !== '=' || table === 'spans') return '1';
      const texts = attributeEqualityTexts(field.key, value);
      const json = jsonValuePrefix(field.key);
      const prefixBytes = Buffer.byteLength(json);
      const arrays = `arrayExists(x -> substring(x, 1, ${prefixBytes}) = ${sqlString(json)}, attrs)`;
      return texts.length === 0 ? arrays : `(hasAny(attrs, ${sqlStringArray(texts)}) OR ${arrays})`;
    }
    default:
      return '1';
  }
}

function rangeConditions(range: TimeRange, column: string): string[] {
  const out: string[] = [];
  if (range.startUnixNano !== undefined) out.push(`${column} >= ${sqlUInt64(clampUInt64(range.startUnixNano))}`);
  if (range.endUnixNano !== undefined) out.push(`${column} < ${sqlUInt64(clampUInt64(range.endUnixNano))}`);
  return out;
}
