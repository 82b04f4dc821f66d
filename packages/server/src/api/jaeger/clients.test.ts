import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { context, type Span as OtelSpan, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  type CompatTestServer,
  describeOnEachStore,
  otlpTracerProviders,
  startCompatServer,
} from '../../testdata/compat-server.ts';

/**
 * The Jaeger UI and Grafana's Jaeger data source against a real `ariadne serve`, on the embedded
 * store and on ClickHouse: spans sent by OpenTelemetry's OTLP/HTTP exporter, then the exact
 * request URLs those clients build (written out as they put them on the wire: parameter order,
 * encoding, empty parameters and all), their responses checked field by field against the shapes
 * the clients decode (Jaeger's `uimodel`, Grafana's `pkg/tsdb/jaeger/types`, jaeger-ui's api_v3
 * zod schemas).
 */

interface Sent {
  traceId: string;
  rootId: string;
  childId: string;
  /** Unix microseconds around the sending. */
  fromMicros: number;
  toMicros: number;
}

/** A checkout trace from two services: a server span, and a failing client span with an event and a link. */
async function sendTrace(url: string): Promise<Sent> {
  const fromMicros = Date.now() * 1000 - 1_000_000;
  const { providers, flush } = otlpTracerProviders(
    url,
    ['checkout', 'payments'].map((service) => ({ 'service.name': service, 'host.name': 'box-7' })),
    'json',
  );
  const [checkout, payments] = providers.map((p) => p.getTracer('shop', '2.0.1'));
  const sent = { traceId: '', rootId: '', childId: '' };
  checkout.startActiveSpan('POST /checkout', { kind: SpanKind.SERVER }, (root: OtelSpan) => {
    sent.traceId = root.spanContext().traceId;
    sent.rootId = root.spanContext().spanId;
    root.setAttribute('http.response.status_code', 200);
    const child = payments.startSpan(
      'charge card',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'payment.amount': 12.5, 'payment.retries': 2, 'payment.ok': false },
        links: [{ context: root.spanContext(), attributes: { reason: 'audit' } }],
      },
      trace.setSpan(context.active(), root),
    );
    sent.childId = child.spanContext().spanId;
    child.addEvent('card declined', { 'decline.code': '05' });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'declined' });
    child.end();
    root.end();
  });
  await flush();
  return { ...sent, fromMicros, toMicros: Date.now() * 1000 + 1_000_000 };
}

// ------------------------------------------------------------------------------------------------
// Shapes, as the clients decode them

const HEX16 = /^[0-9a-f]{16}$/;
const TRACE_ID = /^([0-9a-f]{16}|[0-9a-f]{32})$/;
const VALUE_TYPES: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  bool: (v) => typeof v === 'boolean',
  int64: (v) => Number.isSafeInteger(v) || (typeof v === 'string' && /^-?\d+$/.test(v)),
  float64: (v) => typeof v === 'number' || v === 'NaN' || v === 'Infinity' || v === '-Infinity',
  binary: (v) => typeof v === 'string',
};

function assertKeyValues(
  list: unknown,
  where: string,
): asserts list is { key: string; type: string; value: unknown }[] {
  assert.ok(Array.isArray(list), `${where}: an array`);
  for (const kv of list as Record<string, unknown>[]) {
    assert.deepEqual(Object.keys(kv), ['key', 'type', 'value'], where);
    assert.equal(typeof kv.key, 'string', where);
    assert.ok(VALUE_TYPES[kv.type as string]?.(kv.value), `${where}: ${JSON.stringify(kv)}`);
  }
}

type JaegerSpanJson = {
  traceID: string;
  spanID: string;
  flags?: number;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: { key: string; type: string; value: unknown }[];
  logs: { timestamp: number; fields: { key: string; type: string; value: unknown }[] }[];
  processID: string;
  warnings: string[] | null;
};
type JaegerTraceJson = {
  traceID: string;
  spans: JaegerSpanJson[];
  processes: Record<string, { serviceName: string; tags: { key: string; type: string; value: unknown }[] }>;
  warnings: string[] | null;
};

