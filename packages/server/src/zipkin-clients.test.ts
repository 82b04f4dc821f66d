import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ApiSpanJson, ZipkinSpan } from '@ariadne/core';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { hrTimeToMicroseconds } from '@opentelemetry/core';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Annotation, BatchRecorder, ExplicitContext, InetAddress, jsonEncoder, type TraceId, Tracer } from 'zipkin';
import { HttpLogger } from 'zipkin-transport-http';
import { encodeZipkinProto, protoSpanOf } from './ingest/testdata/zipkin-proto-writer.ts';
import { type CompatTestServer, describeOnEachStore, startCompatServer } from './testdata/compat-server.ts';

/**
 * End to end through real Zipkin clients: OpenTelemetry's Zipkin exporter and zipkin-js (v1 JSON,
 * its default, and v2) send to `ariadne serve`'s Zipkin port; the spans are stored in a real
 * DuckDB file behind the ingest log, or in a real ClickHouse server, and read back field by field
 * through the Zipkin API, Ariadne's own `/api/v1/traces/{id}`, the Jaeger API and the Tempo API.
 * Then the zipkin-lens fixtures, posted as JSON and as proto3, come back unchanged.
 */

const fixtures = new URL('../../../fixtures/zipkin/', import.meta.url);

/** Keys sorted at every level: Zipkin's JSON has no meaningful key order. */
function canonical(spans: readonly unknown[]): string[] {
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sortKeys)
      : typeof v === 'object' && v !== null
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
          )
        : v;
  return spans.map((s) => JSON.stringify(sortKeys(s))).sort();
}

/** A span of Jaeger's `/api/traces/{id}` (uimodel), the fields checked here. */
interface JaegerTraceJson {
  traceID: string;
  spans: {
    spanID: string;
    operationName: string;
    references: { refType: string; traceID: string; spanID: string }[];
    startTime: number;
    duration: number;
    tags: { key: string; type: string; value: unknown }[];
    logs: { timestamp: number; fields: { key: string; type: string; value: unknown }[] }[];
    processID: string;
  }[];
  processes: Record<string, { serviceName: string; tags: { key: string; type: string; value: unknown }[] }>;
}

/** A span of Tempo's `/api/v2/traces/{id}` JSON (gogo-jsonpb: base64 ids, enum names), with its resource. */
interface TempoSpanJson {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
  events?: { timeUnixNano: string; name: string }[];
  status?: { code?: string; message?: string };
  resource: { attributes: { key: string; value: Record<string, unknown> }[] };
}

const hexOf = (base64: string | undefined) => Buffer.from(base64 ?? '', 'base64').toString('hex');

interface FlushableLogger {
  processQueue(fetchImplementation: unknown): void;
  fetchImplementation: unknown;
  once(event: 'success' | 'error', listener: (value: unknown) => void): void;
}

/** A zipkin-js tracer reporting through `HttpLogger`, flushed on demand rather than by its timer. */
function zipkinJs(endpoint: string, serviceName: string, v2 = false) {
  const logger = new HttpLogger({
    endpoint,
    jsonEncoder: v2 ? jsonEncoder.JSON_V2 : undefined,
    httpInterval: 3_600_000,
  }) as unknown as FlushableLogger & ConstructorParameters<typeof BatchRecorder>[0]['logger'];
  const tracer = new Tracer({
    ctxImpl: new ExplicitContext(),
    recorder: new BatchRecorder({ logger }),
    localServiceName: serviceName,
  });
  const flush = () =>
    new Promise<void>((resolve, reject) => {
      logger.once('success', () => resolve());
      logger.once('error', reject);
      logger.processQueue(logger.fetchImplementation);
    });
  return { tracer, flush };
}

