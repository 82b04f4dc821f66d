import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApiApp } from './api/app.ts';
import { buildJaegerApp } from './api/jaeger/app.ts';
import { buildTempoApp } from './api/tempo/tempo-app.ts';
import { buildZipkinApp } from './api/zipkin/zipkin-app.ts';
import { loadServerSecurity } from './auth/server-security.ts';
import type { TlsFiles } from './auth/tls.ts';
import { Admission } from './ingest/admission.ts';
import { DEFAULT_BODY_WATCHDOG } from './ingest/http-body.ts';
import { IdleMaintenance } from './ingest/idle-maintenance.ts';
import { INGEST_LOG_SOURCE, IngestLog, type LogDamage } from './ingest/ingest-log.ts';
import { OtlpGrpcReceiver } from './ingest/otlp-grpc.ts';
import { buildOtlpHttpApp } from './ingest/otlp-http.ts';
import { PrepareWorker } from './ingest/prepare-worker.ts';
import { type ReadConsistency, ReadConsistencyScope, ReadYourWritesStore } from './ingest/read-your-writes.ts';
import { type ReplayResult, replayIngestLog } from './ingest/replay-log.ts';
import { WriteQueue } from './ingest/write-queue.ts';
import { zipkinReceiver } from './ingest/zipkin-http.ts';
import { type LogFormat, type Logger, silentLogger } from './logger.ts';
import { dataDirUsage, ServerMetrics } from './metrics.ts';
import type { PreparedWriter, SpanStore, SpanWriter } from './query/span-store.ts';
import { ClickHouseSpanStore } from './store/clickhouse/clickhouse-store.ts';
import { ClickHouseUnavailableError, HttpExecutor } from './store/clickhouse/executor.ts';
import type { ClickHousePreparerState, PreparedRows } from './store/clickhouse/preparer.ts';
import { isClickHouseStore, parseClickHouseUrl } from './store/clickhouse/store-url.ts';
import { DuckDbSpanStore } from './store/duckdb-store.ts';
import { DEFAULT_MAX_BATCH_SPANS, memoryBudget, parseMemorySize } from './store/memory-budget.ts';

/**
 * The one place where Ariadne's parts are wired together. Read top to bottom, `startServer` is the
 * data flow: store ← write queue (← prepare worker ← ingest log, with the embedded store) ← OTLP
 * receivers (HTTP, gRPC); store ← read-your-writes ← query API ← web UI / CLI.
 */

/** Everything `ariadne serve` can be told. See cli/config.ts for flags and environment variables. */
export interface ServerConfig {
  readonly dataDir: string;
  /**
   * `clickhouse://[user[:password]@]host:port/database[?cluster=NAME]` to keep spans in ClickHouse
   * (the node then keeps nothing itself); unset, the embedded DuckDB store in `dataDir`.
   */
  readonly store?: string;
  readonly host: string;
  readonly apiPort: number;
  readonly otlpHttpPort: number;
  readonly otlpGrpcPort: number;
  /** Zipkin's port (ingest and read API, as Zipkin's own 9411); unset or 0: off. */
  readonly zipkinPort?: number;
  /** The Jaeger query API's port (as Jaeger's 16686); unset or 0: off. */
  readonly jaegerPort?: number;
  /** The Tempo API's port (as Tempo's 3200); unset or 0: off. */
  readonly tempoPort?: number;
  /** Largest OTLP request accepted, after decompression. */
  readonly maxBodyBytes?: number;
  /** Spans acknowledged but not yet committed to the store before receivers answer 503 / UNAVAILABLE. */
  readonly maxPendingSpans?: number;
  /** Bytes of the ingest log not yet committed to the store before receivers answer 503 / UNAVAILABLE. */
  readonly maxPendingLogBytes?: number;
  /** Spans per store transaction (requests are never split). */
  readonly maxBatchSpans?: number;
  /** Memory limit shared by the database and the pending spans (store/memory-budget.ts), e.g. `2GB`. */
  readonly memoryLimit?: string;
  /** Delete spans older than this many nanoseconds, continuously; unset keeps everything. */
  readonly retentionNanos?: bigint;
  /** Directory of the built web UI; defaults to packages/web/dist. */
  readonly webRoot?: string;
  /**
   * What reads see when their request does not ask (`X-Ariadne-Consistency`): `committed` (the
   * default: at once, never waiting for ingest) or `read-your-writes` (every span acknowledged
   * before the request; for tests and demos that send spans and read them back at once).
   */
  readonly readConsistency?: ReadConsistency;
  /** The process's logger (default: none). */
  readonly logger?: Logger;
  /** Level of the logger `ariadne serve` creates (`info` by default). */
  readonly logLevel?: string;
  /** `json`, `text` or `auto` (text on a terminal): see logger.ts. */
  readonly logFormat?: LogFormat;
  /** File of ingest tokens, one per line: OTLP and Zipkin ingest then need one (auth/tokens.ts). */
  readonly ingestTokenFile?: string;
  /** File of query tokens: the query API, the UI and the compatible read APIs then need one. */
  readonly queryTokenFile?: string;
  /** How often the token files are checked for changes (default 5 s; 0: only on `reload()`). */
  readonly tokenWatchIntervalMs?: number;
  /** Certificate chain and key (PEM): every listener, HTTP and gRPC, then speaks TLS. */
  readonly tls?: TlsFiles;
}