/** Jaeger's `uimodel.Trace`, as jaeger-ui's transformTraceData and Grafana's `TraceResponse` read it. */
function assertTraceShape(value: unknown): asserts value is JaegerTraceJson {
  const t = value as JaegerTraceJson;
  assert.deepEqual(Object.keys(t), ['traceID', 'spans', 'processes', 'warnings']);
  assert.match(t.traceID, TRACE_ID);
  assert.ok(t.warnings === null || Array.isArray(t.warnings));
  for (const [id, p] of Object.entries(t.processes)) {
    assert.match(id, /^p\d+$/);
    assert.deepEqual(Object.keys(p), ['serviceName', 'tags']);
    assert.equal(typeof p.serviceName, 'string');
    assertKeyValues(p.tags, `process ${id}`);
  }
  for (const s of t.spans) {
    const keys = Object.keys(s).filter((k) => k !== 'flags');
    assert.deepEqual(keys, [
      'traceID',
      'spanID',
      'operationName',
      'references',
      'startTime',
      'duration',
      'tags',
      'logs',
      'processID',
      'warnings',
    ]);
    assert.equal(s.traceID, t.traceID);
    assert.match(s.spanID, HEX16);
    if ('flags' in s) assert.ok(Number.isInteger(s.flags) && s.flags! > 0);
    assert.equal(typeof s.operationName, 'string');
    assert.ok(Number.isSafeInteger(s.startTime) && s.startTime > 0, 'startTime: integer µs, truthy for jaeger-ui');
    assert.ok(Number.isSafeInteger(s.duration) && s.duration >= 0);
    for (const r of s.references) {
      assert.deepEqual(Object.keys(r), ['refType', 'traceID', 'spanID']);
      assert.ok(r.refType === 'CHILD_OF' || r.refType === 'FOLLOWS_FROM');
      assert.match(r.traceID, TRACE_ID);
      assert.match(r.spanID, HEX16);
    }
    assertKeyValues(s.tags, `span ${s.spanID} tags`);
    for (const l of s.logs) {
      assert.deepEqual(Object.keys(l), ['timestamp', 'fields']);
      assert.ok(Number.isSafeInteger(l.timestamp));
      assertKeyValues(l.fields, `span ${s.spanID} log`);
    }
    assert.ok(s.processID in t.processes, 'processID names a process (jaeger-ui reads data.processes[processID])');
    assert.ok(s.warnings === null || Array.isArray(s.warnings));
  }
}

const tagsOf = (list: { key: string; value: unknown }[]) => Object.fromEntries(list.map((t) => [t.key, t.value]));

