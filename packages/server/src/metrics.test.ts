import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Span } from '@ariadne/core';
import * as grpc from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { buildApiApp } from './api/app.ts';
import { OtlpGrpcReceiver } from './ingest/otlp-grpc.ts';
import { buildOtlpHttpApp } from './ingest/otlp-http.ts';
import { ExportTraceServiceRequest } from './ingest/otlp-proto-schema.ts';
import { WriteQueue } from './ingest/write-queue.ts';
import { type RunningServer, startServer } from './main.ts';
import { ServerMetrics } from './metrics.ts';
import type { SpanWriter } from './query/span-store.ts';
import { DuckDbSpanStore } from './store/duckdb-store.ts';

/**
 * `/metrics` from outside: real spans sent through the OpenTelemetry exporters (OTLP/HTTP
 * protobuf and OTLP/gRPC) and hand-made OTLP requests move the counters by exactly what was sent;
 * refused requests count under their reason; the histograms and gauges report what happened.
 */

// ---- reading the exposition ----

/** Samples of a Prometheus text exposition by `name{sorted labels}`; throws on a line of another shape. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a Prometheus text line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g))
      labels[key] = value;
    const value = match[3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[3]);
    samples.set(seriesKey(match[1], labels), value);
  }
  return samples;
}

function seriesKey(name: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}="${v}"`);
  return `${name}{${pairs.join(',')}}`;
}

/** One scrape; `value` is 0 for a series not exported (a labelled counter never incremented). */
function scrapeOf(text: string) {
  const samples = parseExposition(text);
  return {
    text,
    has: (name: string, labels: Record<string, string> = {}) => samples.has(seriesKey(name, labels)),
    value: (name: string, labels: Record<string, string> = {}) => samples.get(seriesKey(name, labels)) ?? 0,
  };
}
type Scrape = ReturnType<typeof scrapeOf>;

const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) =>
  after.value(name, labels) - before.value(name, labels);

// ---- making OTLP requests ----

/** `count` finished spans of one trace, made by the OpenTelemetry SDK. */
async function sdkSpans(count: number, service: string): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('metrics-test');
  for (let i = 0; i < count; i++) tracer.startSpan(`op-${i}`).end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** Exports `spans` in one request through a real exporter, then shuts it down. */
async function exportOnce(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  const result = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) =>
    exporter.export(spans, resolve),
  );
  await exporter.shutdown();
  assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
}

const TRACE = new Uint8Array(16).fill(0xab);
const span = (name: string, id: number) => ({
  traceId: TRACE,
  spanId: new Uint8Array(8).fill(id),
  name,
  startTimeUnixNano: 1000,
  endTimeUnixNano: 2000,
});
/** An OTLP protobuf request of `spans` from one service. */
function protobuf(spans: object[]): Buffer {
  const request = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'metrics-test' } }] },
        scopeSpans: [{ spans }],
      },
    ],
  };
  return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish());
}

// ---- a running server ----