/** A running server: where it listens, and how to stop it. */
export interface RunningServer {
  readonly apiUrl: string;
  readonly otlpHttpUrl: string;
  /** `host:port` of the OTLP/gRPC receiver. */
  readonly otlpGrpcAddress: string;
  /** `http://host:port` of the OTLP/gRPC receiver, as OTLP exporters take it. */
  readonly otlpGrpcUrl: string;
  /** `http://host:port` of each compatible API that listens (`zipkin`, `jaeger`, `tempo`). */
  readonly compatUrls: Readonly<Record<string, string>>;
  readonly store: SpanStore;
  /** Where the spans go (`data in DIR`, or the ClickHouse store without credentials). */
  readonly where: string;
  /** What the start replayed from the ingest log (spans acknowledged before a crash). */
  readonly replayed: StartupReplay;
  /** Spans acknowledged and not yet committed to the store. */
  pendingSpans(): number;
  /**
   * Does now what the server does once ingest pauses: checkpoints the database and trims the
   * ingest log to what is not yet checkpointed (for tests and benchmarks that cannot wait).
   */
  settle(): Promise<void>;
  /** Re-reads the token files now (`ariadne serve` does on SIGHUP); a file that fails keeps its tokens. */
  reload(): Promise<void>;
  /** Stops receiving, commits everything already acknowledged, closes the store. Idempotent. */
  close(): Promise<void>;
}

/** What startup found in the ingest log. */
export interface StartupReplay extends ReplayResult {
  /** Bytes of a torn or corrupt tail cut off (requests being written at a crash, never acknowledged). */
  readonly truncatedBytes: number;
  /** Stretches of the log after the store's position that could not be read back. */
  readonly damage: readonly LogDamage[];
  /**
   * Acknowledged spans lost with that damage, counted from what the store last recorded as
   * acknowledged; undefined when there is no damage, or the store holds no such record.
   */
  readonly lostSpans?: bigint;
}

/**
 * Opens the ingest log at the store's position and replays what the store has not applied;
 * reports damage (positions, and the acknowledged spans it cost) to the logger.
 */
