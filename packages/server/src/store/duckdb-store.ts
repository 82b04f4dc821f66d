import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { InstrumentationScope, Span } from '@ariadne/core';
import { type DuckDBConnection, DuckDBInstance, VARCHAR } from '@duckdb/node-api';
import { type Logger, silentLogger } from '../logger.ts';
import {
  type DependencyEdge,
  type OperationStats,
  type PreparedWriter,
  type SpanStore,
  StalePreparationError,
  type TagScope,
  type TagValue,
  type TagValuesQuery,
  type TimeRange,
  type TraceCandidate,
  type TraceCandidateQuery,
  type TraceSummary,
  type WriteProgress,
} from '../query/span-store.ts';
import { AttributeSlots } from './attribute-slots.ts';
import { BATCH_PREPARER_MODULE, BatchPreparer, type PreparedBatch, type PreparerState } from './batch-preparer.ts';
import { dependencies, listOperations, listServices, operationStats } from './duckdb/aggregates.ts';
import { findTraceCandidates } from './duckdb/candidates.ts';
import { READ_CONNECTION_DISABLED_OPTIMIZERS, ReadConnection } from './duckdb/read-connection.ts';
import { deleteSlice, forgetEmptyOperations, nextSliceEnd, RetentionTimer } from './duckdb/retention.ts';
import { type SearchContext, type StoredTimeRange, summarizeTraces } from './duckdb/search.ts';
import { clampU64, columnsOf, hexToBigInt } from './duckdb/sql.ts';
import { listTagNames, listTagValues } from './duckdb/tags.ts';
import {
  countTraces,
  getTrace,
  getTraces,
  listTraceIds,
  type StoredResource,
  type TraceReadContext,
} from './duckdb/trace-reads.ts';
import {
  type ChunkFeeds,
  checkAppendTargets,
  commitBatch,
  readPreparerState,
  registerChunkFeeds,
} from './duckdb/writes.ts';
import { migrateSchema } from './duckdb-schema.ts';

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
 * A prepared batch was prepared from a state the store has moved past (another write came in
 * between, or the batch before it failed): prepare it again from `preparerState()`.
 */
export class StalePreparedBatchError extends StalePreparationError {
  override readonly name = 'StalePreparedBatchError';
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
 * Searches read the newest time window first and widen it only while fewer traces than the limit
 * were found. Writes are serialised on one connection; reads use another, so queries see only
 * committed batches.
 *
 * This class holds the store's state (connections, caches, counters) and its lifecycle; the work
 * of each concern is in duckdb/: writes.ts, trace-reads.ts, search.ts, aggregates.ts,
 * retention.ts (the schema and its migrations are in duckdb-schema.ts).
 */
export class DuckDbSpanStore implements SpanStore, PreparedWriter<PreparerState, PreparedBatch> {
  /** Batches are prepared by batch-preparer.ts, on ingest's prepare thread. */
  readonly preparerModule = BATCH_PREPARER_MODULE;
  private readonly reads: ReadConnection;
  /** The write connection's table functions that feed prepared chunks to its inserts. */
  private readonly feeds: ChunkFeeds;
  /** What trace reads use: the read connection, the slots, and the resource and scope caches. */
  private readonly traceReads: TraceReadContext;
  /** Prepares the batches of `writeSpans`; rebuilt from the database when it may be stale. */
  private localPreparer: BatchPreparer | undefined;
  /** Batches committed since open: a prepared batch must be the next one (`PreparedBatch.writeNo`). */
  private writes = 0;
  /**
   * Retention deleted (service, name) pairs since the store opened, which preparers started
   * before may still take for stored: batches then insert every pair of theirs that is missing.
   */
  private operationsForgotten = false;
  /** Write progress committed, by source (counters as `source.name`). */
  private readonly committed = new Map<string, bigint>();
  /** Write progress the database file holds without its WAL (as of the last checkpoint). */
  private checkpointed = new Map<string, bigint>();
  private closed = false;
  private writeChain: Promise<unknown> = Promise.resolve();
  private retention: RetentionTimer | undefined;
  /** Earliest and latest span start stored (undefined while empty). */
  private minStartNs: bigint | undefined;
  private maxStartNs: bigint | undefined;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    reader: DuckDBConnection,
    /** Which attribute keys have their own column (attribute-slots.ts), as committed: for reads. */
    private readonly slots: AttributeSlots,
    /** Attribute hashes marked frequent (searched by scanning); the preparer decides which. */
    private readonly frequent: Set<number>,
    private readonly options: DuckDbStoreOptions,
    private readonly file: string,
  ) {
    this.reads = new ReadConnection(reader, () => this.assertOpen());
    this.feeds = registerChunkFeeds(writer);
    this.traceReads = {
      reads: this.reads,
      slots,
      resources: new Map<number, StoredResource>(),
      scopes: new Map<bigint, InstrumentationScope>(),
    };
  }

