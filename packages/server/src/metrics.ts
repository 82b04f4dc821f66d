import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SpanReader } from './query/span-store.ts';

/**
 * Every metric the server exports, defined in one place (docs/operations.md lists them with the
 * alerts worth setting). `main.ts` creates one `ServerMetrics` and hands it, seen through the
 * narrow interfaces below, to the parts that record: the OTLP receivers (`IngestMetrics`), the
 * write queue (`WriteQueueMetrics`) and the query API (`ApiMetrics`, which also serves
 * `/metrics`). Each part takes it as an optional dependency and records nothing without it.
 *
 * The registry is the instance's own, never prom-client's global one: two servers in one process
 * (the tests) count apart.
 */

/** The ingest protocols, as the `protocol` label names them (`zipkin`: Zipkin's span collector). */
export type IngestProtocol = 'otlp_http' | 'otlp_grpc' | 'zipkin';

/**
 * The `protocol` label of request durations: an ingest protocol, `http` for the query API and
 * UI, or the compatible API answering (`jaeger`, `tempo`; `zipkin` counts the Zipkin port's
 * reads and its collector alike).
 */
export type RequestProtocol = IngestProtocol | 'http' | 'jaeger' | 'tempo';

/**
 * Why a whole request was refused (`reason` of `ariadne_ingest_requests_refused_total`):
 * undecodable or not decompressible (`malformed`, 400 / INVALID_ARGUMENT), a content type or
 * encoding not spoken (`unsupported_media_type`, 415), over the size limit (`too_large`, 413), a
 * body slower than the minimum rate (`slow_body`, 408), too many bodies in memory at once
 * (`body_budget`, 503 / UNAVAILABLE, admission.ts), the
 * write queue full (`queue_full`), the server stopping (`shutting_down`), the ingest log or the
 * store failing (`unavailable`); the last three are 503 / UNAVAILABLE.
 */
export type RequestRefusal =
  | 'malformed'
  | 'unsupported_media_type'
  | 'too_large'
  | 'slow_body'
  | 'body_budget'
  | 'queue_full'
  | 'shutting_down'
  | 'unavailable';

/**
 * Why spans were refused (`reason` of `ariadne_spans_refused_total`): invalid spans of a decoded
 * request, answered as OTLP partial success (`invalid`), or every valid span of a decoded request
 * refused as a whole. Spans of a request that could not be decoded are never counted: nobody
 * knows how many there were.
 */
export type SpanRefusal = 'invalid' | Extract<RequestRefusal, 'queue_full' | 'shutting_down' | 'unavailable'>;

/** The kinds of API query timed by `ariadne_query_duration_seconds` (its `query` label). */
export type QueryKind =
  | 'trace'
  | 'traces'
  | 'summaries'
  | 'traceql_candidates'
  | 'tags'
  | 'tag_values'
  | 'services'
  | 'operations'
  | 'operation_stats'
  | 'dependencies';

/** What a decoded request holds: its valid spans, and its invalid ones (OTLP partial success). */
export interface SpanCounts {
  readonly accepted: number;
  readonly rejectedSpans: number;
}

/** What every server part records of the requests it answers. */
export interface RequestMetrics {
  /**
   * One request answered after `seconds`: `route` is the route pattern (never the raw URL, so
   * that the series stay few), `status` the HTTP status, or for gRPC the HTTP status its code
   * maps to (`grpcHttpStatus`).
   */
  request(protocol: RequestProtocol, route: string, status: number, seconds: number): void;
}

/** What the OTLP receivers record: one `accepted` or `refused` per request they answer. */
export interface IngestMetrics extends RequestMetrics {
  /** A request answered with success: its valid spans are accepted, its invalid ones refused as `invalid`. */
  accepted(protocol: IngestProtocol, spans: SpanCounts): void;
  /**
   * A request refused as a whole. With `spans` (it was decoded), its spans count as received,
   * the invalid ones refused as `invalid` and the valid ones under `reason`.
   */
  refused(protocol: IngestProtocol, reason: RequestRefusal, spans?: SpanCounts): void;
}

