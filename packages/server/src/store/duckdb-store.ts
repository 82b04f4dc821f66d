import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  type Span,
  type SpanEvent,
  type SpanLink,
  serviceNameOf,
  unixNanos,
} from '@ariadne/core';
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
  LIST,
  listValue,
  UBIGINT,
  UHUGEINT,
  UINTEGER,
  UTINYINT,
  VARCHAR,
} from '@duckdb/node-api';
import { type Logger, silentLogger } from '../logger.ts';
import type {
  DependencyEdge,
  OperationStats,
  SpanStore,
  TimeRange,
  TraceQuery,
  TraceSummary,
  WriteProgress,
} from '../query/span-store.ts';
import {
  ATTR_SEP,
  attributeFilterCandidates,
  attributesFromJsonText,
  attributeValueText,
  decodeAttribute,
} from './attribute-codec.ts';
import { hashAttribute, minuteOf, minutesToRanges, type NanoRange } from './attribute-index.ts';
import { AttributeSlots, attributesFromSlots } from './attribute-slots.ts';
import {
  ATTR_INDEX_KINDS,
  BatchPreparer,
  type PreparedBatch,
  type PreparerState,
  SPAN_COLUMN_KINDS,
  TRACE_PART_KINDS,
} from './batch-preparer.ts';
import type { PreparedChunk } from './chunk-builder.ts';
import { appendPreparedChunks, checkColumnKinds, duckdbTypeOf } from './chunk-writer.ts';
import { migrateSchema, SLOT_COLUMNS } from './duckdb-schema.ts';
import { eventsFromText, linksFromText, resourceFromBody, scopeFromBody } from './span-text.ts';

/** Options for the embedded DuckDB store. */
export interface DuckDbStoreOptions {
  /** Directory holding the database file; created if missing. */
  readonly dataDir: string;
  /** DuckDB memory limit, e.g. `1GB`. Defaults to DuckDB's own (80 % of RAM). */
  readonly memoryLimit?: string;
  /** Worker threads for DuckDB; defaults to the number of cores. */
  readonly threads?: number;
  /**
   * Keep spans this long (by start time); older ones are deleted continuously, a slice at a time
   * between write batches, and their space is reused. Unset: keep everything.
   */
  readonly retentionNanos?: bigint;
  /** How often retention runs, in milliseconds (default 60 s). */
  readonly retentionIntervalMs?: number;
  /** An attribute value seen in this many write batches stops being indexed (default 64). */
  readonly attributeIndexThreshold?: number;
  /** Width of the newest window a search reads first, before widening (default 10 minutes). */
  readonly firstSearchWindowNanos?: bigint;
  /** Where the store reports what it repaired or migrated (default: nowhere). */
  readonly logger?: Logger;
}

/**
 * The filled slot values of a row, in slot order, joined by chr(31) (never inside an encoded
 * attribute); the layout says which slots they are (attribute-slots.ts). One concat_ws is about
 * twice as fast as a chain of `||` over the slot columns.
 */
function slotTextSql(slotCount: number): string {
  if (slotCount === 0) return "''";
  return `coalesce(concat_ws(chr(31), ${SLOT_COLUMNS.slice(0, slotCount).join(', ')}), '')`;
}

/** What getTrace reads of each span; the indices below follow this order. */
function spanReadColumns(slotCount: number): string {
  return `span_id, parent_span_id, start_ns, duration_ns, service, name, kind, status_code,
  coalesce(status_message, ''), coalesce(trace_state, ''), flags, coalesce(attr_layout, ''), dropped_attributes,
  coalesce(events, ''), dropped_events, coalesce(links, ''), dropped_links, resource_no, scope_id,
  array_to_string(attrs_rest, chr(31)) AS attrs_rest, ${slotTextSql(slotCount)} AS attr_slots`;
}

/**
 * Reorders the rows of `columns` (in place) as \`ORDER BY start_ns, span_id, rowid\` would, given
 * the indices of those three columns; a no-op when they are in order already.
 */
function inTraceOrder(columns: unknown[][], startAt: number, spanIdAt: number, rowIdAt: number): void {
  const start = columns[startAt] as bigint[];
  const spanId = columns[spanIdAt] as bigint[];
  const rowId = columns[rowIdAt] as bigint[];
  const before = (a: number, b: number) =>
    start[a] !== start[b] ? start[a] < start[b] : spanId[a] !== spanId[b] ? spanId[a] < spanId[b] : rowId[a] < rowId[b];
  let sorted = true;
  for (let i = 1; i < start.length && sorted; i++) if (before(i, i - 1)) sorted = false;
  if (sorted) return;
  const order = Array.from({ length: start.length }, (_, i) => i);
  order.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  for (let c = 0; c < columns.length; c++) {
    const column = columns[c];
    columns[c] = order.map((i) => column[i]);
  }
}

/** Splits rows of `fields` strings joined by chr(28) into columns; undefined if a row has more (a value held chr(28)). */
function splitPacked(packed: readonly string[], fields: number): string[][] | undefined {
  const columns: string[][] = Array.from({ length: fields }, () => new Array(packed.length));
  for (let row = 0; row < packed.length; row++) {
    const parts = packed[row].split('\x1c');
    if (parts.length !== fields) return undefined;
    for (let f = 0; f < fields; f++) columns[f][row] = parts[f];
  }
  return columns;
}