describe('/metrics of a running server', () => {
  let dir: string;
  let server: RunningServer;
  const scrape = async () => {
    const response = await fetch(`${server.apiUrl}/metrics`);
    assert.equal(response.status, 200);
    return { contentType: response.headers.get('content-type'), ...scrapeOf(await response.text()) };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-metrics-'));
    server = await startServer({
      dataDir: dir,
      host: '127.0.0.1',
      apiPort: 0,
      otlpHttpPort: 0,
      otlpGrpcPort: 0,
      maxPendingSpans: 5000,
      readConsistency: 'read-your-writes',
    });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the Prometheus text format, with the process metrics', async () => {
    const metrics = await scrape();
    assert.match(metrics.contentType ?? '', /^text\/plain; version=0\.0\.4/);
    assert.ok(metrics.value('process_resident_memory_bytes') > 0);
    assert.ok(metrics.has('nodejs_heap_size_used_bytes'));
    assert.equal(metrics.value('ariadne_ready'), 1);
    assert.equal(metrics.value('ariadne_write_queue_max_spans'), 5000);
    assert.ok(metrics.value('ariadne_database_size_bytes', { file: 'database' }) > 0);
    assert.ok(metrics.has('ariadne_database_size_bytes', { file: 'wal' }));
    assert.ok(metrics.has('ariadne_ingest_log_size_bytes'));
    // DuckDB's own count: its catalog and the open database hold some memory from the start.
    assert.ok(metrics.value('ariadne_database_memory_bytes') > 0);
    // Series exist at 0 before anything happens, so that rates and alerts see the first event.
    assert.ok(metrics.has('ariadne_spans_refused_total', { protocol: 'otlp_grpc', reason: 'queue_full' }));
    assert.ok(metrics.has('ariadne_ingest_requests_refused_total', { protocol: 'otlp_http', reason: 'too_large' }));
    assert.ok(metrics.has('ariadne_store_commit_duration_seconds_count', { result: 'error' }));
    // Every metric of ours is declared, with a help text and a type.
    for (const name of [
      'ariadne_spans_received_total',
      'ariadne_spans_accepted_total',
      'ariadne_spans_refused_total',
      'ariadne_ingest_requests_refused_total',
      'ariadne_request_duration_seconds',
      'ariadne_query_duration_seconds',
      'ariadne_spans_committed_total',
      'ariadne_store_commit_duration_seconds',
      'ariadne_write_queue_spans',
      'ariadne_write_queue_lag_seconds',
    ]) {
      assert.match(metrics.text, new RegExp(`^# HELP ${name} \\S`, 'm'));
      assert.match(metrics.text, new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'));
    }
  });

  it('counts spans sent by the OpenTelemetry exporters exactly, by protocol, and times their requests', async () => {
    const before = await scrape();
    await exportOnce(new ProtoExporter({ url: `${server.otlpHttpUrl}/v1/traces` }), await sdkSpans(3, 'http-svc'));
    await exportOnce(new GrpcExporter({ url: server.otlpGrpcUrl }), await sdkSpans(2, 'grpc-svc'));
    // A read answers after what was acknowledged is committed: then the commit counters are final.
    const services = await fetch(`${server.apiUrl}/api/v1/services`);
    assert.deepEqual(((await services.json()) as { services: string[] }).services.sort(), ['grpc-svc', 'http-svc']);
    const after = await scrape();

    const http = { protocol: 'otlp_http' };
    const grpcLabel = { protocol: 'otlp_grpc' };
    assert.equal(delta(before, after, 'ariadne_spans_received_total', http), 3);
    assert.equal(delta(before, after, 'ariadne_spans_accepted_total', http), 3);
    assert.equal(delta(before, after, 'ariadne_spans_received_total', grpcLabel), 2);
    assert.equal(delta(before, after, 'ariadne_spans_accepted_total', grpcLabel), 2);
    assert.equal(delta(before, after, 'ariadne_spans_committed_total'), 5);
    assert.ok(delta(before, after, 'ariadne_store_commit_duration_seconds_count', { result: 'ok' }) >= 1);
    assert.ok(delta(before, after, 'ariadne_store_commit_duration_seconds_sum', { result: 'ok' }) > 0);

    const route = (protocol: string, path: string, status_class: string) => ({ protocol, route: path, status_class });
    const otlpOk = route('otlp_http', '/v1/traces', '2xx');
    const grpcOk = route('otlp_grpc', '/opentelemetry.proto.collector.trace.v1.TraceService/Export', '2xx');
    assert.equal(delta(before, after, 'ariadne_request_duration_seconds_count', otlpOk), 1);
    assert.equal(delta(before, after, 'ariadne_request_duration_seconds_count', grpcOk), 1);
    assert.equal(delta(before, after, 'ariadne_request_duration_seconds_bucket', { ...grpcOk, le: '+Inf' }), 1);
    assert.ok(delta(before, after, 'ariadne_request_duration_seconds_sum', grpcOk) > 0);
    assert.equal(delta(before, after, 'ariadne_query_duration_seconds_count', { query: 'services' }), 1);
    assert.equal(
      delta(before, after, 'ariadne_request_duration_seconds_count', route('http', '/api/v1/services', '2xx')),
      1,
    );
    // Everything acknowledged is committed: nothing waits.
    assert.equal(after.value('ariadne_write_queue_spans'), 0);
    assert.equal(after.value('ariadne_write_queue_lag_seconds'), 0);
  });

  it('counts invalid spans as refused (partial success) and a malformed request under its reason', async () => {
    const before = await scrape();
    const post = (contentType: string, body: Buffer | string) =>
      fetch(`${server.otlpHttpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: typeof body === 'string' ? body : new Uint8Array(body),
      });
    const partial = await post(
      'application/x-protobuf',
      protobuf([span('good', 1), { ...span('zero trace id', 2), traceId: new Uint8Array(16) }]),
    );
    assert.equal(partial.status, 200);
    const malformed = await post('application/json', '{"resourceSpans": [');
    assert.equal(malformed.status, 400);
    const notOtlp = await post('text/plain', 'hello');
    assert.equal(notOtlp.status, 415);
    const trace = await fetch(`${server.apiUrl}/api/v1/traces/${Buffer.from(TRACE).toString('hex')}`);
    assert.equal(trace.status, 200);
    const after = await scrape();

    const http = { protocol: 'otlp_http' };
    assert.equal(delta(before, after, 'ariadne_spans_received_total', http), 2);
    assert.equal(delta(before, after, 'ariadne_spans_accepted_total', http), 1);
    assert.equal(delta(before, after, 'ariadne_spans_refused_total', { ...http, reason: 'invalid' }), 1);
    assert.equal(delta(before, after, 'ariadne_ingest_requests_refused_total', { ...http, reason: 'malformed' }), 1);
    assert.equal(
      delta(before, after, 'ariadne_ingest_requests_refused_total', { ...http, reason: 'unsupported_media_type' }),
      1,
    );
    const otlp = (status_class: string) => ({ protocol: 'otlp_http', route: '/v1/traces', status_class });
    assert.equal(delta(before, after, 'ariadne_request_duration_seconds_count', otlp('2xx')), 1);
    assert.equal(delta(before, after, 'ariadne_request_duration_seconds_count', otlp('4xx')), 2);
    assert.equal(delta(before, after, 'ariadne_query_duration_seconds_count', { query: 'trace' }), 1);
    assert.equal(delta(before, after, 'ariadne_spans_committed_total'), 1);
  });

  it('times requests to no route under "unmatched", without one series per URL', async () => {
    const before = await scrape();
    assert.equal((await fetch(`${server.apiUrl}/no/such/page-${Date.now()}`)).status, 404);
    const after = await scrape();
    const unmatched = { protocol: 'http', route: 'unmatched', status_class: '4xx' };
    assert.equal(delta(before, after, 'ariadne_request_duration_seconds_count', unmatched), 1);
    assert.doesNotMatch(after.text, /no\/such\/page/);
  });
});

// ---- refusals, one part at a time ----

/** A writer that holds every write until released: only to fill the queue deterministically. */
function heldWriter(inner: SpanWriter) {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  return {
    release: () => release(),
    writer: {
      writeSpans: async (spans: readonly Span[]) => {
        await gate;
        await inner.writeSpans(spans);
      },
    },
  };
}

/**
 * Resolves once `condition` holds (checked every millisecond): no sleep that guesses a duration.
 * Throws, naming what it waited for, if it still does not hold after 30 s (a generous bound, so a
 * busy machine is never the reason).
 */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`still waiting after 30 s: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('refusals counted under their reason', () => {
  let dir: string;
  let store: DuckDbSpanStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-metrics-parts-'));
    store = await DuckDbSpanStore.open({ dataDir: dir });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = async (metrics: ServerMetrics) => scrapeOf(await metrics.exposition());

  it('OTLP/HTTP: a full queue refuses the request and its spans as queue_full; the queue shows depth and lag', async () => {
    const metrics = new ServerMetrics({ processMetrics: false });
    const held = heldWriter(store);
    const queue = new WriteQueue({ writer: held.writer, maxPendingSpans: 1, maxBatchSpans: 10, metrics });
    const app = buildOtlpHttpApp({ queue, maxBodyBytes: 1024 * 1024, metrics });
    try {
      const send = (spans: object[]) =>
        app.inject({
          method: 'POST',
          url: '/v1/traces',
          headers: { 'content-type': 'application/x-protobuf' },
          payload: protobuf(spans),
        });
      const first = send([span('held', 1)]);
      await until(() => queue.pending === 1, 'the first request in the write queue');
      const waiting = await read(metrics);
      assert.equal(waiting.value('ariadne_write_queue_spans'), 1);
      assert.ok(waiting.value('ariadne_write_queue_lag_seconds') > 0);
      const refused = await send([span('over', 2), span('the limit', 3)]);
      assert.equal(refused.statusCode, 503);
      held.release();
      assert.equal((await first).statusCode, 200);

      const after = await read(metrics);
      const http = { protocol: 'otlp_http' };
      assert.equal(after.value('ariadne_ingest_requests_refused_total', { ...http, reason: 'queue_full' }), 1);
      assert.equal(after.value('ariadne_spans_refused_total', { ...http, reason: 'queue_full' }), 2);
      assert.equal(after.value('ariadne_spans_received_total', http), 3);
      assert.equal(after.value('ariadne_spans_accepted_total', http), 1);
      assert.equal(after.value('ariadne_spans_committed_total'), 1);
      const unavailable = { protocol: 'otlp_http', route: '/v1/traces', status_class: '5xx' };
      assert.equal(after.value('ariadne_request_duration_seconds_count', unavailable), 1);
      assert.equal(after.value('ariadne_write_queue_spans'), 0);
      assert.equal(after.value('ariadne_write_queue_lag_seconds'), 0);
    } finally {
      held.release();
      await app.close();
    }
  });

  it('shows the load refusals compare: a request larger than the queue counts as half of it', async () => {
    const metrics = new ServerMetrics({ processMetrics: false });
    const held = heldWriter(store);
    const queue = new WriteQueue({ writer: held.writer, maxPendingSpans: 4, maxBatchSpans: 100, metrics });
    const app = buildOtlpHttpApp({ queue, maxBodyBytes: 1024 * 1024, metrics });
    try {
      const large = app.inject({
        method: 'POST',
        url: '/v1/traces',
        headers: { 'content-type': 'application/x-protobuf' },
        payload: protobuf(Array.from({ length: 10 }, (_, i) => span(`large ${i}`, i + 1))),
      });
      await until(() => queue.pending === 10, 'the large request in the write queue');
      const waiting = await read(metrics);
      assert.equal(waiting.value('ariadne_write_queue_spans'), 10);
      assert.equal(waiting.value('ariadne_write_queue_load_spans'), 2);
      assert.equal(waiting.value('ariadne_write_queue_max_spans'), 4);
      held.release();
      assert.equal((await large).statusCode, 200);
      assert.equal((await read(metrics)).value('ariadne_write_queue_load_spans'), 0);
    } finally {
      held.release();
      await app.close();
    }
  });

  it('OTLP/HTTP: too large, and after the queue closed (shutting_down)', async () => {
    const metrics = new ServerMetrics({ processMetrics: false });
    const queue = new WriteQueue({ writer: store, maxPendingSpans: 100, maxBatchSpans: 10, metrics });
    const app = buildOtlpHttpApp({ queue, maxBodyBytes: 256, metrics });
    try {
      const send = (payload: Buffer) =>
        app.inject({
          method: 'POST',
          url: '/v1/traces',
          headers: { 'content-type': 'application/x-protobuf' },
          payload,
        });
      assert.equal((await send(Buffer.alloc(257))).statusCode, 413);
      await queue.close();
      assert.equal((await send(protobuf([span('late', 4)]))).statusCode, 503);
      const after = await read(metrics);
      const http = { protocol: 'otlp_http' };
      assert.equal(after.value('ariadne_ingest_requests_refused_total', { ...http, reason: 'too_large' }), 1);
      assert.equal(after.value('ariadne_ingest_requests_refused_total', { ...http, reason: 'shutting_down' }), 1);
      assert.equal(after.value('ariadne_spans_refused_total', { ...http, reason: 'shutting_down' }), 1);
      assert.equal(after.value('ariadne_spans_received_total', http), 1);
      assert.equal(after.value('ariadne_spans_accepted_total', http), 0);
    } finally {
      await app.close();
    }
  });

  it('a failing store write is timed as an error, and its spans refused as unavailable', async () => {
    const metrics = new ServerMetrics({ processMetrics: false });
    const failing: SpanWriter = { writeSpans: () => Promise.reject(new Error('disk on fire')) };
    const queue = new WriteQueue({ writer: failing, maxPendingSpans: 100, maxBatchSpans: 10, metrics });
    const app = buildOtlpHttpApp({ queue, maxBodyBytes: 1024 * 1024, metrics });
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/traces',
        headers: { 'content-type': 'application/x-protobuf' },
        payload: protobuf([span('lost', 5), span('lost too', 6)]),
      });
      assert.equal(response.statusCode, 503);
      const after = await read(metrics);
      assert.equal(after.value('ariadne_store_commit_duration_seconds_count', { result: 'error' }), 1);
      assert.equal(after.value('ariadne_store_commit_duration_seconds_count', { result: 'ok' }), 0);
      assert.equal(after.value('ariadne_spans_committed_total'), 0);
      const unavailable = { protocol: 'otlp_http', reason: 'unavailable' };
      assert.equal(after.value('ariadne_ingest_requests_refused_total', unavailable), 1);
      assert.equal(after.value('ariadne_spans_refused_total', unavailable), 2);
    } finally {
      await app.close();
    }
  });

  it('OTLP/gRPC: a full queue refuses as queue_full, undecodable bytes as malformed', async () => {
    const metrics = new ServerMetrics({ processMetrics: false });
    const held = heldWriter(store);
    const queue = new WriteQueue({ writer: held.writer, maxPendingSpans: 1, maxBatchSpans: 10, metrics });
    const receiver = new OtlpGrpcReceiver({ queue, maxMessageBytes: 1024 * 1024, metrics });
    const port = await receiver.listen('127.0.0.1', 0);
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = (body: Buffer) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        client.makeUnaryRequest(
          '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          (b: Buffer) => b,
          (b: Buffer) => b,
          body,
          (error) => resolve(error),
        );
      });
    try {
      const first = call(protobuf([span('held', 7)]));
      await until(() => queue.pending === 1, 'the first request in the write queue');
      assert.equal((await call(protobuf([span('refused', 8)])))?.code, grpc.status.UNAVAILABLE);
      assert.equal((await call(Buffer.from([0x0a, 0x05, 0x01])))?.code, grpc.status.INVALID_ARGUMENT);
      held.release();
      assert.equal(await first, null);

      const after = await read(metrics);
      const g = { protocol: 'otlp_grpc' };
      assert.equal(after.value('ariadne_ingest_requests_refused_total', { ...g, reason: 'queue_full' }), 1);
      assert.equal(after.value('ariadne_ingest_requests_refused_total', { ...g, reason: 'malformed' }), 1);
      assert.equal(after.value('ariadne_spans_refused_total', { ...g, reason: 'queue_full' }), 1);
      assert.equal(after.value('ariadne_spans_received_total', g), 2);
      assert.equal(after.value('ariadne_spans_accepted_total', g), 1);
      const calls = (status_class: string) => ({
        protocol: 'otlp_grpc',
        route: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        status_class,
      });
      assert.equal(after.value('ariadne_request_duration_seconds_count', calls('2xx')), 1);
      assert.equal(after.value('ariadne_request_duration_seconds_count', calls('4xx')), 1);
      assert.equal(after.value('ariadne_request_duration_seconds_count', calls('5xx')), 1);
    } finally {
      held.release();
      client.close();
      await receiver.close();
    }
  });

  it('the API without metrics has no /metrics and records nothing', async () => {
    const app = buildApiApp({ store });
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/services' })).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  it('the API reports readiness as /readyz answers it', async () => {
    const metrics = new ServerMetrics({ processMetrics: false });
    let ready = false;
    const app = buildApiApp({ store, metrics, readiness: () => ({ ready, reason: 'starting' }) });
    try {
      const value = async () =>
        scrapeOf((await app.inject({ method: 'GET', url: '/metrics' })).body).value('ariadne_ready');
      assert.equal(await value(), 0);
      ready = true;
      assert.equal(await value(), 1);
    } finally {
      await app.close();
    }
  });
});