/** What the write queue shows at each scrape. */
export interface WriteQueueState {
  /** Spans acknowledged and not yet committed to the store. */
  readonly pending: number;
  /** Bytes of ingest log records not yet committed to the store (0 without a log). */
  readonly uncommittedLogBytes: number;
  /** Seconds the oldest acknowledged request not yet committed has waited (0 when none waits). */
  readonly lagSeconds: number;
  /**
   * Pending spans as counted against `maxPendingSpans` (a request counts as at most half of it):
   * what refusals compare, so never above `maxPendingSpans` (`pending` can be, after a huge request).
   */
  readonly load: number;
  /** Pending spans beyond which new requests are refused. */
  readonly maxPendingSpans: number;
}

/** What the write queue records. */
export interface WriteQueueMetrics {
  /** One store write (one transaction) took `seconds`; `committedSpans` is undefined if it failed. */
  commit(seconds: number, committedSpans: number | undefined): void;
  /** Reads depth and lag from `queue` at each scrape (a server has one queue: the last watched counts). */
  watchQueue(queue: WriteQueueState): void;
}

/** What the query API records and serves. */
export interface ApiMetrics extends RequestMetrics {
  /** Runs one store query, timing it under `query`, whether it answers or fails. */
  timeQuery<T>(query: QueryKind, run: () => Promise<T>): Promise<T>;
  /** Reports readiness (as `/readyz` answers) at each scrape. */
  watchReadiness(ready: () => boolean): void;
  /** The `Content-Type` of `exposition()`: Prometheus text format 0.0.4. */
  readonly contentType: string;
  /** Every metric, in the Prometheus text format. */
  exposition(): Promise<string>;
}

/** Bytes on disk of the embedded store's data directory, by part. */
export interface DiskUsage {
  /** The DuckDB database file. */
  readonly database: number;
  /** Its write-ahead log: what was written since the last checkpoint. */
  readonly wal: number;
  /** The ingest log's segments: acknowledged requests not yet trimmed. */
  readonly ingestLog: number;
}

/** Options of `ServerMetrics`. */
export interface ServerMetricsOptions {
  /** Where the metrics are registered (default: a new registry of their own). */
  readonly registry?: Registry;
  /** Register prom-client's `process_*` and `nodejs_*` metrics too (default true). */
  readonly processMetrics?: boolean;
}

/** Latencies a user sees: around the query targets (20 ms by trace id, 50 ms a search), up to 10 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];
/** Store writes: a batch of up to tens of thousands of spans, seconds when the disk is slow. */
const COMMIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The server's metrics and their registry. One per server, created in `main.ts`; the parts see
 * it through `IngestMetrics`, `WriteQueueMetrics` and `ApiMetrics`. The gauges read their sources
 * when scraped; apart from prom-client's process metrics (a GC observer and an event loop delay
 * monitor, neither of which keeps the process alive) nothing runs between scrapes.
 */
export class ServerMetrics implements IngestMetrics, WriteQueueMetrics, ApiMetrics {
  readonly registry: Registry;
  readonly spansReceived: Counter<'protocol'>;
  readonly spansAccepted: Counter<'protocol'>;
  readonly spansRefused: Counter<'protocol' | 'reason'>;
  readonly requestsRefused: Counter<'protocol' | 'reason'>;
  readonly requestDuration: Histogram<'protocol' | 'route' | 'status_class'>;
  readonly queryDuration: Histogram<'query'>;
  readonly spansCommitted: Counter;
  readonly commitDuration: Histogram<'result'>;
  readonly queueSpans: Gauge;
  readonly queueLogBytes: Gauge;
  readonly queueMaxSpans: Gauge;
  readonly queueLoad: Gauge;
  readonly queueLag: Gauge;
  readonly databaseSize: Gauge<'file'>;
  readonly ingestLogSize: Gauge;
  readonly databaseMemory: Gauge;
  readonly ready: Gauge;
  private queue: WriteQueueState | undefined;
  private disk: (() => DiskUsage) | undefined;
  private databaseMemoryBytes: (() => Promise<number>) | undefined;
  private readiness: (() => boolean) | undefined;