/**
 * The columns of spanReadColumns from the number columns (in readTraceColumns' order) and the
 * string columns (in stringColumns' order).
 */
function assembleTraceColumns(numbers: unknown[][], strings: string[][]): unknown[][] {
  const [service, name, statusMessage, traceState, layout, events, links, rest, slotText] = strings;
  const [spanId, parentId, startNs, durationNs, kind, status, flags, droppedA, droppedE, droppedL, res, scope] =
    numbers;
  return [
    spanId,
    parentId,
    startNs,
    durationNs,
    service,
    name,
    kind,
    status,
    statusMessage,
    traceState,
    flags,
    layout,
    droppedA,
    events,
    droppedE,
    links,
    droppedL,
    res,
    scope,
    rest,
    slotText,
  ];
}

/** Column types of the tables writes append to, from the kinds the preparer builds (checked at open). */
const SPAN_COLUMN_TYPES = SPAN_COLUMN_KINDS.map(duckdbTypeOf);
const TRACE_PART_TYPES = TRACE_PART_KINDS.map(duckdbTypeOf);
const ATTR_INDEX_TYPES = ATTR_INDEX_KINDS.map(duckdbTypeOf);
/** Chunks (of 2,048 rows) appended between two turns of the event loop in a write. */
const YIELD_EVERY_CHUNKS = 4;
const DEFAULT_ATTRIBUTE_INDEX_THRESHOLD = 64;

/** The string columns of a span, packed into one per row by readTraceColumns, in assembleTraceColumns' order. */
function stringColumns(slotCount: number): string[] {
  return [
    'service',
    'name',
    "coalesce(status_message, '')",
    "coalesce(trace_state, '')",
    "coalesce(attr_layout, '')",
    "coalesce(events, '')",
    "coalesce(links, '')",
    'array_to_string(attrs_rest, chr(31))',
    slotTextSql(slotCount),
  ];
}

const NANOS_PER_MINUTE = 60_000_000_000n;
const DEFAULT_FIRST_WINDOW = 10n * NANOS_PER_MINUTE;
/** How much wider each further search window is than the one before. */
const WINDOW_GROWTH = 6n;
/** Longest slice of data one retention DELETE removes, so writes wait at most for one slice. */
const RETENTION_SLICE = 60n * NANOS_PER_MINUTE;

function hexToBigInt(hex: string): bigint {
  return hex.length === 0 ? 0n : BigInt(`0x${hex}`);
}

function bigIntToHex(value: bigint, length: number): string {
  return value === 0n && length === 16 ? '' : value.toString(16).padStart(length, '0');
}

interface StoredResource {
  readonly resource: Resource;
  readonly serviceName: string;
}

/**
 * A prepared batch was prepared from a state the store has moved past (another write came in
 * between, or the batch before it failed): prepare it again from `preparerState()`.
 */
export class StalePreparedBatchError extends Error {
  override readonly name = 'StalePreparedBatchError';
}

/** A SQL fragment with its bound parameters. */
class Params {
  readonly values: DuckDBValue[] = [];
  readonly types: DuckDBType[] = [];
  add(value: DuckDBValue, type: DuckDBType): string {
    this.values.push(value);
    this.types.push(type);
    return `$${this.values.length}`;
  }
}

/**
 * Gets rid of an appender whose append or flush failed. DuckDB keeps the rows of a failed flush,
 * and closing the appender (or destroying it, which the garbage collector does later) appends
 * them again; without dropping them first, the connection's next write failed with "Current
 * transaction is aborted" in 6 of 8 runs of duckdb-store.test.ts ("after a write that fails inside
 * its transaction"). Closing cannot fail the caller: the first error is the one to report.
 */
function discardAppender(appender: DuckDBAppender): void {
  try {
    appender.clear();
  } catch {}
  try {
    appender.closeSync();
  } catch {}
}

/**
 * The embedded default store: one DuckDB database file in the data directory.
 *
 * Layout (figures in BENCHMARKS.md, "Store at scale"):
 * - `spans`: one row per span, written in arrival order (so, roughly, time order: row groups
 *   have narrow `start_ns` zone maps) and sorted by trace inside each batch. Attributes are a list
 *   of `key RS type value` strings (attribute-codec.ts). `parent_service` is filled at ingest when
 *   the parent is in the same batch, so dependencies need no self-join.
 * - `trace_parts`: one row per trace per batch with its time range: trace by id (and the summaries
 *   of search results) find the time range here and read only the row groups that hold the trace.
 * - `attr_index`, `attr_frequent`: which minutes hold an attribute value (attribute-index.ts).
 * - `operations`: distinct (service, span name) pairs, for the service and operation lists.
 * - `resources`, `scopes`: stored once, found by a content hash; spans refer to a resource by a
 *   small sequential number (packs into a byte) and to a scope by its hash (rarely varies).
 * - Retention (`retentionNanos`) deletes old spans a slice at a time; see `deleteBefore`.
 *
 * Not handled: the `operations` list keeps pairs whose spans retention has deleted.
 *
 * Searches read the newest time window first and widen it only while fewer traces than the limit
 * were found. Writes are serialised on one connection; reads use another, so queries see only
 * committed batches.
 */