  /** Opens (or creates) the database in `options.dataDir`. */
  static async open(options: DuckDbStoreOptions): Promise<DuckDbSpanStore> {
    mkdirSync(options.dataDir, { recursive: true });
    const config: Record<string, string> = {};
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    if (options.threads) config.threads = String(options.threads);
    // The store checkpoints itself (`checkpointIfDue`, at the same WAL size), so that it knows
    // which write progress the database file holds without its WAL.
    config.checkpoint_threshold = '1TB';
    // Reads run through cached prepared statements (read-connection.ts) while writes commit.
    config.disabled_optimizers = READ_CONNECTION_DISABLED_OPTIMIZERS;
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
      const slotRows = columnsOf(await writer.runAndReadAll('SELECT key, slot FROM attr_slots ORDER BY slot'));
      const slots = new AttributeSlots(slotRows[0].map((key, i) => [key as string, Number(slotRows[1][i])] as const));
      const reader = await instance.connect();
      const store = new DuckDbSpanStore(instance, writer, reader, slots, frequent, options, file);
      const bounds = (
        await writer.runAndReadAll('SELECT min(start_ns) AS lo, max(last_start_ns) AS hi FROM trace_parts')
      ).getRowObjects()[0];
      store.minStartNs = (bounds.lo as bigint | null) ?? undefined;
      store.maxStartNs = (bounds.hi as bigint | null) ?? undefined;
      await checkAppendTargets(writer);
      const progressRows = columnsOf(await writer.runAndReadAll('SELECT source, position FROM write_progress'));
      for (let i = 0; i < progressRows[0].length; i++)
        store.committed.set(progressRows[0][i] as string, progressRows[1][i] as bigint);
      store.checkpointed = new Map(store.committed);
      const retentionNanos = options.retentionNanos;
      if (retentionNanos !== undefined) {
        store.retention = new RetentionTimer({
          retentionNanos,
          intervalMs: options.retentionIntervalMs,
          deleteBefore: (cutoff) => store.deleteBefore(cutoff),
        });
      }
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
    const [positions] = await this.reads.columns(
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
  listTraceIds(after: string | undefined, limit: number): Promise<string[]> {
    return listTraceIds(this.reads, after, limit);
  }

  /** The number of distinct traces stored. */
  countTraces(): Promise<number> {
    return countTraces(this.reads);
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
    return readPreparerState(this.writer, this.writes, this.options.attributeIndexThreshold);
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

  /** Commits `batch` if it is the store's next one, then takes in what it changed. */
  private async applyBatch(batch: PreparedBatch, progress: WriteProgress | undefined): Promise<void> {
    this.assertOpen();
    if (batch.writeNo !== this.writes + 1) {
      throw new StalePreparedBatchError(
        `prepared batch is stale: it was prepared as write ${batch.writeNo}, the store's next write is ${this.writes + 1}`,
      );
    }
    await commitBatch(this.writer, this.feeds, batch, progress, this.operationsForgotten, () =>
      this.reads.quiet(GIVE_WAY_MILLIS),
    );
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

  getTrace(traceId: string, range: TimeRange = {}): Promise<Span[]> {
    return getTrace(this.traceReads, traceId, range);
  }

  /**
   * The spans of each trace in `traceIds`, keyed by the id as given: for each, what `getTrace(id)`
   * returns (the same spans in the same order; [] for an unknown id). One query for the whole page
   * of traces instead of one per trace: for walking a store (`ariadne copy`). Holds every span of
   * the page in memory at once.
   */
  getTraces(traceIds: readonly string[]): Promise<Map<string, Span[]>> {
    return getTraces(this.traceReads, traceIds);
  }

  async summarizeTraces(traceIds: readonly string[]): Promise<Map<string, TraceSummary>> {
    const ids = [...new Set(traceIds.filter((id) => /^[0-9a-f]{32}$/.test(id)))].map(hexToBigInt);
    return new Map((await summarizeTraces(this.reads, ids)).map((s) => [s.traceId, s]));
  }

  findTraceCandidates(query: TraceCandidateQuery): Promise<TraceCandidate[]> {
    return findTraceCandidates(this.searchContext(), query, this.storedRange());
  }

  listTagNames(scope: TagScope, range: TimeRange, limit: number): Promise<string[]> {
    return listTagNames(this.searchContext(), scope, range, limit);
  }

  listTagValues(query: TagValuesQuery): Promise<TagValue[]> {
    return listTagValues(this.searchContext(), query);
  }

  private storedRange(): StoredTimeRange | undefined {
    return this.minStartNs === undefined || this.maxStartNs === undefined
      ? undefined
      : { minStartNs: this.minStartNs, maxStartNs: this.maxStartNs };
  }

  private searchContext(): SearchContext {
    return {
      reads: this.reads,
      slots: this.slots,
      frequent: this.frequent,
      firstWindowNanos: this.options.firstSearchWindowNanos,
    };
  }

  listServices(): Promise<string[]> {
    return listServices(this.reads);
  }

  listOperations(service: string): Promise<string[]> {
    return listOperations(this.reads, service);
  }

  dependencies(range: TimeRange): Promise<DependencyEdge[]> {
    return dependencies(this.reads, range);
  }

  operationStats(service: string, range: TimeRange): Promise<OperationStats[]> {
    return operationStats(this.reads, service, range);
  }

  /**
   * Deletes every span that started before `cutoffNanos` (and the index rows and trace summaries
   * that only describe such spans), one slice of at most an hour of data per transaction, queued
   * between write batches so ingest never waits for more than one slice; then checkpoints, which
   * frees the emptied row groups for reuse. Queries keep running throughout (MVCC).
   */
  async deleteBefore(cutoffNanos: bigint): Promise<void> {
    const cutoff = clampU64(cutoffNanos);
    // The (service, name) pairs of the deleted spans, checked once at the end.
    const deletedPairs = new Map<string, readonly [string, string]>();
    while (!this.closed && this.minStartNs !== undefined && this.minStartNs < cutoff) {
      const sliceEnd = nextSliceEnd(this.minStartNs, cutoff);
      await this.onWriter(async () => {
        this.assertOpen();
        const deleted = await deleteSlice(this.writer, sliceEnd);
        for (const pair of deleted.operations) deletedPairs.set(JSON.stringify(pair), pair);
        this.minStartNs = deleted.minStartNs;
        if (this.minStartNs === undefined) this.maxStartNs = undefined;
        else if (this.minStartNs < sliceEnd) this.minStartNs = sliceEnd;
      });
    }
    if (deletedPairs.size > 0 && !this.closed) {
      await this.onWriter(async () => {
        this.assertOpen();
        // Preparers take the forgotten pairs for stored and would not list them again: from now
        // on every batch inserts all of its pairs that `operations` lacks.
        if ((await forgetEmptyOperations(this.writer, [...deletedPairs.values()])) > 0) this.operationsForgotten = true;
      });
    }
    if (!this.closed) await this.checkpoint();
  }

  /** Bytes of the database file as DuckDB reports them (blocks in use times block size). */
  async databaseBytes(): Promise<number> {
    await this.writeChain;
    const rows = await this.reads.rows('SELECT used_blocks * block_size AS bytes FROM pragma_database_size()');
    return Number(rows[0].bytes);
  }

  /** Bytes of memory DuckDB holds now, as its buffer manager counts them (`duckdb_memory()`). */
  async memoryBytes(): Promise<number> {
    const rows = await this.reads.rows('SELECT sum(memory_usage_bytes) AS bytes FROM duckdb_memory()');
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
    const retentionStopped = this.retention?.stop();
    this.closed = true;
    await retentionStopped;
    await this.writeChain;
    await this.reads.idle();
    // Checkpoint from a connection rather than in DuckDB's shutdown (DuckDB issue #23788).
    await this.writer.run('CHECKPOINT').catch(() => undefined);
    this.reads.close();
    this.writer.closeSync();
    this.instance.closeSync();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}

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

/**
 * Longest a write waits, before each slice of a batch, for the reads in flight to finish (reads
 * never wait for writes; a write gives way to them, issue 16 item 5).
 */
const GIVE_WAY_MILLIS = 50;