  constructor(options: ServerMetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    const registers = [registry];
    // Gauges read their source when scraped; `self` because prom-client calls `collect` with the
    // gauge as `this`.
    const self = this;

    this.spansReceived = new Counter({
      name: 'ariadne_spans_received_total',
      help: 'Spans in the OTLP requests that could be decoded (accepted + refused).',
      labelNames: ['protocol'],
      registers,
    });
    this.spansAccepted = new Counter({
      name: 'ariadne_spans_accepted_total',
      help: 'Spans acknowledged to the sender: durable in the ingest log, or committed to the store without one.',
      labelNames: ['protocol'],
      registers,
    });
    this.spansRefused = new Counter({
      name: 'ariadne_spans_refused_total',
      help: 'Spans received and not accepted, by reason: invalid (partial success), queue_full, shutting_down, unavailable.',
      labelNames: ['protocol', 'reason'],
      registers,
    });
    this.requestsRefused = new Counter({
      name: 'ariadne_ingest_requests_refused_total',
      help: 'OTLP requests refused as a whole, by reason: malformed, unsupported_media_type, too_large, queue_full, shutting_down, unavailable.',
      labelNames: ['protocol', 'reason'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'ariadne_request_duration_seconds',
      help: 'Time to answer a request, by protocol (http for the query API and UI), route pattern and status class.',
      labelNames: ['protocol', 'route', 'status_class'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.queryDuration = new Histogram({
      name: 'ariadne_query_duration_seconds',
      help: 'Time the query API waited for the store, by kind of query (including the wait for acknowledged spans).',
      labelNames: ['query'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.spansCommitted = new Counter({
      name: 'ariadne_spans_committed_total',
      help: 'Spans the write queue committed to the store.',
      registers,
    });
    this.commitDuration = new Histogram({
      name: 'ariadne_store_commit_duration_seconds',
      help: 'Time of one store write (a transaction of one batch), by result (ok, error).',
      labelNames: ['result'],
      buckets: COMMIT_BUCKETS,
      registers,
    });
    this.queueSpans = new Gauge({
      name: 'ariadne_write_queue_spans',
      help: 'Spans acknowledged and not yet committed to the store.',
      registers,
      collect() {
        this.set(self.queue?.pending ?? 0);
      },
    });
    this.queueLogBytes = new Gauge({
      name: 'ariadne_write_queue_log_bytes',
      help: 'Bytes of ingest log records not yet committed to the store.',
      registers,
      collect() {
        this.set(self.queue?.uncommittedLogBytes ?? 0);
      },
    });
    this.queueLoad = new Gauge({
      name: 'ariadne_write_queue_load_spans',
      help: 'Pending spans as counted against ariadne_write_queue_max_spans (a request counts as at most half of it).',
      registers,
      collect() {
        this.set(self.queue?.load ?? 0);
      },
    });
    this.queueMaxSpans = new Gauge({
      name: 'ariadne_write_queue_max_spans',
      help: 'Pending spans beyond which new requests are refused (--max-pending-spans).',
      registers,
      collect() {
        this.set(self.queue?.maxPendingSpans ?? 0);
      },
    });
    this.queueLag = new Gauge({
      name: 'ariadne_write_queue_lag_seconds',
      help: 'How long the oldest acknowledged request not yet committed to the store has waited (0 when none).',
      registers,
      collect() {
        this.set(self.queue?.lagSeconds ?? 0);
      },
    });
    // Only the embedded store has a data directory: without one these two are not exported at all.
    this.databaseSize = new Gauge({
      name: 'ariadne_database_size_bytes',
      help: 'Bytes on disk of the embedded DuckDB database, by file (database, wal).',
      labelNames: ['file'],
      registers,
      collect() {
        const usage = self.disk?.();
        if (!usage) return;
        this.set({ file: 'database' }, usage.database);
        this.set({ file: 'wal' }, usage.wal);
      },
    });
    this.ingestLogSize = new Gauge({
      name: 'ariadne_ingest_log_size_bytes',
      help: 'Bytes on disk of the ingest log segments.',
      registers,
      collect() {
        const usage = self.disk?.();
        if (usage) this.set(usage.ingestLog);
      },
    });
    this.databaseMemory = new Gauge({
      name: 'ariadne_database_memory_bytes',
      help: "Bytes of memory the embedded DuckDB database holds (its buffer manager's count, within --memory-limit's share).",
      registers,
      async collect() {
        const bytes = await self.databaseMemoryBytes?.().catch(() => undefined);
        if (bytes !== undefined) this.set(bytes);
      },
    });
    this.ready = new Gauge({
      name: 'ariadne_ready',
      help: '1 when the server takes spans (as /readyz answers 200), else 0.',
      registers,
      collect() {
        this.set(self.readiness === undefined || self.readiness() ? 1 : 0);
      },
    });
    // Every series that can occur exists from the start, at 0: a rate over a counter that
    // appears only with its first increment misses that increment, and an alert on it stays
    // silent until then.
    for (const protocol of ['otlp_http', 'otlp_grpc', 'zipkin'] as const) {
      this.spansReceived.inc({ protocol }, 0);
      this.spansAccepted.inc({ protocol }, 0);
      for (const reason of ['invalid', 'queue_full', 'shutting_down', 'unavailable'] as const)
        this.spansRefused.inc({ protocol, reason }, 0);
      const reasons: readonly RequestRefusal[] =
        protocol !== 'otlp_grpc'
          ? [
              'malformed',
              'unsupported_media_type',
              'too_large',
              'slow_body',
              'body_budget',
              'queue_full',
              'shutting_down',
              'unavailable',
            ]
          : ['malformed', 'body_budget', 'queue_full', 'shutting_down', 'unavailable'];
      for (const reason of reasons) this.requestsRefused.inc({ protocol, reason }, 0);
    }
    this.commitDuration.zero({ result: 'ok' });
    this.commitDuration.zero({ result: 'error' });
    // Process memory, CPU, file descriptors, event loop lag, GC: prom-client's standard set.
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  }

  request(protocol: RequestProtocol, route: string, status: number, seconds: number): void {
    this.requestDuration.observe({ protocol, route, status_class: `${Math.floor(status / 100)}xx` }, seconds);
  }

  accepted(protocol: IngestProtocol, spans: SpanCounts): void {
    this.spansReceived.inc({ protocol }, spans.accepted + spans.rejectedSpans);
    this.spansAccepted.inc({ protocol }, spans.accepted);
    if (spans.rejectedSpans > 0) this.spansRefused.inc({ protocol, reason: 'invalid' }, spans.rejectedSpans);
  }

  refused(protocol: IngestProtocol, reason: RequestRefusal, spans?: SpanCounts): void {
    this.requestsRefused.inc({ protocol, reason });
    if (!spans) return;
    this.spansReceived.inc({ protocol }, spans.accepted + spans.rejectedSpans);
    if (spans.rejectedSpans > 0) this.spansRefused.inc({ protocol, reason: 'invalid' }, spans.rejectedSpans);
    // Only a refusal after decoding comes with spans: a full queue, a stop, or a failure.
    if (spans.accepted > 0) this.spansRefused.inc({ protocol, reason }, spans.accepted);
  }

  commit(seconds: number, committedSpans: number | undefined): void {
    this.commitDuration.observe({ result: committedSpans === undefined ? 'error' : 'ok' }, seconds);
    if (committedSpans) this.spansCommitted.inc(committedSpans);
  }

  watchQueue(queue: WriteQueueState): void {
    this.queue = queue;
  }

  /** Reads the data directory's usage at each scrape (the embedded store only). */
  watchDisk(usage: () => DiskUsage): void {
    this.disk = usage;
  }

  watchReadiness(ready: () => boolean): void {
    this.readiness = ready;
  }

  /** Reads the embedded database's memory at each scrape (a failed read leaves the last value). */
  watchDatabaseMemory(bytes: () => Promise<number>): void {
    this.databaseMemoryBytes = bytes;
  }

  async timeQuery<T>(query: QueryKind, run: () => Promise<T>): Promise<T> {
    const done = this.queryDuration.startTimer({ query });
    try {
      return await run();
    } finally {
      done();
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * Times every request `app` answers under `protocol` (an `onResponse` hook). Register it before
 * the routes. Requests that match no route count under the route `unmatched`. With
 * `methodInRoute`, the route is prefixed with the method (`POST /api/v2/spans`), for an app whose
 * one path is both read and written (Zipkin's `/api/v2/spans`).
 */
export function recordRequests(
  app: FastifyInstance,
  metrics: RequestMetrics,
  protocol: RequestProtocol,
  options: { readonly methodInRoute?: boolean } = {},
): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const label = options.methodInRoute && route !== 'unmatched' ? `${request.method} ${route}` : route;
    metrics.request(protocol, label, reply.statusCode, reply.elapsedTime / 1000);
  });
}

/** A `SpanReader` whose every query is timed under its kind. */
export function timedReader(reader: SpanReader, metrics: Pick<ApiMetrics, 'timeQuery'>): SpanReader {
  return {
    getTrace: (traceId, range) => metrics.timeQuery('trace', () => reader.getTrace(traceId, range)),
    summarizeTraces: (ids) => metrics.timeQuery('summaries', () => reader.summarizeTraces(ids)),
    findTraceCandidates: (query) => metrics.timeQuery('traceql_candidates', () => reader.findTraceCandidates(query)),
    getTraces: (ids) => metrics.timeQuery('traces', () => reader.getTraces(ids)),
    listTagNames: (scope, range, limit) => metrics.timeQuery('tags', () => reader.listTagNames(scope, range, limit)),
    listTagValues: (query) => metrics.timeQuery('tag_values', () => reader.listTagValues(query)),
    listServices: () => metrics.timeQuery('services', () => reader.listServices()),
    listOperations: (service) => metrics.timeQuery('operations', () => reader.listOperations(service)),
    dependencies: (range) => metrics.timeQuery('dependencies', () => reader.dependencies(range)),
    operationStats: (service, range) =>
      metrics.timeQuery('operation_stats', () => reader.operationStats(service, range)),
  };
}

/**
 * The HTTP status a gRPC status code corresponds to (the mapping of Google's API design guide,
 * which grpc-gateway uses), so that OTLP/gRPC requests share the status classes of HTTP.
 */
export function grpcHttpStatus(code: number): number {
  // OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS,
  // PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE,
  // UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED.
  const table = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];
  return table[code] ?? 500;
}

/**
 * Bytes on disk of the embedded store's data directory: the DuckDB file and its WAL (the names
 * `DuckDbSpanStore.open` gives them) and the ingest log's segments (`main.ts` keeps them in
 * `ingest-log/`). A file not there counts 0. Synchronous: a few `stat` calls per scrape.
 */
export function dataDirUsage(dataDir: string): DiskUsage {
  const size = (path: string) => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  const database = join(dataDir, 'ariadne.duckdb');
  const logDir = join(dataDir, 'ingest-log');
  let ingestLog = 0;
  try {
    for (const name of readdirSync(logDir)) if (name.endsWith('.log')) ingestLog += size(join(logDir, name));
  } catch {
    // No log directory (yet): nothing on disk.
  }
  return { database: size(database), wal: size(`${database}.wal`), ingestLog };
}