async function openAndReplayLog(
  store: DuckDbSpanStore,
  dir: string,
  maxBatchSpans: number,
  logger: Logger,
): Promise<StartupReplay & { readonly log: IngestLog }> {
  const progress = (name: string) => store.readProgress(name ? `${INGEST_LOG_SOURCE}.${name}` : INGEST_LOG_SOURCE);
  const applied = (await progress('')) ?? 0n;
  const appliedSpans = await progress('spans');
  const stored = { position: await progress('acknowledged'), spans: await progress('acknowledged-spans') };
  const log = await IngestLog.open({ dir, startAt: applied, acknowledged: stored.position, logger });
  try {
    if (log.truncatedBytes > 0)
      logger.warn({ bytes: log.truncatedBytes }, 'ingest log: cut a torn tail (a write interrupted by a crash)');
    // What was acknowledged, as far as anything recorded it: the log's own mark (written after
    // every fdatasync) or, if that is older or unreadable, the store's record of it.
    const acknowledged =
      log.mark && (stored.position === undefined || log.mark.position >= stored.position) ? log.mark : stored;
    // Nothing ever applied: the store's count starts at zero.
    const appliedBefore = appliedSpans ?? (applied === 0n ? 0n : undefined);
    if (log.end > applied)
      logger.info(
        { from: String(applied), to: String(log.end) },
        'ingest log: replaying what the store has not committed',
      );
    const result = await replayIngestLog({
      log,
      writer: store,
      after: applied,
      maxBatchSpans,
      appliedSpans: appliedBefore ?? 0n,
      acknowledgedAt: acknowledged.position,
    });
    log.startCounting(result.appliedSpans);
    if (result.records > 0)
      logger.info(
        { spans: result.spans, requests: result.records },
        'ingest log: replayed acknowledged spans into the store',
      );
    let lostSpans: bigint | undefined;
    if (log.damage.length > 0 && appliedBefore !== undefined && acknowledged.spans !== undefined) {
      lostSpans = acknowledged.spans - appliedBefore - result.spansUpToAcknowledged;
      if (lostSpans < 0n) lostSpans = 0n;
    }
    reportLogDamage(logger, log.damage, lostSpans, acknowledged.position, applied);
    if (log.damage.length > 0 && result.position < log.end) {
      // The loss is reported: move the store past it, so that the next start does not report it
      // again (no record lies between, nothing is skipped).
      await store.writeSpans([], {
        source: INGEST_LOG_SOURCE,
        position: log.end,
        counters: { spans: result.appliedSpans },
      });
    }
    // What the replay wrote goes into the database file, then its log segments can go (the
    // store checkpointed on open, so only a replay leaves anything to checkpoint).
    if (result.position > applied || log.damage.length > 0) await store.checkpoint();
    const checkpointed = store.checkpointedProgress(INGEST_LOG_SOURCE) ?? 0n;
    await log.release(checkpointed < result.position ? checkpointed : result.position);
    return { ...result, log, truncatedBytes: log.truncatedBytes, damage: log.damage, lostSpans };
  } catch (error) {
    await log.close();
    throw error;
  }
}

/** Logs each damaged or missing stretch of the ingest log, then what it cost. */
function reportLogDamage(
  logger: Logger,
  damage: readonly LogDamage[],
  lostSpans: bigint | undefined,
  acknowledgedAt: bigint | undefined,
  appliedAt: bigint,
): void {
  if (damage.length === 0) return;
  for (const d of damage)
    logger.error(
      { kind: d.kind, file: d.file, from: String(d.from), to: String(d.to), savedTo: d.savedTo },
      d.kind === 'corrupt'
        ? `ingest log: positions ${d.from}-${d.to} of ${d.file} are damaged and were skipped; every intact record around them was replayed`
        : `ingest log: positions ${d.from}-${d.to} are missing from ${d.file} (a segment deleted or cut short)`,
    );
  logger.error(
    {
      lostSpans: lostSpans === undefined ? 'unknown' : String(lostSpans),
      acknowledgedAt: acknowledgedAt === undefined ? undefined : String(acknowledgedAt),
      appliedAt: String(appliedAt),
    },
    lostSpans === undefined
      ? 'ingest log: acknowledged spans were lost with the damage above; the store kept no count to tell how many'
      : `ingest log: ${lostSpans} acknowledged spans were lost with the damage above (up to position ${acknowledgedAt}, the last recorded as acknowledged)`,
  );
}

/**
 * Closes a fastify app: in-flight requests finish, then every connection goes. Fastify closes the
 * connections idle at that moment; one busy then (an exporter's keep-alive connection) goes idle
 * afterwards and would hold the close for the whole keep-alive timeout (72 s), so those are closed
 * as they go idle.
 */
