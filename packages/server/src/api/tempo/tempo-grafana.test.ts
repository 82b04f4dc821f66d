import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  type CompatTestServer,
  describeOnEachStore,
  otlpTracerProviders,
  startCompatServer,
} from '../../testdata/compat-server.ts';
import { decodeUpstream } from './test-support.ts';

/**
 * Grafana's Tempo data source against a running `ariadne serve`, on the embedded store and on
 * ClickHouse: spans sent by the OpenTelemetry JS SDK's OTLP exporter, then the exact requests
 * Grafana builds (spec compat-apis.md §2.1: pkg/tsdb/tempo/{trace.go,search.go},
 * language_provider.ts) replayed on the Tempo port. Protobuf answers are decoded with Tempo's own
 * .proto files; JSON answers are checked against the struct Grafana decodes search results into
 * (Go's encoding/json fails the whole response on a type it does not expect).
 */

/** Go's `url.QueryEscape`, which `url.Values.Encode` uses: only A-Z a-z 0-9 - _ . ~ stay. */
function goQueryEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** `url.Values.Encode`: keys sorted, values escaped. */
function goValuesEncode(values: Record<string, string>): string {
  return Object.keys(values)
    .sort()
    .map((k) => `${goQueryEscape(k)}=${goQueryEscape(values[k])}`)
    .join('&');
}

// ------------------------------------------------------------------------------------------------
// Grafana's search decode (pkg/tsdb/tempo/search.go): the JSON types each field must have.

type Check = (value: unknown, path: string) => void;
const optional =
  (check: Check): Check =>
  (value, path) => {
    if (value !== undefined && value !== null) check(value, path);
  };
const goString: Check = optional((v, p) => assert.equal(typeof v, 'string', `${p} must be a JSON string`));
const goUint32: Check = optional((v, p) =>
  assert.ok(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff, `${p} must be a uint32`),
);
const goFloat: Check = optional((v, p) => assert.equal(typeof v, 'number', `${p} must be a JSON number`));
const goBool: Check = optional((v, p) => assert.equal(typeof v, 'boolean', `${p} must be a JSON boolean`));
const goSlice = (item: Check): Check =>
  optional((v, p) => {
    assert.ok(Array.isArray(v), `${p} must be an array`);
    for (const [i, x] of v.entries()) item(x, `${p}[${i}]`);
  });
const goStruct = (fields: Record<string, Check>): Check =>
  optional((v, p) => {
    assert.ok(typeof v === 'object' && !Array.isArray(v), `${p} must be an object`);
    for (const [name, check] of Object.entries(fields)) check((v as Record<string, unknown>)[name], `${p}.${name}`);
  });
const goMap = (item: Check): Check =>
  optional((v, p) => {
    assert.ok(typeof v === 'object' && !Array.isArray(v), `${p} must be an object`);
    for (const [k, x] of Object.entries(v as object)) item(x, `${p}.${k}`);
  });
const attribute = goStruct({
  key: goString,
  value: goStruct({
    stringValue: goString,
    intValue: goString,
    doubleValue: goFloat,
    boolValue: goBool,
    bytesValue: goString,
  }),
});
const spanSet = goStruct({
  spans: goSlice(
    goStruct({
      spanID: goString,
      name: goString,
      startTimeUnixNano: goString,
      durationNanos: goString,
      attributes: goSlice(attribute),
    }),
  ),
  matched: goUint32,
  attributes: goSlice(attribute),
});
const grafanaSearchResponse = goStruct({
  traces: goSlice(
    goStruct({
      traceID: goString,
      rootServiceName: goString,
      rootTraceName: goString,
      startTimeUnixNano: goString,
      durationMs: goUint32,
      spanSet,
      spanSets: goSlice(spanSet),
      serviceStats: goMap(goStruct({ spanCount: goUint32, errorCount: goUint32 })),
    }),
  ),
});

// ------------------------------------------------------------------------------------------------

/** A span as decodeUpstream returns it (Tempo's JSON names; ids in base64). */
interface DecodedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind?: string;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly attributes?: unknown[];
  readonly events: { name: string; attributes?: unknown[] }[];
  readonly status: unknown;
}
interface DecodedResource {
  readonly attributes: { key: string; value: unknown }[];
}

interface Sent {
  traceId: string;
  rootId: string;
  checkoutId: string;
  paymentId: string;
}