export class DuckDbSpanStore implements SpanStore {
  /** Resources by their small number (spans refer to resources by number: it packs into a few bits). */
  private readonly resourceCache = new Map<number, StoredResource>();
  /** Prepared statements of the read connection by SQL text; bounded, since searches vary their SQL. */
  private readonly prepared = new Map<string, DuckDBPreparedStatement>();
  private readonly scopeCache = new Map<bigint, InstrumentationScope>();
  /** Which attribute keys have their own column (attribute-slots.ts), as committed: for reads. */
  private slots = new AttributeSlots();
  /** Prepares the batches of `writeSpans`; rebuilt from the database when it may be stale. */
  private localPreparer: BatchPreparer | undefined;
  /** Batches committed since open: a prepared batch must be the next one (`PreparedBatch.writeNo`). */
  private writes = 0;
  /** Write progress committed, by source (counters as `source.name`). */
  private readonly committed = new Map<string, bigint>();
  /** Write progress the database file holds without its WAL (as of the last checkpoint). */
  private checkpointed = new Map<string, bigint>();
  private closed = false;
  private writeChain: Promise<unknown> = Promise.resolve();
  private readChain: Promise<unknown> = Promise.resolve();
  private retentionTimer: NodeJS.Timeout | undefined;
  private retentionRunning: Promise<void> | undefined;
  /** Earliest and latest span start stored (undefined while empty). */
  private minStartNs: bigint | undefined;
  private maxStartNs: bigint | undefined;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    /** Attribute hashes marked frequent (searched by scanning); the preparer decides which. */
    private readonly frequent: Set<number>,
    private readonly options: DuckDbStoreOptions,
    private readonly file: string,
  ) {}

  /** Opens (or creates) the database in `options.dataDir`. */
  static async open(options: DuckDbStoreOptions): Promise<DuckDbSpanStore> {
    mkdirSync(options.dataDir, { recursive: true });
    const config: Record<string, string> = {};
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    if (options.threads) config.threads = String(options.threads);
    // The store checkpoints itself (`checkpointIfDue`, at the same WAL size), so that it knows
    // which write progress the database file holds without its WAL.
    config.checkpoint_threshold = '1TB';
    const file = join(options.dataDir, 'ariadne.duckdb');
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file, config);
    } catch (error) {
      throw explainOpenError(file, error as Error);
    }
    const writer = await instance.connect();
    try {
      await migrateSchema(writer, file, options.logger ?? silentLogger);
      // Whatever DuckDB replayed from its WAL goes into the file now, from this connection (a
      // checkpoint without a client context is what DuckDB issue #23788 gets wrong).
      await writer.run('CHECKPOINT');
      const frequentRows = columnsOf(await writer.runAndReadAll('SELECT h FROM attr_frequent'))[0] as number[];
      const frequent = new Set(frequentRows);
      const reader = await instance.connect();
      const store = new DuckDbSpanStore(instance, writer, reader, frequent, options, file);
      const bounds = (
        await writer.runAndReadAll('SELECT min(start_ns) AS lo, max(last_start_ns) AS hi FROM trace_parts')
      ).getRowObjects()[0];
      store.minStartNs = (bounds.lo as bigint | null) ?? undefined;
      store.maxStartNs = (bounds.hi as bigint | null) ?? undefined;
      const slotRows = columnsOf(await writer.runAndReadAll('SELECT key, slot FROM attr_slots ORDER BY slot'));
      store.slots = new AttributeSlots(slotRows[0].map((key, i) => [key as string, Number(slotRows[1][i])] as const));
      for (const [table, kinds] of [
        ['spans', SPAN_COLUMN_KINDS],
        ['trace_parts', TRACE_PART_KINDS],
        ['attr_index', ATTR_INDEX_KINDS],
      ] as const) {
        const appender = await writer.createAppender(table);
        try {
          checkColumnKinds(appender, kinds, table);
        } finally {
          appender.closeSync();
        }
      }
      const progressRows = columnsOf(await writer.runAndReadAll('SELECT source, position FROM write_progress'));
      for (let i = 0; i < progressRows[0].length; i++)
        store.committed.set(progressRows[0][i] as string, progressRows[1][i] as bigint);
      store.checkpointed = new Map(store.committed);
      if (options.retentionNanos !== undefined) store.startRetention(options.retentionNanos);
      return store;
    } catch (error) {
      writer.closeSync();
      instance.closeSync();
      throw error;
    }
  }

  async writeSpans(spans: readonly Span[], progress?: WriteProgress): Promise<void> {
    if (spans.length === 0 && progress === undefined) return;
    return this.onWriter(() => this.writeBatch(spans, progress));
  }

  async readProgress(source: string): Promise<bigint | undefined> {
    const [positions] = await this.columns(
      'SELECT position FROM write_progress WHERE source = $1',
      [source],
      [VARCHAR],
    );
    return positions.length === 0 ? undefined : (positions[0] as bigint);
  }

  /**
   * Up to `limit` distinct trace ids (32 lowercase hex digits) greater than `after`, ascending:
   * a stable order to walk every trace in (`ariadne copy`). Each call scans `trace_parts`, whose
   * fixed-width columns scan quickly; there is no index to seek to `after`.
   */
  async listTraceIds(after: string | undefined, limit: number): Promise<string[]> {
    const n = BigInt(Math.max(0, Math.floor(limit)));
    const [ids] =
      after === undefined
        ? await this.columns('SELECT DISTINCT trace_id FROM trace_parts ORDER BY trace_id LIMIT $1', [n], [UBIGINT])
        : await this.columns(
            'SELECT DISTINCT trace_id FROM trace_parts WHERE trace_id > $1 ORDER BY trace_id LIMIT $2',
            [hexToBigInt(after), n],
            [UHUGEINT, UBIGINT],
          );
    return ids.map((id) => bigIntToHex(id as bigint, 32));
  }

  /** The number of distinct traces stored. */
  async countTraces(): Promise<number> {
    const [counts] = await this.columns('SELECT count(DISTINCT trace_id) FROM trace_parts');
    return Number(counts[0]);
  }

  /** Runs `fn` after every write queued before it; writes and maintenance never overlap. */
  private onWriter<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeChain.then(fn);
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes a batch prepared elsewhere (`BatchPreparer`, e.g. on a worker thread). The preparer
   * must have started from this store's `preparerState()` and prepared every batch written since,
   * in order; batches must then be written in the order they were prepared. A batch prepared for
   * another place in the store's history (`writeNo`) is refused with `StalePreparedBatchError`.
   */
  async writePrepared(batch: PreparedBatch, progress?: WriteProgress): Promise<void> {
    return this.onWriter(async () => {
      // The store's own preparer has not seen this batch: it starts afresh at its next write.
      this.localPreparer = undefined;
      await this.applyBatch(batch, progress);
    });
  }

  /**
   * What a `BatchPreparer` starts from: the assignments committed so far. Taken after every write
   * queued before the call.
   */
  preparerState(): Promise<PreparerState> {
    return this.onWriter(() => this.readPreparerState());
  }

  private async readPreparerState(): Promise<PreparerState> {
    this.assertOpen();
    const db = this.writer;
    const slots = columnsOf(await db.runAndReadAll('SELECT key, slot FROM attr_slots ORDER BY slot'));
    const resources = columnsOf(await db.runAndReadAll('SELECT id, no FROM resources'));
    const scopes = columnsOf(await db.runAndReadAll('SELECT id FROM scopes'));
    const ops = columnsOf(await db.runAndReadAll('SELECT service, name FROM operations'));
    const frequent = columnsOf(await db.runAndReadAll('SELECT h FROM attr_frequent'));
    return {
      slots: slots[0].map((key, i) => [key as string, Number(slots[1][i])] as const),
      resources: resources[0].map((id, i) => [id as bigint, resources[1][i] as number] as const),
      scopeIds: scopes[0] as bigint[],
      operations: ops[0].map((service, i) => [service as string, ops[1][i] as string] as const),
      frequent: frequent[0] as number[],
      attributeIndexThreshold: this.options.attributeIndexThreshold ?? DEFAULT_ATTRIBUTE_INDEX_THRESHOLD,
      writes: this.writes,
    };
  }

  private async writeBatch(spans: readonly Span[], progress: WriteProgress | undefined): Promise<void> {
    this.localPreparer ??= new BatchPreparer(await this.readPreparerState());
    const batch = this.localPreparer.prepare(spans);
    try {
      await this.applyBatch(batch, progress);
    } catch (error) {
      // The preparer assumed the batch would commit; it starts afresh from what did.
      this.localPreparer = undefined;
      throw error;
    }
  }

  /** Appends prepared chunks to a table, letting the event loop run every few chunks. */
  private async appendChunks(table: string, types: readonly DuckDBType[], chunks: readonly PreparedChunk[]) {
    if (chunks.length === 0) return;
    const appender = await this.writer.createAppender(table);
    try {
      for (let i = 0; i < chunks.length; i++) {
        // Queries keep answering while a large batch (a replay, a big request) is appended.
        if (i > 0 && i % YIELD_EVERY_CHUNKS === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        appendPreparedChunks(appender, types, [chunks[i]]);
      }
      appender.flushSync();
    } catch (error) {
      discardAppender(appender);
      throw error;
    }
    appender.closeSync();
  }

  private async applyBatch(batch: PreparedBatch, progress: WriteProgress | undefined): Promise<void> {
    this.assertOpen();
    if (batch.writeNo !== this.writes + 1) {
      throw new StalePreparedBatchError(
        `prepared batch is stale: it was prepared as write ${batch.writeNo}, the store's next write is ${this.writes + 1}`,
      );
    }
    const db = this.writer;
    await db.run('BEGIN TRANSACTION');
    try {
      await this.appendChunks('spans', SPAN_COLUMN_TYPES, batch.spans);
      await this.appendChunks('trace_parts', TRACE_PART_TYPES, batch.traceParts);
      await this.appendChunks('attr_index', ATTR_INDEX_TYPES, batch.attrIndex);
      if (batch.frequentMarks.length > 0) {
        const marks = await db.createAppender('attr_frequent');
        try {
          for (const h of batch.frequentMarks) {
            marks.appendUInteger(h);
            marks.endRow();
          }
          marks.flushSync();
        } catch (error) {
          discardAppender(marks);
          throw error;
        }
        marks.closeSync();
      }
      for (const r of batch.resources) {
        await db.run(
          `INSERT INTO resources VALUES ($1, $2, $3, CASE WHEN $4 = '' THEN []::VARCHAR[] ELSE string_split($4, chr(31)) END, $5)`,
          [r.id, r.no, r.service, r.attributes, r.body],
          [UBIGINT, UINTEGER, VARCHAR, VARCHAR, VARCHAR],
        );
      }
      for (const scope of batch.scopes) {
        await db.run(
          'INSERT INTO scopes SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM scopes WHERE id = $1)',
          [scope.id, scope.body],
          [UBIGINT, VARCHAR],
        );
      }
      if (batch.slotKeys.length > 0) {
        await db.run(
          'INSERT INTO attr_slots SELECT unnest($1), unnest($2)',
          [listValue([...batch.slotKeys]), listValue(batch.slotKeys.map((_, i) => batch.firstSlot + i))],
          [LIST(VARCHAR), LIST(UTINYINT)],
        );
      }
      if (batch.operations.length > 0) {
        await db.run(
          `INSERT INTO operations SELECT DISTINCT n.service, n.name FROM (SELECT unnest($1) AS service, unnest($2) AS name) n
             WHERE NOT EXISTS (SELECT 1 FROM operations o WHERE o.service = n.service AND o.name = n.name)`,
          [listValue(batch.operations.map((p) => p[0])), listValue(batch.operations.map((p) => p[1]))],
          [LIST(VARCHAR), LIST(VARCHAR)],
        );
      }
      if (progress !== undefined) {
        const sources = [progress.source];
        const positions = [progress.position];
        for (const [name, value] of Object.entries(progress.counters ?? {})) {
          sources.push(`${progress.source}.${name}`);
          positions.push(value);
        }
        await db.run(
          'DELETE FROM write_progress WHERE list_contains($1, source)',
          [listValue(sources)],
          [LIST(VARCHAR)],
        );
        await db.run(
          'INSERT INTO write_progress SELECT unnest($1), unnest($2)',
          [listValue(sources), listValue(positions)],
          [LIST(VARCHAR), LIST(UBIGINT)],
        );
      }
      await db.run('COMMIT');
    } catch (error) {
      await db.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
    this.writes++;
    if (progress !== undefined) {
      this.committed.set(progress.source, progress.position);
      for (const [name, value] of Object.entries(progress.counters ?? {}))
        this.committed.set(`${progress.source}.${name}`, value);
    }
    this.slots.extend(batch.slotKeys, batch.firstSlot);
    for (const h of batch.frequentMarks) this.frequent.add(h);
    await this.checkpointIfDue().catch((error) =>
      (this.options.logger ?? silentLogger).warn({ err: error }, 'store: checkpoint failed; the WAL keeps the writes'),
    );
    const { minStartNs: batchMin, maxStartNs: batchMax } = batch;
    if (batchMin !== undefined && (this.minStartNs === undefined || batchMin < this.minStartNs)) {
      this.minStartNs = batchMin;
    }
    if (batchMax !== undefined && (this.maxStartNs === undefined || batchMax > this.maxStartNs)) {
      this.maxStartNs = batchMax;
    }
  }

  /** Runs one read at a time on the read connection. */
  private read<T>(fn: (db: DuckDBConnection) => Promise<T>): Promise<T> {
    this.assertOpen();
    const run = this.readChain.then(() => fn(this.reader));
    this.readChain = run.catch(() => undefined);
    return run;
  }

  private async rows(sql: string, values: DuckDBValue[] = [], types: DuckDBType[] = []) {
    return this.read(async () => (await this.runPrepared(sql, values, types)).getRowObjects());
  }

  private async columns(sql: string, values: DuckDBValue[] = [], types: DuckDBType[] = []) {
    return this.read(async () => columnsOf(await this.runPrepared(sql, values, types)));
  }

  private dropPrepared(): void {
    for (const statement of this.prepared.values()) statement.destroySync();
    this.prepared.clear();
  }

  /**
   * Runs a parameterised read on the read connection through a cached prepared statement:
   * point lookups such as a trace by id are a few milliseconds, and parsing and planning the
   * same SQL again each time was a measurable share of that. Call only inside `read`.
   */
  private async runPrepared(sql: string, values: DuckDBValue[], types: DuckDBType[]): Promise<DuckDBResultReader> {
    let statement = this.prepared.get(sql);
    if (statement === undefined) {
      if (this.prepared.size >= 64) this.dropPrepared();
      statement = await this.reader.prepare(sql);
      this.prepared.set(sql, statement);
    }
    statement.bind(values, types);
    return statement.runAndReadAll();
  }

  async getTrace(traceId: string, range: TimeRange = {}): Promise<Span[]> {
    const id = hexToBigInt(traceId);
    // The trace's time range first (a small table), so the span scan reads only the row groups
    // whose start_ns zone maps overlap it, wherever in the week the trace is.
    const [lo, hi] = await this.columns(
      'SELECT min(start_ns), max(last_start_ns) FROM trace_parts WHERE trace_id = $1',
      [id],
      [UHUGEINT],
    );
    if (lo[0] === null) return [];
    let start = lo[0] as bigint;
    let endExclusive = (hi[0] as bigint) + 1n;
    if (range.startUnixNano !== undefined && range.startUnixNano > start) start = range.startUnixNano;
    if (range.endUnixNano !== undefined && range.endUnixNano < endExclusive) endExclusive = range.endUnixNano;
    if (start >= endExclusive) return [];
    const c = await this.readTraceColumns(id, clampU64(start), clampU64(endExclusive));
    // c: the columns of spanReadColumns, in order.
    const n = c[0].length;
    if (n === 0) return [];
    await this.loadResourcesAndScopes(c[17] as number[], c[18] as bigint[]);
    const hexTraceId = bigIntToHex(id, 32);
    // Most attribute strings repeat across the spans of a trace: decode each distinct one once
    // (the decoded values are immutable, so spans may share them).
    const decoded = new Map<string, KeyValue>();
    const attribute = (text: string): KeyValue => {
      let kv = decoded.get(text);
      if (kv === undefined) {
        kv = decodeAttribute(text);
        decoded.set(text, kv);
      }
      return kv;
    };
    const prefixes = this.slots.prefixes();
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
    const spans: Span[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const stored = this.resourceCache.get(c[17][i] as number);
      const scope = this.scopeCache.get(c[18][i] as bigint);
      if (!stored || !scope) throw new Error('corrupt store: span references a missing resource or scope');
      const begin = c[2][i] as bigint;
      const events = c[13][i] as string;
      const links = c[15][i] as string;
      spans[i] = {
        traceId: hexTraceId,
        spanId: (c[0][i] as bigint).toString(16).padStart(16, '0'),
        parentSpanId: bigIntToHex(c[1][i] as bigint, 16),
        traceState: c[9][i] as string,
        flags: Number(c[10][i]),
        name: c[5][i] as string,
        kind: Number(c[6][i]),
        startTimeUnixNano: unixNanos(begin),
        endTimeUnixNano: unixNanos(begin + (c[3][i] as bigint)),
        attributes: attributesFromSlots(
          c[11][i] as string,
          c[20][i] as string,
          c[19][i] as string,
          slotAttribute,
          attribute,
          layoutPlans,
        ),
        droppedAttributesCount: Number(c[12][i]),
        events: events === '' ? [] : eventsFromText(events),
        droppedEventsCount: Number(c[14][i]),
        links: links === '' ? [] : linksFromText(links),
        droppedLinksCount: Number(c[16][i]),
        status: { code: Number(c[7][i]), message: c[8][i] as string },
        serviceName: c[4][i] as string,
        resource: stored.resource,
        scope,
      };
    }
    return spans;
  }

  /**
   * The columns of spanReadColumns for one trace's spans in `[start, end)`, ordered by start.
   * Converting strings one by one is most of a read, so a row's strings come packed into one
   * (one conversion) and are split here; a value holding the separator shows as a row with too
   * many fields, and then the plain query is used. The rows come unordered (sorting in DuckDB
   * moved every row's whole payload) and are put in order here, usually without a sort: each
   * batch is stored sorted by trace and start. Measured against string_agg of each column (one
   * string per column): as fast or faster from 20 to 100,000 spans (BENCHMARKS.md).
   */
  private readTraceColumns(id: bigint, start: bigint, end: bigint): Promise<unknown[][]> {
    const values = [id, start, end];
    const types = [UHUGEINT, UBIGINT, UBIGINT];
    const where = 'WHERE trace_id = $1 AND start_ns >= $2 AND start_ns < $3';
    const slotCount = this.slots.count;
    const strings = stringColumns(slotCount);
    return this.read(async () => {
      const packed = columnsOf(
        await this.runPrepared(
          `SELECT span_id, parent_span_id, start_ns, duration_ns, kind, status_code, flags, dropped_attributes,
             dropped_events, dropped_links, resource_no, scope_id, concat_ws(chr(28), ${strings.join(', ')}), rowid
           FROM spans ${where}`,
          values,
          types,
        ),
      );
      inTraceOrder(packed, 2, 0, 13);
      const split = splitPacked(packed[12] as string[], strings.length);
      if (split !== undefined) return assembleTraceColumns(packed.slice(0, 12), split);
      return columnsOf(
        await this.runPrepared(
          `SELECT ${spanReadColumns(slotCount)} FROM spans ${where} ORDER BY start_ns, span_id, rowid`,
          values,
          types,
        ),
      );
    });
  }

  private async loadResourcesAndScopes(resourceNos: number[], scopeIds: bigint[]): Promise<void> {
    const missingResources = [...new Set(resourceNos)].filter((no) => !this.resourceCache.has(no));
    if (missingResources.length > 0) {
      const rows = await this.rows(
        'SELECT no, body FROM resources WHERE list_contains($1, no)',
        [listValue(missingResources)],
        [LIST(UINTEGER)],
      );
      for (const row of rows) {
        const resource = resourceFromBody(row.body as string);
        this.resourceCache.set(row.no as number, { resource, serviceName: serviceNameOf(resource) });
      }
    }
    const missingScopes = [...new Set(scopeIds)].filter((id) => !this.scopeCache.has(id));
    if (missingScopes.length > 0) {
      const rows = await this.rows(
        'SELECT id, body FROM scopes WHERE list_contains($1, id)',
        [listValue(missingScopes)],
        [LIST(UBIGINT)],
      );
      for (const row of rows) this.scopeCache.set(row.id as bigint, scopeFromBody(row.body as string));
    }
  }

  async searchTraces(query: TraceQuery): Promise<TraceSummary[]> {
    const limit = Math.max(1, Math.min(Math.floor(query.limit), 10_000));
    if (this.minStartNs === undefined || this.maxStartNs === undefined) return [];
    // The window that can hold matches: the query's, cut to the data's.
    let lo = this.minStartNs;
    let hi = this.maxStartNs + 1n;
    if (query.startUnixNano !== undefined && query.startUnixNano > lo) lo = query.startUnixNano;
    if (query.endUnixNano !== undefined && query.endUnixNano < hi) hi = query.endUnixNano;
    if (lo >= hi) return [];

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
        await this.columns(
          'SELECT no FROM resources WHERE list_has_any(attrs, $1)',
          [listValue(candidates)],
          [LIST(VARCHAR)],
        )
      )[0] as number[];
      // A key with a slot has its values there, except a second occurrence in one span (in rest).
      const slot = this.slots.slotOf(filter.key);
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
      if (hashes.some((h) => this.frequent.has(h))) continue;
      const minutes = (
        await this.columns(
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
      const [ids] = await this.columns(
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
      let width = this.options.firstSearchWindowNanos ?? DEFAULT_FIRST_WINDOW;
      while (true) {
        const from = maxBig(hi - width, lo);
        ids = await match([{ start: from, end: hi }]);
        if (ids.length >= limit || from === lo) break;
        width *= WINDOW_GROWTH;
      }
    }
    if (ids.length === 0) return [];
    // Summaries from all spans of the matched traces, reading only the time range they cover
    // (from trace_parts, whose fixed-width columns scan in a millisecond).
    const idList = ids.map((_, i) => `$${i + 1}`).join(', ');
    const idTypes = ids.map(() => UHUGEINT);
    const [from, to] = await this.columns(
      `SELECT min(start_ns), max(last_start_ns) FROM trace_parts WHERE trace_id IN (${idList})`,
      ids,
      idTypes,
    );
    const rows = await this.rows(
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

  async listServices(): Promise<string[]> {
    const [services] = await this.columns('SELECT DISTINCT service FROM operations ORDER BY service');
    return services as string[];
  }

  async listOperations(service: string): Promise<string[]> {
    const [names] = await this.columns(
      'SELECT DISTINCT name FROM operations WHERE service = $1 ORDER BY name',
      [service],
      [VARCHAR],
    );
    return names as string[];
  }

  async dependencies(range: TimeRange): Promise<DependencyEdge[]> {
    const p = new Params();
    const where: string[] = [];
    addRange(range, 'c.start_ns', where, p);
    const window = where.length > 0 ? `AND ${where.join(' AND ')}` : '';
    // Children whose parent was not in the same write batch: joined here, reading only the time
    // range of their traces.
    const [lo, hi] = await this.columns(
      `SELECT min(t.start_ns), max(t.last_start_ns) FROM trace_parts t SEMI JOIN (
         SELECT trace_id FROM spans c WHERE c.parent_service IS NULL ${window}
       ) o ON t.trace_id = o.trace_id`,
      p.values,
      p.types,
    );
    const parts = [
      `SELECT c.parent_service AS parent, c.service AS child, count(*) AS calls,
         count(*) FILTER (WHERE c.status_code = 2) AS errors
       FROM spans c WHERE c.parent_service <> '' AND c.parent_service <> c.service ${window} GROUP BY ALL`,
    ];
    if (lo[0] !== null) {
      parts.push(`SELECT p.service AS parent, c.service AS child, count(*) AS calls,
          count(*) FILTER (WHERE c.status_code = 2) AS errors
        FROM spans c JOIN spans p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
        WHERE c.parent_service IS NULL AND p.service <> c.service ${window}
          AND p.start_ns >= ${p.add(lo[0] as bigint, UBIGINT)} AND p.start_ns <= ${p.add(hi[0] as bigint, UBIGINT)}
        GROUP BY ALL`);
    }
    const rows = await this.rows(
      `SELECT parent, child, sum(calls) AS calls, sum(errors) AS errors FROM (${parts.join(' UNION ALL ')})
       GROUP BY ALL ORDER BY parent, child`,
      p.values,
      p.types,
    );
    return rows.map((r) => ({
      parent: r.parent as string,
      child: r.child as string,
      callCount: Number(r.calls),
      errorCount: Number(r.errors),
    }));
  }

  async operationStats(service: string, range: TimeRange): Promise<OperationStats[]> {
    const p = new Params();
    const where = [`service = ${p.add(service, VARCHAR)}`];
    addRange(range, 'start_ns', where, p);
    const rows = await this.rows(
      `SELECT name, count(*) AS n, count(*) FILTER (WHERE status_code = 2) AS errors,
         quantile_disc(duration_ns, [0.5, 0.95, 0.99]) AS q
       FROM spans WHERE ${where.join(' AND ')} GROUP BY name ORDER BY name`,
      p.values,
      p.types,
    );
    return rows.map((r) => {
      const q = (r.q as { items: bigint[] }).items;
      return {
        operation: r.name as string,
        spanCount: Number(r.n),
        errorCount: Number(r.errors),
        p50Nanos: BigInt(q[0]),
        p95Nanos: BigInt(q[1]),
        p99Nanos: BigInt(q[2]),
      };
    });
  }

  private startRetention(retentionNanos: bigint): void {
    const tick = () => {
      if (this.closed || this.retentionRunning) return;
      const cutoff = BigInt(Date.now()) * 1_000_000n - retentionNanos;
      this.retentionRunning = this.deleteBefore(cutoff)
        .catch((error: unknown) => {
          if (!this.closed) process.emitWarning(`ariadne retention failed: ${(error as Error).message}`);
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
   * Deletes every span that started before `cutoffNanos` (and the index rows and trace summaries
   * that only describe such spans), one slice of at most an hour of data per transaction, queued
   * between write batches so ingest never waits for more than one slice; then checkpoints, which
   * frees the emptied row groups for reuse. Queries keep running throughout (MVCC).
   */
  async deleteBefore(cutoffNanos: bigint): Promise<void> {
    const cutoff = clampU64(cutoffNanos);
    while (!this.closed && this.minStartNs !== undefined && this.minStartNs < cutoff) {
      const sliceEnd = this.minStartNs + RETENTION_SLICE < cutoff ? this.minStartNs + RETENTION_SLICE : cutoff;
      await this.onWriter(async () => {
        this.assertOpen();
        const db = this.writer;
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
        this.minStartNs = (next[0] as bigint | null) ?? undefined;
        if (this.minStartNs === undefined) this.maxStartNs = undefined;
        else if (this.minStartNs < sliceEnd) this.minStartNs = sliceEnd;
      });
    }
    if (!this.closed) await this.checkpoint();
  }

  /** Bytes of the database file as DuckDB reports them (blocks in use times block size). */
  async databaseBytes(): Promise<number> {
    await this.writeChain;
    const rows = await this.rows('SELECT used_blocks * block_size AS bytes FROM pragma_database_size()');
    return Number(rows[0].bytes);
  }

  /** Writes the WAL into the database file and frees emptied row groups. */
  async checkpoint(): Promise<void> {
    await this.onWriter(() => this.runCheckpoint());
  }

  private async runCheckpoint(): Promise<void> {
    const committed = new Map(this.committed);
    await this.writer.run('CHECKPOINT');
    this.checkpointed = committed;
  }

  /** Checkpoints once the WAL has grown past `CHECKPOINT_WAL_BYTES` (after a write). */
  private async checkpointIfDue(): Promise<void> {
    if (this.walBytes() >= CHECKPOINT_WAL_BYTES) await this.runCheckpoint();
  }

  /** Bytes in the database's WAL: written since the last checkpoint. */
  walBytes(): number {
    try {
      return statSync(`${this.file}.wal`).size;
    } catch {
      return 0;
    }
  }

  /**
   * The write progress of `source` that the database file holds on its own, without its WAL (as
   * of the last checkpoint). Input before it is safe to delete; input after it must be kept, so
   * that a database whose WAL is lost can be brought up to date again.
   */
  checkpointedProgress(source: string): bigint | undefined {
    return this.checkpointed.get(source);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.closed = true;
    await this.retentionRunning;
    await this.writeChain;
    await this.readChain;
    // Checkpoint from a connection rather than in DuckDB's shutdown (DuckDB issue #23788).
    await this.writer.run('CHECKPOINT').catch(() => undefined);
    this.dropPrepared();
    this.writer.closeSync();
    this.reader.closeSync();
    this.instance.closeSync();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}

const U64_MAX = 0xffffffffffffffffn;

/**
 * WAL size at which the store checkpoints. Each checkpoint rewrites the partly filled last row
 * group of every table and frees the old blocks; checkpointing less often leaves far fewer free
 * blocks in the file (BENCHMARKS.md, "Store at scale": 64 MB left a fifth of the blocks free,
 * 128 MB almost none, 256 MB no better).
 */
const CHECKPOINT_WAL_BYTES = 128 * 1024 * 1024;

/** DuckDB's open error, with the way out when it is the WAL that is damaged. */
function explainOpenError(file: string, error: Error): Error {
  if (!/WAL/.test(error.message)) return error;
  const wal = `${file}.wal`;
  return new Error(
    `the database's write-ahead log ${wal} is damaged (${error.message}). Way out: move it aside ` +
      `(mv ${wal} ${wal}.damaged) and start again: the database then opens as of its last checkpoint, ` +
      'and the ingest log, which keeps every request until a checkpoint holds it, replays the rest.',
    { cause: error },
  );
}

/** `Math.max` for bigints. */
function maxBig(a: bigint, b: bigint): bigint {
  if (a >= b) return a;
  return b;
}

/** `Math.min` for bigints. */
function minBig(a: bigint, b: bigint): bigint {
  if (a <= b) return a;
  return b;
}

/** A result as one array per column (also when there are no rows). */
function columnsOf(result: DuckDBResultReader): unknown[][] {
  const columns = result.getColumnsJS() as unknown[][];
  return columns.length === result.columnCount ? columns : Array.from({ length: result.columnCount }, () => []);
}

function clampU64(value: bigint): bigint {
  return value < 0n ? 0n : value > U64_MAX ? U64_MAX : value;
}

function addRange(range: TimeRange, column: string, where: string[], p: Params) {
  if (range.startUnixNano !== undefined) where.push(`${column} >= ${p.add(clampU64(range.startUnixNano), UBIGINT)}`);
  if (range.endUnixNano !== undefined) where.push(`${column} < ${p.add(clampU64(range.endUnixNano), UBIGINT)}`);
}