async function closeHttp(app: { close(): PromiseLike<unknown>; server: { closeIdleConnections(): void } }) {
  const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
  }
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Zipkin's collector routes (`POST /api/v1/spans`, `/api/v2/spans`): ingest, not a read. */
function isZipkinCollectorRoute(request: { readonly method: string; readonly url: string }): boolean {
  return request.method === 'POST' && /^\/api\/v[12]\/spans(\?|$)/.test(request.url);
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The write side of one store: what receivers enqueue into, what the API reads from, whether it
 * can take spans now, and how it stops (in two steps: commit what was acknowledged once the
 * receivers stopped; close the store once the API stopped).
 */
interface StoreSide {
  readonly store: SpanStore;
  readonly queue: WriteQueue;
  /** The queue's prepare worker, which also converts Zipkin requests off the receivers' thread. */
  readonly worker: PrepareWorker;
  readonly replayed: StartupReplay;
  /** Where the spans go, for `ariadne serve` to print (no credentials). */
  readonly where: string;
  /** Why the server cannot take spans now, if it cannot. */
  unavailableBecause(): string | undefined;
  /** Checkpoints and trims now, as after a pause in ingest (nothing to do for ClickHouse). */
  settle(): Promise<void>;
  drain(): Promise<void>;
  closeStore(): Promise<void>;
}

/**
 * The embedded store: DuckDB in the data directory, behind an ingest log. A request is
 * acknowledged once durable in the log; the queue writes it to the database in the background.
 */
async function startEmbeddedStore(config: ServerConfig, logger: Logger, metrics: ServerMetrics): Promise<StoreSide> {
  // Memory: one limit, shared by the database and the spans waiting to be committed.
  const memoryBytes = config.memoryLimit === undefined ? undefined : parseMemorySize(config.memoryLimit);
  const budget = memoryBytes === undefined ? undefined : memoryBudget(memoryBytes);

  const store = await DuckDbSpanStore.open({
    dataDir: config.dataDir,
    memoryLimit: budget?.databaseMemoryLimit ?? config.memoryLimit,
    retentionNanos: config.retentionNanos,
    logger,
  });

  const maxBatchSpans = config.maxBatchSpans ?? budget?.maxBatchSpans ?? DEFAULT_MAX_BATCH_SPANS;

  // Ingest log: requests are acknowledged once durable here. First bring the store up to date
  // with what a crash left in it, before anything new arrives.
  let log: IngestLog;
  let replayed: StartupReplay;
  try {
    const opened = await openAndReplayLog(store, join(config.dataDir, 'ingest-log'), maxBatchSpans, logger);
    ({ log, ...replayed } = opened);
  } catch (error) {
    await store.close();
    throw error;
  }

  // The queue logs, acknowledges, and writes to the store in large batches in the background. A
  // worker thread decodes and prepares each batch while the one before is copied into the database.
  let prepareWorker: PrepareWorker;
  try {
    prepareWorker = await PrepareWorker.start(store);
  } catch (error) {
    await log.close();
    await store.close();
    throw error;
  }
  metrics.watchDatabaseMemory(() => store.memoryBytes());
  const queue = new WriteQueue({
    writer: store,
    staged: prepareWorker,
    log,
    maxPendingSpans: config.maxPendingSpans ?? budget?.maxPendingSpans ?? 200_000,
    maxPendingLogBytes: config.maxPendingLogBytes ?? budget?.maxPendingLogBytes,
    maxBatchSpans,
    appliedSpans: replayed.appliedSpans,
    trimmable: () => store.checkpointedProgress(INGEST_LOG_SOURCE),
    metrics,
    onWriteError: (error) =>
      logger.error(
        { err: error },
        'writing spans from the ingest log to the store failed; retrying (they are safe in the log)',
      ),
  });
  // After a failed log write (a full disk), check every second whether writes work again, so that
  // /readyz recovers without waiting for traffic.
  let logFailure: Error | undefined;
  const watchLog = setInterval(() => {
    const failure = log.writeFailure;
    if (failure && failure !== logFailure) logger.error({ err: failure }, 'ingest log write failed: answering 503');
    if (!failure && logFailure) logger.info('ingest log writes work again');
    logFailure = failure;
    if (failure) void log.probe();
  }, 1_000);
  watchLog.unref();
  // When ingest pauses, checkpoint and trim the log: at rest the data directory is the database.
  const idle = new IdleMaintenance({
    store,
    queue,
    log,
    onError: (error) => logger.warn({ err: error }, 'idle checkpoint failed; will try again'),
    // V8's full collection, when the command exposes it (bin/ariadne.mjs: --expose-gc).
    collect: (globalThis as { gc?: () => void }).gc,
  });
  idle.start();
  return {
    store,
    queue,
    worker: prepareWorker,
    replayed,
    where: `data in ${config.dataDir}`,
    unavailableBecause() {
      const logError = log.writeFailure;
      if (logError) return `ingest log writes fail: ${logError.message}`;
      const storeError = queue.storeFailure;
      if (storeError && queue.pending > 0)
        return `store writes fail (acknowledged spans wait in the log): ${storeError.message}`;
      return undefined;
    },
    settle: () => idle.settle(),
    async drain() {
      clearInterval(watchLog);
      await idle.stop();
      await queue.close();
      await prepareWorker.close();
      // The log is emptied once the database file holds everything without its WAL.
      await store.checkpoint().catch((error) => logger.error({ err: error }, 'checkpoint at shutdown failed'));
      await queue.trimLog(log, true);
      await log.close();
    },
    closeStore: () => store.close(),
  };
}

/** How often a node checks a ClickHouse that failed whether it answers again. */
const CLICKHOUSE_PROBE_MS = 1_000;
/** At most this many inserts per second per table from one node; requests between are gathered. */
const CLICKHOUSE_INSERT_INTERVAL_MS = 100;
/** How long a start waits for ClickHouse to answer before it gives up. */
const CLICKHOUSE_CONNECT_MS = 60_000;

/**
 * A ClickHouse store: the node keeps nothing. A request is acknowledged once ClickHouse has
 * acknowledged the insert holding its spans; concurrent requests are gathered into one insert
 * while the one before is in flight. A worker thread decodes the requests and builds the rows.
 */
async function startClickHouseStore(
  url: string,
  config: ServerConfig,
  logger: Logger,
  metrics: ServerMetrics,
): Promise<StoreSide> {
  const location = parseClickHouseUrl(url);
  const open = () =>
    ClickHouseSpanStore.open({
      executor: new HttpExecutor(location),
      database: location.database,
      cluster: location.cluster,
      logger,
      retentionNanos: config.retentionNanos,
    });
  let store: ClickHouseSpanStore | undefined;
  const deadline = Date.now() + CLICKHOUSE_CONNECT_MS;
  for (let attempt = 0; store === undefined; attempt++) {
    try {
      store = await open();
    } catch (error) {
      if (!(error instanceof ClickHouseUnavailableError) || Date.now() > deadline) throw error;
      logger.warn({ err: error, store: location.display }, 'ClickHouse does not answer yet; retrying');
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)));
    }
  }
  const opened = store;
  logger.info({ store: location.display, version: opened.features.version }, 'ClickHouse store open');
  // While ClickHouse is known to be down, refuse at once (503) instead of retrying each batch.
  let probeFailure: Error | undefined;
  const unavailable = (failure: Error) =>
    Promise.reject(new ClickHouseUnavailableError(`ClickHouse is unavailable: ${failure.message}`));
  const writer: SpanWriter & PreparedWriter<ClickHousePreparerState, PreparedRows | undefined> = {
    writeSpans: (spans, progress) => (probeFailure ? unavailable(probeFailure) : opened.writeSpans(spans, progress)),
    preparerModule: opened.preparerModule,
    preparerState: () => opened.preparerState(),
    writePrepared: (rows, progress) =>
      probeFailure ? unavailable(probeFailure) : opened.writePrepared(rows, progress),
  };
  // A worker thread decodes requests and builds the insert rows; this thread only sends them.
  const prepareWorker = await PrepareWorker.start(writer).catch(async (error) => {
    await opened.close();
    throw error;
  });
  const queue = new WriteQueue({
    writer,
    staged: prepareWorker,
    maxPendingSpans: config.maxPendingSpans ?? 200_000,
    maxBatchSpans: config.maxBatchSpans ?? DEFAULT_MAX_BATCH_SPANS,
    minWriteIntervalMs: CLICKHOUSE_INSERT_INTERVAL_MS,
    metrics,
  });
  // While writes fail, ask ClickHouse every second whether it answers, so that /readyz and new
  // requests recover as soon as it is back, without waiting for a write to succeed.
  let probing = false;
  const probe = setInterval(() => {
    if (probing || (opened.writeFailure === undefined && probeFailure === undefined)) return;
    probing = true;
    opened
      .ping()
      .then(() => {
        if (probeFailure) logger.info({ store: location.display }, 'ClickHouse answers again');
        probeFailure = undefined;
      })
      .catch((error: Error) => {
        probeFailure = error;
      })
      .finally(() => {
        probing = false;
      });
  }, CLICKHOUSE_PROBE_MS);
  probe.unref();
  return {
    store: opened,
    queue,
    worker: prepareWorker,
    replayed: {
      records: 0,
      spans: 0,
      appliedSpans: 0n,
      position: 0n,
      spansUpToAcknowledged: 0n,
      truncatedBytes: 0,
      damage: [],
    },
    where: `spans in ${location.display}`,
    settle: async () => undefined,
    unavailableBecause() {
      const failure = probeFailure ?? opened.writeFailure;
      return failure ? `ClickHouse is unavailable: ${failure.message}` : undefined;
    },
    async drain() {
      clearInterval(probe);
      await queue.close();
      await prepareWorker.close();
    },
    closeStore: () => opened.close(),
  };
}