/** Sends one trace through two services with the OTLP/protobuf exporter, as instrumented apps do. */
async function sendTrace(otlpUrl: string): Promise<Sent> {
  const {
    providers: [frontend, payments],
    flush,
  } = otlpTracerProviders(
    otlpUrl,
    ['frontend', 'payments'].map((service) => ({ 'service.name': service, 'deployment.environment': 'test' })),
    'protobuf',
  );
  const sent: Sent = { traceId: '', rootId: '', checkoutId: '', paymentId: '' };
  const root = frontend.getTracer('web', '1.0.0').startSpan('GET /api/checkout', {
    kind: SpanKind.SERVER,
    attributes: { 'http.method': 'GET', 'http.status_code': 500, 'http.route': '/api/checkout' },
  });
  sent.traceId = root.spanContext().traceId;
  sent.rootId = root.spanContext().spanId;
  const inRoot = trace.setSpan(context.active(), root);
  const checkout = frontend
    .getTracer('web', '1.0.0')
    .startSpan('checkout', { kind: SpanKind.CLIENT, attributes: { 'cart.items': 3 } }, inRoot);
  sent.checkoutId = checkout.spanContext().spanId;
  const payment = payments
    .getTracer('pay', '2.1.0')
    .startSpan(
      'charge card',
      { kind: SpanKind.SERVER, attributes: { 'payment.amount': 12.5, 'payment.retry': true } },
      trace.setSpan(context.active(), checkout),
    );
  sent.paymentId = payment.spanContext().spanId;
  payment.addEvent('declined', { 'decline.code': 'insufficient_funds' });
  payment.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  payment.end();
  checkout.setStatus({ code: SpanStatusCode.ERROR });
  checkout.end();
  root.setStatus({ code: SpanStatusCode.ERROR });
  root.end();
  await flush();
  return sent;
}