describeOnEachStore('Jaeger UI and Grafana against ariadne serve', (store) => {
  let server: CompatTestServer;
  let jaeger: string;
  let sent: Sent;

  before(async () => {
    server = await startCompatServer(store);
    jaeger = server.jaeger;
    sent = await sendTrace(server.server.otlpHttpUrl);
  });
  after(async () => {
    await server?.close();
  });

  /** GETs a path exactly as given (no re-encoding) and returns status, content type and body. */
  const call = async (path: string) => {
    const response = await fetch(`${jaeger}${path}`);
    return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
  };
  /** A v1 response: 200, JSON, Jaeger's envelope in Go's field order. */
  const v1 = async (path: string) => {
    const r = await call(path);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.type ?? '', /^application\/json/);
    assert.deepEqual(Object.keys(r.body), ['data', 'total', 'limit', 'offset', 'errors']);
    assert.equal(r.body.limit, 0);
    assert.equal(r.body.offset, 0);
    return r.body;
  };

  it('listens where ariadne serve says', () => {
    assert.match(jaeger, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('Jaeger UI ≤ 2.14 and Grafana: services (also Grafana’s health check) and a service’s operations', async () => {
    const services = await v1('/api/services');
    assert.deepEqual(services.data, ['checkout', 'payments']);
    assert.equal(services.total, 2);
    assert.equal(services.errors, null);
    // jaeger-ui: `services/${encodeURIComponent(name)}/operations`; Grafana: url.JoinPath.
    const ops = await v1('/api/services/payments/operations');
    assert.deepEqual(ops.data, ['charge card']);
    assert.equal(ops.total, 1);
  });

  it('Jaeger UI ≤ 2.14 (DDG, Monitor): server operations with their kind', async () => {
    const body = await v1('/api/operations?service=checkout&spanKind=server');
    assert.deepEqual(body.data, [{ name: 'POST /checkout', spanKind: 'server' }]);
    assert.equal(body.total, 1);
  });

  it('Jaeger UI ≤ 2.14: the search form’s query, empty durations and lookback included', async () => {
    // query-string.stringify of the form's fields: keys sorted, null values as bare keys.
    const path =
      `/api/traces?end=${sent.toMicros}&limit=20&lookback=1h&maxDuration&minDuration&service=payments` +
      `&start=${sent.fromMicros}&tags=%7B%22error%22%3A%22true%22%7D`;
    const body = await v1(path);
    assert.equal(body.total, 0);
    assert.equal(body.errors, null);
    assert.equal(body.data.length, 1);
    const [t] = body.data;
    assertTraceShape(t);
    assert.equal(t.traceID, sent.traceId);
    assert.equal(t.spans.length, 2, 'search returns whole traces');
  });

  it('Jaeger UI ≤ 2.14 and Grafana: the trace view, every field mapped from what the SDK sent', async () => {
    const body = await v1(`/api/traces/${sent.traceId}`);
    assert.equal(body.data.length, 1);
    const [t] = body.data;
    assertTraceShape(t);
    const root = t.spans.find((s) => s.spanID === sent.rootId)!;
    const child = t.spans.find((s) => s.spanID === sent.childId)!;
    assert.equal(root.operationName, 'POST /checkout');
    assert.deepEqual(root.references, []);
    assert.equal(root.flags, 1, 'sampled');
    assert.deepEqual(tagsOf(root.tags), {
      'otel.scope.name': 'shop',
      'otel.scope.version': '2.0.1',
      'http.response.status_code': 200,
      'span.kind': 'server',
    });
    assert.equal(t.processes[root.processID].serviceName, 'checkout');
    assert.deepEqual(t.processes[root.processID].tags, [{ key: 'host.name', type: 'string', value: 'box-7' }]);

    assert.equal(child.operationName, 'charge card');
    // The child links to its own parent: as in the Collector's translator (and so Jaeger v2), the
    // link gives the parent reference its type, FOLLOWS_FROM (a link without `opentracing.ref_type`).
    assert.deepEqual(child.references, [{ refType: 'FOLLOWS_FROM', traceID: sent.traceId, spanID: sent.rootId }]);
    assert.deepEqual(child.tags, [
      { key: 'otel.scope.name', type: 'string', value: 'shop' },
      { key: 'otel.scope.version', type: 'string', value: '2.0.1' },
      { key: 'payment.amount', type: 'float64', value: 12.5 },
      { key: 'payment.retries', type: 'int64', value: 2 },
      { key: 'payment.ok', type: 'bool', value: false },
      { key: 'span.kind', type: 'string', value: 'client' },
      { key: 'otel.status_code', type: 'string', value: 'ERROR' },
      { key: 'error', type: 'bool', value: true },
      { key: 'otel.status_description', type: 'string', value: 'declined' },
    ]);
    assert.equal(child.logs.length, 1);
    assert.deepEqual(child.logs[0].fields, [
      { key: 'event', type: 'string', value: 'card declined' },
      { key: 'decline.code', type: 'string', value: '05' },
    ]);
    assert.ok(
      child.logs[0].timestamp >= child.startTime && child.logs[0].timestamp <= child.startTime + child.duration,
    );
    assert.equal(t.processes[child.processID].serviceName, 'payments');
    assert.ok(child.startTime >= sent.fromMicros && child.startTime <= sent.toMicros);
    assert.ok(root.duration >= child.duration);
  });

  it('Grafana: the trace with traceIdTimeParams (milliseconds in start and end) still finds it', async () => {
    const body = await v1(
      `/api/traces/${sent.traceId}?end=${Math.floor(sent.toMicros / 1000)}&start=${Math.floor(sent.fromMicros / 1000)}`,
    );
    assert.equal(body.data[0].spans.length, 2);
  });

  it('Grafana: an unknown trace is a 404, never a 200 whose data[0] it would index', async () => {
    const r = await call('/api/traces/0123456789abcdef0123456789abcdef');
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, {
      data: null,
      total: 0,
      limit: 0,
      offset: 0,
      errors: [{ code: 404, msg: 'trace not found' }],
    });
  });

  it('Grafana: the search its backend builds (url.Values.Encode, no start or end)', async () => {
    const tags = encodeURIComponent(JSON.stringify({ 'payment.retries': '2' }));
    const body = await v1(
      `/api/traces?limit=20&maxDuration=10s&minDuration=1us&operation=charge+card&service=payments&tags=${tags}`,
    );
    assert.deepEqual(
      body.data.map((t: JaegerTraceJson) => t.traceID),
      [sent.traceId],
    );
    body.data.forEach(assertTraceShape);
  });

  it('Grafana’s older frontend: the search with start, end and lookback=custom', async () => {
    const body = await v1(`/api/traces?service=checkout&start=${sent.fromMicros}&end=${sent.toMicros}&lookback=custom`);
    assert.equal(body.data.length, 1);
  });

  it('Jaeger UI ≤ 2.14: compare view, several trace ids at once', async () => {
    const body = await v1(`/api/traces?traceID=${sent.traceId}&traceID=00000000000000000000000000000042`);
    assert.equal(body.data.length, 1);
    assertTraceShape(body.data[0]);
    assert.deepEqual(body.errors, [{ msg: 'trace not found', traceID: '0000000000000042' }]);
  });

  it('Jaeger UI (one week, default) and Grafana (node graph): dependencies in milliseconds', async () => {
    const endTs = Math.ceil(sent.toMicros / 1000);
    const body = await v1(`/api/dependencies?endTs=${endTs}&lookback=604800000`);
    assert.deepEqual(body.data, [{ parent: 'checkout', child: 'payments', callCount: 1 }]);
    assert.equal(body.total, 0);
  });

  it('Jaeger UI 2.15–2.19 and Grafana (jaegerEnableGrpcEndpoint): api_v3 services and operations', async () => {
    const services = await call('/api/v3/services');
    assert.equal(services.status, 200);
    assert.deepEqual(services.body, { services: ['checkout', 'payments'] });
    const ops = await call('/api/v3/operations?service=payments');
    assert.deepEqual(ops.body, { operations: [{ name: 'charge card', spanKind: 'client' }] });
  });

  it('Grafana (jaegerEnableGrpcEndpoint): api_v3 trace by id with unencoded start_time and end_time', async () => {
    const iso = (micros: number) => new Date(micros / 1000).toISOString();
    const r = await call(
      `/api/v3/traces/${sent.traceId}?start_time=${iso(sent.fromMicros)}&end_time=${iso(sent.toMicros)}`,
    );
    assert.equal(r.status, 200);
    const spans = r.body.result.resourceSpans.flatMap((rs: { scopeSpans: { spans: unknown[] }[] }) =>
      rs.scopeSpans.flatMap((ss) => ss.spans),
    ) as { traceId: string; kind: unknown; status: { code: unknown }; startTimeUnixNano: unknown }[];
    assert.equal(spans.length, 2);
    for (const s of spans) {
      // Grafana's grpc_types: kind and status.code numbers, nanoseconds as strings, hex ids.
      assert.equal(s.traceId, sent.traceId);
      assert.equal(typeof s.kind, 'number');
      assert.equal(typeof s.status.code, 'number');
      assert.match(String(s.startTimeUnixNano), /^\d{19}$/);
      assert.equal(typeof s.startTimeUnixNano, 'string');
    }
  });

  it('Grafana (search code behind the toggle): api_v3 search with snake_case names and unencoded times', async () => {
    const iso = (micros: number) => new Date(micros / 1000).toISOString();
    const attributes = encodeURIComponent(JSON.stringify({ error: 'true' }));
    const r = await call(
      `/api/v3/traces?query.attributes=${attributes}&query.service_name=payments` +
        `&query.start_time_min=${iso(sent.fromMicros)}&query.start_time_max=${iso(sent.toMicros)}`,
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.resourceSpans.length, 2);
  });

  it('Jaeger UI 2.20: trace summaries, as its zod schema wants them', async () => {
    const params = new URLSearchParams();
    params.set('query.serviceName', 'checkout');
    params.set('query.startTimeMin', new Date(sent.fromMicros / 1000).toISOString());
    params.set('query.startTimeMax', new Date(sent.toMicros / 1000).toISOString());
    params.set('query.searchDepth', '20');
    const r = await call(`/api/v3/trace-summaries?${params}`);
    assert.equal(r.status, 200);
    const [summary] = r.body.summaries;
    assert.match(summary.traceId, /^[0-9a-f]{32}$/i);
    assert.match(summary.minStartTimeUnixNano, /^\d+$/);
    assert.match(summary.maxEndTimeUnixNano, /^\d+$/);
    assert.equal(summary.rootServiceName, 'checkout');
    assert.equal(summary.rootOperationName, 'POST /checkout');
    assert.equal(summary.spanCount, 2);
    assert.equal(summary.errorSpanCount, 1);
    assert.deepEqual(summary.services, [
      { name: 'checkout', spanCount: 1, errorSpanCount: 0 },
      { name: 'payments', spanCount: 1, errorSpanCount: 1 },
    ]);
  });
});