/** A compatible API's app and the port it listens on. */
interface CompatApp {
  readonly name: 'zipkin' | 'jaeger' | 'tempo';
  readonly port: number;
  readonly app: FastifyInstance;
  /** Takes spans (stopped with the receivers, before the queue drains). */
  readonly ingests: boolean;
}

/** Starts the store, the OTLP receivers and the query API. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const maxBodyBytes = config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const logger = config.logger ?? silentLogger;
  // Metrics: one registry for the server, served at the API's /metrics; each part records into it.
  const metrics = new ServerMetrics();
  // Tokens and TLS (auth/): read first, so that a file that cannot be used stops the start at once.
  const security = await loadServerSecurity({ ...config, watchIntervalMs: config.tokenWatchIntervalMs, logger });

  // Store: the embedded DuckDB database in the data directory, or ClickHouse.
  const side = await (isClickHouseStore(config.store)
    ? startClickHouseStore(config.store, config, logger, metrics)
    : startEmbeddedStore(config, logger, metrics)
  ).catch((error) => {
    security.close();
    throw error;
  });
  if (!isClickHouseStore(config.store)) metrics.watchDisk(() => dataDirUsage(config.dataDir));
  const { store, queue, replayed, worker } = side;
  const unavailableBecause = () => side.unavailableBecause();

  // Ingest: receivers refuse from the headers when overloaded (admission), read bodies within
  // a memory budget and a minimum rate, decode, validate and enqueue.
  const { tls } = security;
  const memoryBytes = config.memoryLimit === undefined ? undefined : parseMemorySize(config.memoryLimit);
  const admission = new Admission({
    queue,
    maxInflightBytes: memoryBudget(memoryBytes ?? 2 * 1024 ** 3).maxInflightBodyBytes,
  });
  const bodyWatchdog = DEFAULT_BODY_WATCHDOG;
  const otlpHttp = buildOtlpHttpApp({
    queue,
    maxBodyBytes,
    logger,
    metrics,
    authenticate: security.otlpHttpHook,
    https: tls,
    admission,
    bodyWatchdog,
  });
  const grpc = new OtlpGrpcReceiver({
    queue,
    maxMessageBytes: maxBodyBytes,
    metrics,
    authenticate: security.grpcCheck,
    tls,
    admission,
  });

  // Query: the HTTP API and the web UI read what is committed, at once; a request that asks
  // (X-Ariadne-Consistency: read-your-writes), or every request with --read-consistency
  // read-your-writes, first waits for what was acknowledged before it.
  const consistency = new ReadConsistencyScope(config.readConsistency);
  const reader = new ReadYourWritesStore(store, queue, { scope: consistency });
  let ready = false;
  const api = buildApiApp({
    logger,
    metrics,
    store: reader,
    webRoot: config.webRoot ?? DEFAULT_WEB_ROOT,
    readiness: () => {
      if (!ready) return { ready: false, reason: 'starting or stopping' };
      const reason = unavailableBecause();
      return reason ? { ready: false, reason } : { ready: true };
    },
    ingestStatus: () => ({ pendingSpans: queue.pending, unavailable: unavailableBecause() }),
    queryAuth: security.queryTokens && { tokens: security.queryTokens, secureCookie: tls !== undefined },
    https: tls,
  });

  // Compatible APIs: Zipkin, Jaeger and Tempo clients, each on its own port (off when unset or
  // 0), each a thin layer over the same reader as /api/v1 (and, for Zipkin, the same queue).
  // Reads take query tokens; Zipkin's collector routes take ingest tokens (checked in the receiver).
  const compat: CompatApp[] = [];
  if (config.zipkinPort)
    compat.push({
      name: 'zipkin',
      port: config.zipkinPort,
      ingests: true,
      app: buildZipkinApp({
        reader,
        logger,
        metrics,
        https: tls,
        ingest: zipkinReceiver({
          queue,
          maxBodyBytes,
          metrics,
          authenticate: security.zipkinIngestHook,
          admission,
          bodyWatchdog,
          convert: (record) => worker.convertZipkin(record),
        }),
      }),
    });
  if (config.jaegerPort)
    compat.push({
      name: 'jaeger',
      port: config.jaegerPort,
      ingests: false,
      app: buildJaegerApp({ reader, logger, metrics, maxBodyBytes, https: tls }),
    });
  if (config.tempoPort)
    compat.push({
      name: 'tempo',
      port: config.tempoPort,
      ingests: false,
      app: buildTempoApp({ reader, logger, metrics, https: tls }),
    });
  for (const app of [api, ...compat.map((c) => c.app)]) app.addHook('preHandler', consistency.hook());
  for (const c of compat)
    security.guardCompatApp(c.app, (request) => c.name === 'zipkin' && isZipkinCollectorRoute(request));

  const started: { close: () => Promise<unknown> }[] = [];
  try {
    await otlpHttp.listen({ host: config.host, port: config.otlpHttpPort });
    started.push(otlpHttp);
    const grpcPort = await grpc.listen(config.host, config.otlpGrpcPort);
    started.push(grpc);
    await api.listen({ host: config.host, port: config.apiPort });
    started.push(api);
    for (const c of compat) {
      await c.app.listen({ host: config.host, port: c.port });
      started.push(c.app);
    }
    ready = true;
    const port = (app: typeof api) => {
      const address = app.server.address();
      return typeof address === 'object' && address ? address.port : 0;
    };
    const host = urlHost(config.host);
    const base = `${security.scheme}://${host}`;
    let closing: Promise<void> | undefined;
    return {
      apiUrl: `${base}:${port(api)}`,
      otlpHttpUrl: `${base}:${port(otlpHttp)}`,
      otlpGrpcAddress: `${host}:${grpcPort}`,
      otlpGrpcUrl: `${base}:${grpcPort}`,
      compatUrls: Object.fromEntries(compat.map((c) => [c.name, `${base}:${port(c.app as typeof api)}`])),
      store,
      where: side.where,
      replayed,
      pendingSpans: () => queue.pending,
      settle: () => side.settle(),
      reload: () => security.reload(),
      close() {
        closing ??= (async () => {
          ready = false;
          security.close();
          // Stop receiving first, then commit what was acknowledged, then stop answering queries.
          await Promise.all([
            closeHttp(otlpHttp),
            grpc.close(),
            ...compat.filter((c) => c.ingests).map((c) => closeHttp(c.app)),
          ]);
          await side.drain();
          await closeHttp(api);
          await Promise.all(compat.filter((c) => !c.ingests).map((c) => closeHttp(c.app)));
          await side.closeStore();
        })();
        return closing;
      },
    };
  } catch (error) {
    security.close();
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    await side.drain();
    await side.closeStore();
    throw error;
  }
}