describeOnEachStore("Grafana's Tempo data source against ariadne serve", (store) => {
  let server: CompatTestServer;
  let tempo: string;
  let sent: Sent;
  let from: number;
  let to: number;

  before(async () => {
    server = await startCompatServer(store);
    tempo = server.tempo;
    from = Math.floor(Date.now() / 1000) - 3600;
    sent = await sendTrace(server.server.otlpHttpUrl);
    // Grafana sends the dashboard range in whole seconds (TimeRange.To.Unix() truncates).
    to = Math.floor(Date.now() / 1000);
  });
  after(async () => {
    await server?.close();
  });

  const get = (path: string, accept?: string) => fetch(`${tempo}${path}`, { headers: accept ? { accept } : {} });
  const protobufBody = async (response: Response) => {
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('content-type'), 'application/protobuf');
    return new Uint8Array(await response.arrayBuffer());
  };

  it('listens on the Tempo port that ariadne serve reports', () => {
    assert.match(tempo, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('passes the data source health check and init (echo, buildinfo)', async () => {
    const echo = await get('/api/echo');
    assert.equal(echo.status, 200);
    assert.equal(await echo.text(), 'echo');
    const info = (await (await get('/api/status/buildinfo')).json()) as { version: string };
    assert.match(info.version, /^\d+\.\d+\.\d+$/);
    const [major, minor] = info.version.split('.').map(Number);
    assert.ok(major > 2 || (major === 2 && minor >= 5), 'a version with /api/v2/traces');
  });

  it('returns the trace for GET /api/v2/traces/{id} with Accept: application/protobuf, field by field', async () => {
    const body = await protobufBody(await get(`/api/v2/traces/${sent.traceId}`, 'application/protobuf'));
    const decoded = decodeUpstream('tempopb.TraceByIDResponse', body) as {
      trace: { resourceSpans: { resource: DecodedResource; scopeSpans: { scope: unknown; spans: DecodedSpan[] }[] }[] };
    };
    const hex = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('hex');
    const spans = decoded.trace.resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ ...s, resource: rs.resource, scope: ss.scope }))),
    );
    assert.equal(spans.length, 3);
    const byId = new Map(spans.map((s) => [hex(s.spanId), s]));
    const root = byId.get(sent.rootId);
    const checkout = byId.get(sent.checkoutId);
    const payment = byId.get(sent.paymentId);
    assert.ok(root && checkout && payment);
    for (const s of spans) assert.equal(hex(s.traceId), sent.traceId);
    assert.equal(root.parentSpanId, undefined);
    assert.equal(hex(checkout.parentSpanId), sent.rootId);
    assert.equal(hex(payment.parentSpanId), sent.checkoutId);
    assert.equal(root.name, 'GET /api/checkout');
    assert.equal(root.kind, 'SPAN_KIND_SERVER');
    assert.equal(checkout.kind, 'SPAN_KIND_CLIENT');
    assert.deepEqual(root.attributes, [
      { key: 'http.method', value: { stringValue: 'GET' } },
      { key: 'http.status_code', value: { intValue: '500' } },
      { key: 'http.route', value: { stringValue: '/api/checkout' } },
    ]);
    assert.deepEqual(payment.attributes, [
      { key: 'payment.amount', value: { doubleValue: 12.5 } },
      { key: 'payment.retry', value: { boolValue: true } },
    ]);
    assert.deepEqual(payment.status, { message: 'card declined', code: 'STATUS_CODE_ERROR' });
    assert.equal(payment.events[0].name, 'declined');
    assert.deepEqual(payment.events[0].attributes, [
      { key: 'decline.code', value: { stringValue: 'insufficient_funds' } },
    ]);
    assert.deepEqual(payment.scope, { name: 'pay', version: '2.1.0' });
    assert.ok(
      payment.resource.attributes.some(
        (a) => a.key === 'service.name' && JSON.stringify(a.value) === '{"stringValue":"payments"}',
      ),
    );
    assert.match(root.startTimeUnixNano, /^\d{19}$/);
    assert.ok(BigInt(root.endTimeUnixNano) >= BigInt(payment.endTimeUnixNano));
  });

  it('answers the time-shifted trace request (?start=&end= in seconds) the same way', async () => {
    const shifted = await protobufBody(
      await get(`/api/v2/traces/${sent.traceId}?start=${from}&end=${to}`, 'application/protobuf'),
    );
    const plain = await protobufBody(await get(`/api/v2/traces/${sent.traceId}`, 'application/protobuf'));
    assert.deepEqual(
      decodeUpstream('tempopb.TraceByIDResponse', shifted),
      decodeUpstream('tempopb.TraceByIDResponse', plain),
    );
  });

  it('answers an unknown id with 200 and an empty trace, so Grafana reports "not found" without a v1 retry', async () => {
    const body = await protobufBody(await get(`/api/v2/traces/${'0'.repeat(31)}1`, 'application/protobuf'));
    const decoded = decodeUpstream('tempopb.TraceByIDResponse', body) as { trace?: { resourceSpans?: unknown[] } };
    assert.ok(decoded.trace, 'trace is present (Grafana dereferences it)');
    assert.equal(decoded.trace.resourceSpans, undefined);
  });

  it('serves the v1 fallback an older Tempo would: tempopb.Trace from /api/traces/{id}', async () => {
    const body = await protobufBody(await get(`/api/traces/${sent.traceId}`, 'application/protobuf'));
    const decoded = decodeUpstream('tempopb.Trace', body) as { resourceSpans: unknown[] };
    assert.equal(decoded.resourceSpans.length, 2);
  });

  it('runs the TraceQL search exactly as Grafana requests it, in the shape Grafana decodes', async () => {
    // What Grafana's search tab generates, sent as createSearchRequest encodes it.
    const q =
      '{resource.service.name="payments" && name="charge card" && span.payment.amount>=10 && duration>0ms && status=error}';
    const url = `/api/search?${goValuesEncode({ q, limit: '20', spss: '3', start: String(from), end: String(to) })}`;
    assert.match(url, /^\/api\/search\?end=\d+&limit=20&q=%7Bresource\.service\.name%3D%22payments%22\+%26%26\+name/);
    const response = await get(url, 'application/json');
    assert.equal(response.status, 200, await response.clone().text());
    const body = await response.json();
    grafanaSearchResponse(body, 'response');
    assert.equal(body.traces.length, 1);
    const [t] = body.traces;
    assert.equal(t.traceID, sent.traceId.replace(/^0+/, ''));
    assert.equal(t.rootServiceName, 'frontend');
    assert.equal(t.rootTraceName, 'GET /api/checkout');
    assert.match(t.startTimeUnixNano, /^\d{19}$/);
    assert.deepEqual(t.serviceStats, {
      frontend: { spanCount: 2, errorCount: 2 },
      payments: { spanCount: 1, errorCount: 1 },
    });
    const [set] = t.spanSets;
    assert.equal(set.matched, 1);
    assert.equal(set.spans[0].spanID, sent.paymentId);
    assert.equal(set.spans[0].name, 'charge card');
    assert.match(set.spans[0].durationNanos, /^\d+$/);
    assert.deepEqual(set.spans[0].attributes, [
      { key: 'service.name', value: { stringValue: 'payments' } },
      { key: 'payment.amount', value: { doubleValue: 12.5 } },
      { key: 'status', value: { stringValue: 'error' } },
    ]);
  });

  it('includes spans of the last second of the range Grafana sends, truncated to seconds', async () => {
    const search = (start: number, end: number) =>
      get(`/api/search?${goValuesEncode({ q: '{}', limit: '20', start: String(start), end: String(end) })}`);
    // start = end is refused, as Tempo refuses it ("start must be before end").
    assert.equal((await search(to, to)).status, 400);
    const v1 = (await (await get(`/api/traces/${sent.traceId}`)).json()) as {
      batches: { scopeSpans: { spans: { startTimeUnixNano: string }[] }[] }[];
    };
    const starts = v1.batches.flatMap((b) =>
      b.scopeSpans.flatMap((s) => s.spans.map((x) => BigInt(x.startTimeUnixNano))),
    );
    const [first] = starts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const second = Number(first / 1_000_000_000n);
    // The trace's first span starts within second `second`: a window ending at that second has it.
    const body = await (await search(second - 1, second)).json();
    grafanaSearchResponse(body, 'response');
    assert.equal(body.traces.length, 1);
    const before = await (await search(second - 2, second - 1)).json();
    assert.equal(before.traces.length, 0);
  });

  it('answers a query the editor left unfinished with 400 and Tempo-style text', async () => {
    const response = await get(
      `/api/search?${goValuesEncode({ q: '{resource.service.name=', limit: '20', spss: '3' })}`,
    );
    assert.equal(response.status, 400);
    assert.match(await response.text(), /^invalid TraceQL query: parse error at line 1, col \d+: /);
  });

  it('fills the query editor: tag names by scope, then typed values filtered by the query so far', async () => {
    const tags = (await (await get('/api/v2/search/tags?limit=5000')).json()) as {
      scopes: { name: string; tags: string[] }[];
    };
    const scope = (name: string) => tags.scopes.find((s) => s.name === name)?.tags ?? [];
    assert.ok(scope('resource').includes('service.name'));
    assert.ok(scope('resource').includes('deployment.environment'));
    assert.ok(scope('span').includes('http.method'));
    assert.ok(scope('span').includes('payment.amount'));
    assert.ok(['status', 'name', 'kind', 'duration', 'traceDuration'].every((t) => scope('intrinsic').includes(t)));

    // With the query so far, only the names on the spans it matches, as Tempo narrows them.
    const narrowed = (await (
      await get(`/api/v2/search/tags?${goValuesEncode({ limit: '5000', q: '{resource.service.name="payments"}' })}`)
    ).json()) as { scopes: { name: string; tags: string[] }[] };
    assert.deepEqual(
      narrowed.scopes.map((s) => [s.name, s.name === 'intrinsic' ? s.tags.includes('status') : s.tags]),
      [
        ['resource', ['deployment.environment', 'service.name']],
        ['span', ['payment.amount', 'payment.retry']],
        ['intrinsic', true],
      ],
    );
    const unmatched = (await (
      await get(`/api/v2/search/tags?${goValuesEncode({ scope: 'span', q: '{span.http.method="DELETE"}' })}`)
    ).json()) as { scopes: unknown[] };
    assert.deepEqual(unmatched.scopes, []);

    // The tag is encodeURIComponent'ed twice by Grafana and decoded once by its proxy.
    const values = async (tag: string, q?: string) => {
      const params = goValuesEncode(q === undefined ? { limit: '5000' } : { limit: '5000', q });
      const response = await get(`/api/v2/search/tag/${encodeURIComponent(tag)}/values?${params}`);
      assert.equal(response.status, 200, await response.clone().text());
      return ((await response.json()) as { tagValues: { type: string; value: string }[] }).tagValues;
    };
    assert.deepEqual(await values('resource.service.name'), [
      { type: 'string', value: 'frontend' },
      { type: 'string', value: 'payments' },
    ]);
    assert.deepEqual(await values('name', '{resource.service.name="payments"}'), [
      { type: 'string', value: 'charge card' },
    ]);
    assert.deepEqual(await values('span.http.status_code'), [{ type: 'int', value: '500' }]);
    assert.deepEqual(
      (await values('kind')).map((v) => `${v.type}:${v.value}`),
      ['client', 'server', 'producer', 'consumer', 'internal', 'unspecified'].map((k) => `keyword:${k}`),
    );
  });

  it('serves the older editor fallback: /api/search/tags and /api/search/tag/{tag}/values', async () => {
    const names = (await (await get('/api/search/tags')).json()) as { tagNames: string[] };
    assert.ok(names.tagNames.includes('http.route'));
    const values = (await (await get('/api/search/tag/service.name/values')).json()) as { tagValues: string[] };
    assert.deepEqual(values.tagValues, ['frontend', 'payments']);
  });
});