describeOnEachStore('Zipkin clients against ariadne serve', (store) => {
  let compat: CompatTestServer;
  let zipkinUrl: string;

  before(async () => {
    compat = await startCompatServer(store);
    zipkinUrl = compat.zipkin;
  });
  after(async () => {
    await compat?.close();
  });

  const zipkinTrace = async (id: string): Promise<ZipkinSpan[]> => {
    const response = await fetch(`${zipkinUrl}/api/v2/trace/${id}`);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as ZipkinSpan[];
  };
  const ariadneTrace = async (id: string): Promise<ApiSpanJson[]> => {
    const response = await fetch(`${compat.server.apiUrl}/api/v1/traces/${id.padStart(32, '0')}`);
    assert.equal(response.status, 200);
    return ((await response.json()) as { spans: ApiSpanJson[] }).spans;
  };
  const jaegerTrace = async (id: string): Promise<JaegerTraceJson> => {
    const response = await fetch(`${compat.jaeger}/api/traces/${id}`);
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { data: JaegerTraceJson[] };
    assert.equal(body.data.length, 1);
    return body.data[0];
  };
  const tempoSpans = async (id: string): Promise<TempoSpanJson[]> => {
    const response = await fetch(`${compat.tempo}/api/v2/traces/${id}`);
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as {
      trace: { resourceSpans?: { resource: TempoSpanJson['resource']; scopeSpans: { spans: TempoSpanJson[] }[] }[] };
    };
    return (body.trace.resourceSpans ?? []).flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ ...span, resource: rs.resource }))),
    );
  };
  const byId = <T extends { id?: string; spanId?: string }>(spans: T[], id: string) =>
    spans.find((s) => (s.id ?? s.spanId) === id) as T;

  it('lists where it listens', () => {
    assert.match(zipkinUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('OpenTelemetry Zipkin exporter: spans read back field by field, in Zipkin and in OTLP', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'otel-shop', 'deployment.environment': 'test' }),
      spanProcessors: [
        new SimpleSpanProcessor(new ZipkinExporter({ url: `${zipkinUrl}/api/v2/spans` })),
        new SimpleSpanProcessor(memory),
      ],
    });
    const tracer = provider.getTracer('shop-lib', '1.0.0');
    const root = tracer.startSpan('GET /orders', {
      kind: SpanKind.SERVER,
      attributes: { 'http.route': '/orders', retries: 2, cached: false, ratio: 0.5, list: ['a', 'b'] },
    });
    root.addEvent('enqueued');
    root.setStatus({ code: SpanStatusCode.OK });
    const child = tracer.startSpan(
      'charge',
      { kind: SpanKind.CLIENT, attributes: { 'peer.service': 'billing' } },
      trace.setSpan(context.active(), root),
    );
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
    child.end();
    root.end();
    await provider.forceFlush();
    // Read before the shutdown, which empties the memory exporter.
    const [sentChild, sentRoot] = memory.getFinishedSpans() as ReadableSpan[];
    await provider.shutdown();

    const traceId = sentRoot.spanContext().traceId;
    // The exporter sends start times with a fraction of a microsecond, which Ariadne rounds;
    // durations and annotation times it rounds itself.
    const micros = (span: ReadableSpan) => ({
      timestamp: Math.round(hrTimeToMicroseconds(span.startTime)),
      duration: Math.round(hrTimeToMicroseconds(span.duration)),
    });
    // The exporter sends the resource's attributes as tags too.
    const resourceTags = Object.fromEntries(
      Object.entries(sentRoot.resource.attributes)
        .filter(([key]) => key !== 'service.name')
        .map(([key, value]) => [key, String(value)]),
    );
    assert.deepEqual(resourceTags, { 'deployment.environment': 'test' });
    const spans = await zipkinTrace(traceId);
    assert.deepEqual(byId(spans, sentRoot.spanContext().spanId), {
      traceId,
      id: sentRoot.spanContext().spanId,
      kind: 'SERVER',
      name: 'GET /orders',
      ...micros(sentRoot),
      localEndpoint: { serviceName: 'otel-shop' },
      annotations: [{ timestamp: Math.round(hrTimeToMicroseconds(sentRoot.events[0].time)), value: 'enqueued' }],
      // As sent, but `service.name`, which is the local endpoint's name.
      tags: {
        'http.route': '/orders',
        retries: '2',
        cached: 'false',
        ratio: '0.5',
        list: 'a,b',
        ...resourceTags,
        'otel.status_code': 'OK',
      },
    });
    assert.deepEqual(byId(spans, sentChild.spanContext().spanId), {
      traceId,
      parentId: sentRoot.spanContext().spanId,
      id: sentChild.spanContext().spanId,
      kind: 'CLIENT',
      name: 'charge',
      ...micros(sentChild),
      localEndpoint: { serviceName: 'otel-shop' },
      // The specification's remote endpoint: from peer.service.
      remoteEndpoint: { serviceName: 'billing' },
      tags: { ...resourceTags, 'otel.status_code': 'ERROR', error: 'card declined' },
    });

    const otlp = await ariadneTrace(traceId);
    const otlpRoot = byId(otlp, sentRoot.spanContext().spanId);
    const otlpChild = byId(otlp, sentChild.spanContext().spanId);
    assert.equal(otlpRoot.serviceName, 'otel-shop');
    assert.equal(otlpRoot.kind, 2);
    assert.equal(otlpRoot.startTimeUnixNano, String(BigInt(micros(sentRoot).timestamp) * 1000n));
    assert.deepEqual(otlpRoot.status, { code: 1, message: '' });
    assert.deepEqual(otlpRoot.attributes, [
      { key: 'http.route', value: { stringValue: '/orders' } },
      { key: 'retries', value: { stringValue: '2' } },
      { key: 'cached', value: { stringValue: 'false' } },
      { key: 'ratio', value: { stringValue: '0.5' } },
      { key: 'list', value: { stringValue: 'a,b' } },
    ]);
    assert.deepEqual(
      otlpRoot.resource.attributes.map((a) => a.key),
      ['service.name', 'deployment.environment'],
    );
    assert.deepEqual(
      otlpRoot.events.map((e) => e.name),
      ['enqueued'],
    );
    assert.equal(otlpChild.kind, 3);
    assert.equal(otlpChild.parentSpanId, sentRoot.spanContext().spanId);
    assert.deepEqual(otlpChild.status, { code: 2, message: 'card declined' });
    assert.deepEqual(otlpChild.attributes, [{ key: 'peer.service', value: { stringValue: 'billing' } }]);

    // Through the Jaeger API, as the Jaeger UI and Grafana's Jaeger data source read it.
    const rootId = sentRoot.spanContext().spanId;
    const childId = sentChild.spanContext().spanId;
    const jaeger = await jaegerTrace(traceId);
    assert.equal(jaeger.traceID, traceId);
    const jRoot = jaeger.spans.find((s) => s.spanID === rootId)!;
    const jChild = jaeger.spans.find((s) => s.spanID === childId)!;
    assert.equal(jaeger.spans.length, 2);
    assert.equal(jRoot.operationName, 'GET /orders');
    assert.equal(jRoot.startTime, micros(sentRoot).timestamp);
    assert.equal(jRoot.duration, micros(sentRoot).duration);
    assert.deepEqual(jRoot.references, []);
    const tagsOf = (list: { key: string; value: unknown }[]) => Object.fromEntries(list.map((t) => [t.key, t.value]));
    assert.deepEqual(tagsOf(jRoot.tags), {
      'http.route': '/orders',
      retries: '2',
      cached: 'false',
      ratio: '0.5',
      list: 'a,b',
      'span.kind': 'server',
      'otel.status_code': 'OK',
    });
    assert.deepEqual(
      jRoot.logs.map((l) => [l.timestamp, tagsOf(l.fields)]),
      [[Math.round(hrTimeToMicroseconds(sentRoot.events[0].time)), { event: 'enqueued' }]],
    );
    assert.deepEqual(jaeger.processes[jRoot.processID], {
      serviceName: 'otel-shop',
      tags: [{ key: 'deployment.environment', type: 'string', value: 'test' }],
    });
    assert.deepEqual(jChild.references, [{ refType: 'CHILD_OF', traceID: traceId, spanID: rootId }]);
    assert.deepEqual(tagsOf(jChild.tags), {
      'peer.service': 'billing',
      'span.kind': 'client',
      'otel.status_code': 'ERROR',
      error: true,
      'otel.status_description': 'card declined',
    });
    assert.equal(jChild.startTime, micros(sentChild).timestamp);

    // Through the Tempo API, as Grafana's Tempo data source reads it.
    const tempo = await tempoSpans(traceId);
    assert.equal(tempo.length, 2);
    const tRoot = tempo.find((s) => hexOf(s.spanId) === rootId)!;
    const tChild = tempo.find((s) => hexOf(s.spanId) === childId)!;
    for (const s of tempo) assert.equal(hexOf(s.traceId), traceId);
    assert.equal(tRoot.name, 'GET /orders');
    assert.equal(tRoot.kind, 'SPAN_KIND_SERVER');
    assert.equal(tRoot.parentSpanId, undefined);
    assert.equal(tRoot.startTimeUnixNano, String(BigInt(micros(sentRoot).timestamp) * 1000n));
    assert.equal(
      BigInt(tRoot.endTimeUnixNano) - BigInt(tRoot.startTimeUnixNano),
      BigInt(micros(sentRoot).duration) * 1000n,
    );
    assert.deepEqual(tRoot.status, { code: 'STATUS_CODE_OK' });
    assert.deepEqual(
      tRoot.events?.map((e) => e.name),
      ['enqueued'],
    );
    assert.deepEqual(tRoot.resource.attributes, [
      { key: 'service.name', value: { stringValue: 'otel-shop' } },
      { key: 'deployment.environment', value: { stringValue: 'test' } },
    ]);
    assert.equal(tChild.kind, 'SPAN_KIND_CLIENT');
    assert.equal(hexOf(tChild.parentSpanId), rootId);
    assert.deepEqual(tChild.status, { message: 'card declined', code: 'STATUS_CODE_ERROR' });
    assert.deepEqual(tChild.attributes, [{ key: 'peer.service', value: { stringValue: 'billing' } }]);
  });

  it('zipkin-js with its default v1 JSON: a server span and its client call, read back field by field', async () => {
    const { tracer, flush } = zipkinJs(`${zipkinUrl}/api/v1/spans`, 'zipkin-js-shop');
    const base = (Date.now() - 10_000) * 1000;
    let root: TraceId | undefined;
    let call: TraceId | undefined;
    tracer.scoped(() => {
      root = tracer.createRootId();
      tracer.setId(root);
      tracer.recordServiceName('zipkin-js-shop');
      tracer.recordRpc('GET /cart');
      tracer.recordAnnotation(new Annotation.ServerRecv(), base);
      tracer.recordAnnotation(new Annotation.ClientAddr({ host: new InetAddress('10.1.1.1'), port: 5555 }), base);
      tracer.recordBinary('http.path', '/cart');
      tracer.recordAnnotation(new Annotation.Message('cache miss'), base + 100);
      call = tracer.createChildId(root);
      tracer.setId(call);
      tracer.recordServiceName('zipkin-js-shop');
      tracer.recordRpc('select');
      tracer.recordAnnotation(new Annotation.ClientSend(), base + 200);
      tracer.recordAnnotation(
        new Annotation.ServerAddr({ serviceName: 'postgres', host: new InetAddress('10.2.2.2'), port: 5432 }),
        base + 200,
      );
      tracer.recordBinary('error', 'timeout');
      tracer.recordAnnotation(new Annotation.ClientRecv(), base + 700);
      tracer.setId(root);
      tracer.recordAnnotation(new Annotation.ServerSend(), base + 1000);
    });
    await flush();
    assert.ok(root && call);
    const traceId = root.traceId;
    const spans = await zipkinTrace(traceId);
    const local = { serviceName: 'zipkin-js-shop' };
    assert.deepEqual(
      canonical(spans),
      canonical([
        {
          traceId,
          id: root.spanId,
          kind: 'SERVER',
          name: 'get /cart', // zipkin-js lower-cases names
          timestamp: base,
          duration: 1000,
          localEndpoint: local,
          remoteEndpoint: { ipv4: '10.1.1.1', port: 5555 },
          annotations: [{ timestamp: base + 100, value: 'cache miss' }],
          tags: { 'http.path': '/cart' },
        },
        {
          traceId,
          parentId: root.spanId,
          id: call.spanId,
          kind: 'CLIENT',
          name: 'select',
          timestamp: base + 200,
          duration: 500,
          localEndpoint: local,
          remoteEndpoint: { serviceName: 'postgres', ipv4: '10.2.2.2', port: 5432 },
          tags: { error: 'timeout' },
        },
      ]),
    );
    const otlp = await ariadneTrace(traceId);
    const client = byId(otlp, call.spanId);
    assert.equal(client.serviceName, 'zipkin-js-shop');
    assert.deepEqual(client.status, { code: 2, message: 'timeout' });
    assert.equal(client.startTimeUnixNano, String(BigInt(base + 200) * 1000n));
    assert.equal(client.endTimeUnixNano, String(BigInt(base + 700) * 1000n));
    assert.deepEqual(client.attributes, [
      { key: 'error', value: { stringValue: 'timeout' } },
      { key: 'peer.service', value: { stringValue: 'postgres' } },
      { key: 'network.peer.address', value: { stringValue: '10.2.2.2' } },
      { key: 'network.peer.port', value: { intValue: '5432' } },
    ]);
    const server = byId(otlp, root.spanId);
    assert.equal(server.kind, 2);
    assert.deepEqual(
      server.events.map((e) => [e.name, e.timeUnixNano]),
      [['cache miss', String(BigInt(base + 100) * 1000n)]],
    );

    // And found by a search, as zipkin-lens and Grafana ask.
    const search = await fetch(
      `${zipkinUrl}/zipkin/api/v2/traces?serviceName=zipkin-js-shop&remoteServiceName=postgres`,
    );
    const traces = (await search.json()) as ZipkinSpan[][];
    assert.deepEqual(
      traces.map((t) => t[0].traceId),
      [traceId],
    );

    // Jaeger: the classic error search of the Jaeger UI finds the trace, its 64-bit id printed as
    // 16 hex digits; the client span reads back with its remote service and error.
    const jaegerSearch = await fetch(
      `${compat.jaeger}/api/traces?service=zipkin-js-shop&tags=${encodeURIComponent('{"error":"true"}')}&limit=20`,
    );
    const found = (await jaegerSearch.json()) as { data: JaegerTraceJson[] };
    assert.deepEqual(
      found.data.map((t) => t.traceID),
      [traceId],
    );
    const clientId = call.spanId;
    const jClient = found.data[0].spans.find((s) => s.spanID === clientId)!;
    assert.equal(jClient.operationName, 'select');
    assert.equal(jClient.startTime, base + 200);
    assert.equal(jClient.duration, 500);
    assert.deepEqual(jClient.references, [{ refType: 'CHILD_OF', traceID: traceId, spanID: root.spanId }]);

    // Tempo: Grafana's TraceQL search by the remote service finds it; the trace reads back.
    const q = '{ resource.service.name = "zipkin-js-shop" && span.peer.service = "postgres" }';
    const tempoSearch = await fetch(`${compat.tempo}/api/search?q=${encodeURIComponent(q)}&limit=20`);
    assert.equal(tempoSearch.status, 200, await tempoSearch.clone().text());
    const tempoFound = (await tempoSearch.json()) as { traces: { traceID: string; rootServiceName: string }[] };
    assert.deepEqual(
      tempoFound.traces.map((t) => [t.traceID, t.rootServiceName]),
      [[traceId.replace(/^0+/, ''), 'zipkin-js-shop']],
    );
    const tSpans = await tempoSpans(traceId);
    assert.deepEqual(
      tSpans.map((s) => [hexOf(s.spanId), s.name, s.kind]).sort(),
      [
        [call.spanId, 'select', 'SPAN_KIND_CLIENT'],
        [root.spanId, 'get /cart', 'SPAN_KIND_SERVER'],
      ].sort(),
    );
  });

  it('zipkin-js with v2 JSON: a shared server span joins its caller’s span id', async () => {
    const { tracer, flush } = zipkinJs(`${zipkinUrl}/api/v2/spans`, 'zipkin-js-api', true);
    const base = (Date.now() - 5_000) * 1000;
    const caller = tracer.createRootId();
    tracer.scoped(() => {
      // `join` is zipkin-js API its type definitions leave out.
      tracer.setId((tracer as unknown as { join(id: TraceId): TraceId }).join(caller));
      tracer.recordServiceName('zipkin-js-api');
      tracer.recordRpc('post /pay');
      tracer.recordAnnotation(new Annotation.ServerRecv(), base);
      tracer.recordAnnotation(new Annotation.ServerSend(), base + 40);
    });
    await flush();
    assert.deepEqual(await zipkinTrace(caller.traceId), [
      {
        traceId: caller.traceId,
        id: caller.spanId,
        kind: 'SERVER',
        name: 'post /pay',
        timestamp: base,
        duration: 40,
        localEndpoint: { serviceName: 'zipkin-js-api' },
        shared: true,
      },
    ]);
  });

  it('counts Zipkin spans like OTLP ones, and times the Zipkin, Jaeger and Tempo requests, in /metrics', async () => {
    const scrape = async () => {
      const text = await (await fetch(`${compat.server.apiUrl}/metrics`)).text();
      const value = (series: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.slice(series.length + 1));
      };
      return { text, value };
    };
    const before = await scrape();
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${zipkinUrl}/api/v2/spans`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const span = { traceId: 'a'.repeat(16), id: 'b'.repeat(16), name: 'counted', timestamp: Date.now() * 1000 };
    assert.equal((await post(JSON.stringify([span, { ...span, id: 'c'.repeat(16) }]))).status, 202);
    assert.equal((await post('[{"traceId": 1}]')).status, 400);
    assert.equal((await post('[]', { 'content-encoding': 'br' })).status, 415);
    await fetch(`${compat.jaeger}/api/services`);
    await fetch(`${compat.tempo}/api/echo`);
    const after = await scrape();
    const delta = (series: string) => (after.value(series) ?? Number.NaN) - (before.value(series) ?? 0);
    assert.equal(delta('ariadne_spans_received_total{protocol="zipkin"}'), 2);
    assert.equal(delta('ariadne_spans_accepted_total{protocol="zipkin"}'), 2);
    assert.equal(after.value('ariadne_spans_refused_total{protocol="zipkin",reason="invalid"}'), 0);
    assert.equal(delta('ariadne_ingest_requests_refused_total{protocol="zipkin",reason="malformed"}'), 1);
    assert.equal(delta('ariadne_ingest_requests_refused_total{protocol="zipkin",reason="unsupported_media_type"}'), 1);
    const requests = (labels: string) => after.value(`ariadne_request_duration_seconds_count{${labels}}`) ?? Number.NaN;
    assert.ok(requests('protocol="zipkin",route="POST /api/v2/spans",status_class="2xx"') >= 1);
    assert.ok(requests('protocol="zipkin",route="POST /api/v2/spans",status_class="4xx"') >= 2);
    assert.ok(requests('protocol="zipkin",route="GET /api/v2/trace/:traceId",status_class="2xx"') >= 1);
    assert.ok(requests('protocol="jaeger",route="/api/services",status_class="2xx"') >= 1);
    assert.ok(requests('protocol="jaeger",route="/api/traces/:traceID",status_class="2xx"') >= 1);
    assert.ok(requests('protocol="tempo",route="/api/echo",status_class="2xx"') >= 1);
    assert.ok((after.value('ariadne_query_duration_seconds_count{query="trace"}') ?? 0) >= 1);
  });

  for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.json'))) {
    it(`zipkin-lens fixture ${file}: posted as JSON (gzip) and as proto3, read back unchanged`, async () => {
      const original = (JSON.parse(readFileSync(new URL(file, fixtures), 'utf8')) as ZipkinSpan[][]).flat();
      // The proto3 copy goes to other trace ids (a non-zero upper half), so that both are kept
      // apart; its IPv4 addresses are 4 bytes, which do not keep a leading zero (`10.0.0.04`).
      const bytesOnly = (e: ZipkinSpan['localEndpoint']) =>
        e?.ipv4 === undefined ? e : { ...e, ipv4: e.ipv4.split('.').map(Number).join('.') };
      const copy = original.map((s) => {
        const out: ZipkinSpan = { ...s, traceId: `00000000000000ff${s.traceId.slice(-16)}` };
        if (s.localEndpoint) Object.assign(out, { localEndpoint: bytesOnly(s.localEndpoint) });
        if (s.remoteEndpoint) Object.assign(out, { remoteEndpoint: bytesOnly(s.remoteEndpoint) });
        return out;
      });
      const json = await fetch(`${zipkinUrl}/api/v2/spans`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify(original)),
      });
      assert.equal(json.status, 202, await json.text());
      const proto = await fetch(`${zipkinUrl}/api/v2/spans`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: Buffer.from(encodeZipkinProto(copy.map(protoSpanOf))),
      });
      assert.equal(proto.status, 202, await proto.text());
      for (const sent of [original, copy]) {
        const ids = [...new Set(sent.map((s) => s.traceId))];
        const back = (await Promise.all(ids.map(zipkinTrace))).flat();
        assert.deepEqual(canonical(back), canonical(sent));
      }
    });
  }
});
