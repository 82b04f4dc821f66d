import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spansFromOtlpJson, unixNanos } from '@ariadne/core';
import type { FastifyInstance } from 'fastify';
import { NotYetCommittedError, type SpanReader } from '../../query/span-store.ts';
import { DuckDbSpanStore } from '../../store/duckdb-store.ts';
import { capturingLogger } from '../../testdata/capture-log.ts';
import { buildJaegerApp } from './app.ts';

/** The fixed clock of these tests, and times relative to it. */
const NOW = 1_750_000_000_000_000_000n;
const T = NOW - 600_000_000_000n; // ten minutes ago
const OLD = NOW - 3n * 86_400_000_000_000n; // three days ago: outside Jaeger's default two-day window
const us = (ns: bigint) => Number(ns / 1000n);

const A = '5e0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b';
const B = '0000000000000000b1b2c3d4e5f60718'; // a 64-bit id: Jaeger prints b1b2c3d4e5f60718
const C = 'c0000000000000000000000000000003';

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const int = (key: string, v: number) => ({ key, value: { intValue: String(v) } });
const resource = (service: string, ...more: { key: string; value: object }[]) => ({
  attributes: [str('service.name', service), ...more],
});
const span = (o: {
  trace: string;
  id: string;
  parent?: string;
  name: string;
  kind: number;
  start: bigint;
  ms: number;
  [k: string]: unknown;
}) => {
  const { trace, id, parent, start, ms, ...rest } = o;
  return {
    traceId: trace,
    spanId: id,
    parentSpanId: parent ?? '',
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + BigInt(ms) * 1_000_000n),
    ...rest,
  };
};

function fixture() {
  return {
    resourceSpans: [
      {
        resource: resource('frontend', str('host.name', 'box-1')),
        scopeSpans: [
          {
            scope: { name: 'hotrod', version: '1.0' },
            spans: [
              span({
                trace: A,
                id: 'a000000000000001',
                name: 'GET /dispatch',
                kind: 2,
                start: T,
                ms: 700,
                attributes: [int('http.status_code', 200), str('http.method', 'GET')],
              }),
              span({
                trace: A,
                id: 'a000000000000002',
                parent: 'a000000000000001',
                name: 'HTTP GET',
                kind: 3,
                start: T + 1_000_000n,
                ms: 300,
              }),
              span({ trace: B, id: 'b000000000000001', name: 'GET /config', kind: 2, start: T + 2_000_000n, ms: 5 }),
              span({ trace: C, id: 'c000000000000001', name: 'GET /dispatch', kind: 2, start: OLD, ms: 800 }),
              span({
                trace: A,
                id: 'a000000000000005',
                parent: 'a000000000000001',
                name: 'render',
                kind: 0,
                start: T + 3_000_000n,
                ms: 20,
              }),
            ],
          },
        ],
      },
      {
        resource: resource('redis'),
        scopeSpans: [
          {
            spans: [
              span({
                trace: A,
                id: 'a000000000000003',
                parent: 'a000000000000002',
                name: 'FindDriverIDs',
                kind: 3,
                start: T + 2_000_000n,
                ms: 50,
                traceState: 'rojo=00f067aa0ba902b7',
                status: { code: 2, message: 'pool exhausted' },
                events: [{ timeUnixNano: String(T + 2_500_000n), name: 'retry', attributes: [int('attempt', 2)] }],
              }),
            ],
          },
        ],
      },
      {
        resource: resource('driver'),
        scopeSpans: [
          {
            spans: [
              span({
                trace: A,
                id: 'a000000000000004',
                parent: 'a000000000000001',
                name: '/driver.DriverService/FindNearest',
                kind: 2,
                start: T + 60_000_000n,
                ms: 200,
                links: [{ traceId: C, spanId: 'c000000000000001', attributes: [str('link.reason', 'replay')] }],
              }),
            ],
          },
        ],
      },
    ],
  };
}

describe('Jaeger query API', () => {
  let dir: string;
  let store: DuckDbSpanStore;
  let app: FastifyInstance;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-jaeger-'));
    store = await DuckDbSpanStore.open({ dataDir: join(dir, 'db') });
    await store.writeSpans(spansFromOtlpJson(fixture()));
    app = buildJaegerApp({ reader: store, now: () => unixNanos(NOW) });
  });
  after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string) => app.inject({ method: 'GET', url });
  const data = async (url: string) => {
    const r = await get(url);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    const body = r.json();
    assert.deepEqual(Object.keys(body), ['data', 'total', 'limit', 'offset', 'errors']);
    return body;
  };
  const traceIds = async (url: string) => (await data(url)).data.map((t: { traceID: string }) => t.traceID);
  const error = async (url: string, status: number) => {
    const r = await get(url);
    assert.equal(r.statusCode, status, r.body);
    const body = r.json();
    assert.deepEqual({ ...body, errors: undefined }, { data: null, total: 0, limit: 0, offset: 0, errors: undefined });
    assert.equal(body.errors.length, 1);
    assert.equal(body.errors[0].code, status);
    return body.errors[0].msg as string;
  };

  it('lists services in Jaeger’s envelope, with total', async () => {
    const r = await get('/api/services');
    assert.equal(r.body, '{"data":["driver","frontend","redis"],"total":3,"limit":0,"offset":0,"errors":null}');
  });

  it('lists a service’s operation names, the service name decoded from the path', async () => {
    assert.deepEqual(await data('/api/services/frontend/operations'), {
      data: ['GET /config', 'GET /dispatch', 'HTTP GET', 'render'],
      total: 4,
      limit: 0,
      offset: 0,
      errors: null,
    });
    assert.deepEqual((await data('/api/services/no%20such/operations')).data, []);
  });

  it('lists operations with their span kinds, all or one kind', async () => {
    assert.deepEqual((await data('/api/operations?service=frontend')).data, [
      { name: 'GET /config', spanKind: 'server' },
      { name: 'GET /dispatch', spanKind: 'server' },
      { name: 'HTTP GET', spanKind: 'client' },
      { name: 'render', spanKind: '' },
    ]);
    const server = await data('/api/operations?service=frontend&spanKind=server');
    assert.deepEqual(server.data, [
      { name: 'GET /config', spanKind: 'server' },
      { name: 'GET /dispatch', spanKind: 'server' },
    ]);
    assert.equal(server.total, 2);
    assert.equal(await error('/api/operations?spanKind=server', 400), "parameter 'service' is required");
    assert.match(await error('/api/operations?service=frontend&spanKind=sideways', 400), /unsupported span kind/);
  });

  it('returns a trace by id in Jaeger’s model, field by field', async () => {
    const body = await data(`/api/traces/${A}`);
    assert.equal(body.total, 0);
    const [trace] = body.data;
    assert.equal(trace.traceID, A);
    assert.equal(trace.warnings, null);
    assert.deepEqual(trace.processes, {
      p1: { serviceName: 'frontend', tags: [{ key: 'host.name', type: 'string', value: 'box-1' }] },
      p2: { serviceName: 'redis', tags: [] },
      p3: { serviceName: 'driver', tags: [] },
    });
    const byId = Object.fromEntries(trace.spans.map((s: { spanID: string }) => [s.spanID, s]));
    assert.deepEqual(byId.a000000000000001, {
      traceID: A,
      spanID: 'a000000000000001',
      operationName: 'GET /dispatch',
      references: [],
      startTime: us(T),
      duration: 700_000,
      tags: [
        { key: 'otel.scope.name', type: 'string', value: 'hotrod' },
        { key: 'otel.scope.version', type: 'string', value: '1.0' },
        { key: 'http.status_code', type: 'int64', value: 200 },
        { key: 'http.method', type: 'string', value: 'GET' },
        { key: 'span.kind', type: 'string', value: 'server' },
      ],
      logs: [],
      processID: 'p1',
      warnings: null,
    });
    assert.deepEqual(byId.a000000000000003, {
      traceID: A,
      spanID: 'a000000000000003',
      operationName: 'FindDriverIDs',
      references: [{ refType: 'CHILD_OF', traceID: A, spanID: 'a000000000000002' }],
      startTime: us(T + 2_000_000n),
      duration: 50_000,
      tags: [
        { key: 'span.kind', type: 'string', value: 'client' },
        { key: 'otel.status_code', type: 'string', value: 'ERROR' },
        { key: 'error', type: 'bool', value: true },
        { key: 'otel.status_description', type: 'string', value: 'pool exhausted' },
        { key: 'w3c.tracestate', type: 'string', value: 'rojo=00f067aa0ba902b7' },
      ],
      logs: [
        {
          timestamp: us(T + 2_500_000n),
          fields: [
            { key: 'event', type: 'string', value: 'retry' },
            { key: 'attempt', type: 'int64', value: 2 },
          ],
        },
      ],
      processID: 'p2',
      warnings: null,
    });
    assert.deepEqual(byId.a000000000000004.references, [
      { refType: 'CHILD_OF', traceID: A, spanID: 'a000000000000001' },
      { refType: 'FOLLOWS_FROM', traceID: C, spanID: 'c000000000000001' },
    ]);
  });

  it('finds a trace by 16 or 32 hex digits, in any case, or by base64, and prints 64-bit ids short', async () => {
    for (const id of ['b1b2c3d4e5f60718', B, 'B1B2C3D4E5F60718', Buffer.from(B, 'hex').toString('base64')]) {
      const [trace] = (await data(`/api/traces/${encodeURIComponent(id)}`)).data;
      assert.equal(trace.traceID, 'b1b2c3d4e5f60718', id);
      assert.equal(trace.spans[0].traceID, 'b1b2c3d4e5f60718');
    }
  });

  it('answers an unknown trace with 404 and Jaeger’s error body, never an empty 200', async () => {
    const r = await get('/api/traces/00000000000000000000000000000bad');
    assert.equal(r.statusCode, 404);
    assert.equal(
      r.body,
      '{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}',
    );
    assert.match(await error(`/api/traces/${'f'.repeat(33)}`, 400), /^cannot parse traceID/);
    assert.match(await error(`/api/traces/${A}?start=yesterday`, 400), /^unable to parse param 'start'/);
  });

  it('takes start and end on a trace lookup without letting them hide the trace (Grafana sends milliseconds)', async () => {
    const ms = (ns: bigint) => String(ns / 1_000_000n);
    const [trace] = (await data(`/api/traces/${A}?start=${ms(T - 60_000_000_000n)}&end=${ms(NOW)}`)).data;
    assert.equal(trace.spans.length, 5);
  });

  it('gets several traces by id, each missing one as an error beside the data', async () => {
    const body = await data(`/api/traces?traceID=${A}&traceID=b1b2c3d4e5f60718&traceID=dead&traceID=${A}`);
    assert.deepEqual(
      body.data.map((t: { traceID: string }) => t.traceID),
      [A, 'b1b2c3d4e5f60718'],
    );
    assert.deepEqual(body.errors, [{ msg: 'trace not found', traceID: '000000000000dead' }]);
    assert.match(await error('/api/traces?traceID=nothex!', 400), /^cannot parse traceID/);
  });

  it('searches by service and operation in Jaeger’s default window of two days', async () => {
    // Newest first, by the latest matching span (A's `render` starts after B's span).
    assert.deepEqual(await traceIds('/api/traces?service=frontend'), [A, 'b1b2c3d4e5f60718']);
    assert.deepEqual(await traceIds('/api/traces?service=frontend&operation=GET%20%2Fdispatch'), [A]);
    assert.deepEqual(await traceIds('/api/traces?service=frontend&limit=1'), [A]);
    // The trace of three days ago, by start and end in microseconds.
    const window = `start=${us(OLD - 1_000_000_000n)}&end=${us(OLD + 1_000_000_000n)}`;
    assert.deepEqual(await traceIds(`/api/traces?service=frontend&${window}&lookback=custom`), [C]);
  });

  it('searches durations as Go duration strings, on one span', async () => {
    assert.deepEqual(await traceIds('/api/traces?service=frontend&minDuration=0.5s'), [A]);
    assert.deepEqual(await traceIds('/api/traces?service=frontend&maxDuration=10ms'), ['b1b2c3d4e5f60718']);
    assert.deepEqual(await traceIds('/api/traces?service=redis&minDuration=50ms&maxDuration=50ms'), [A]);
    assert.deepEqual(await traceIds('/api/traces?service=redis&minDuration=51ms'), []);
    // The Jaeger UI leaves empty fields without a value: `minDuration&maxDuration`.
    assert.deepEqual(await traceIds('/api/traces?service=redis&minDuration&maxDuration&limit=20'), [A]);
    assert.match(await error('/api/traces?service=redis&minDuration=1d', 400), /time: unknown unit "d"/);
    assert.equal(
      await error('/api/traces?minDuration=2s&maxDuration=1s', 400),
      "'maxDuration' should be greater than 'minDuration'",
    );
  });

  it('searches tags as Jaeger shows them: attributes, process tags, logs, scope and synthesized tags', async () => {
    const search = (tags: Record<string, string>, service = '') =>
      traceIds(`/api/traces?service=${service}&tags=${encodeURIComponent(JSON.stringify(tags))}`);
    assert.deepEqual(await search({ 'http.status_code': '200' }, 'frontend'), [A]);
    assert.deepEqual(await search({ 'http.status_code': '201' }, 'frontend'), []);
    assert.deepEqual(await search({ 'host.name': 'box-1', 'http.method': 'GET' }), [A]);
    assert.deepEqual(await search({ error: 'true' }, 'redis'), [A]);
    assert.deepEqual(await search({ error: 'true' }, 'frontend'), []);
    assert.deepEqual(await search({ 'otel.status_code': 'ERROR', 'otel.status_description': 'pool exhausted' }), [A]);
    assert.deepEqual(await search({ 'span.kind': 'client' }, 'redis'), [A]);
    assert.deepEqual(await search({ 'span.kind': 'server' }, 'redis'), []);
    assert.deepEqual(await search({ event: 'retry', attempt: '2' }), [A]);
    assert.deepEqual(await search({ 'otel.scope.name': 'hotrod', 'otel.scope.version': '1.0' }, 'frontend'), [
      A,
      'b1b2c3d4e5f60718',
    ]);
    assert.deepEqual(await search({ 'link.reason': 'replay' }), [A]);
    // The `tag=key:value` form, and both forms merged.
    assert.deepEqual(await traceIds('/api/traces?tag=http.status_code:200&tag=http.method:GET'), [A]);
    assert.deepEqual(
      await traceIds(`/api/traces?tag=http.method:GET&tags=${encodeURIComponent('{"http.status_code":"404"}')}`),
      [],
    );
    assert.match(
      await error('/api/traces?service=frontend&tags=%7Boops', 400),
      /^malformed 'tags' parameter, cannot unmarshal JSON/,
    );
  });

  it('refuses what Jaeger refuses in a search, with its messages', async () => {
    assert.match(await error('/api/traces?start=abc', 400), /^unable to parse param 'start'/);
    assert.match(await error('/api/traces?limit=ten', 400), /^unable to parse param 'limit'/);
    assert.match(await error('/api/traces?limit=5000', 400), /1500/);
    assert.match(await error('/api/traces?raw=maybe', 400), /'raw'/);
    assert.match(await error(`/api/traces?start=${us(NOW)}&end=${us(T)}`, 400), /before/);
  });

  it('sums service dependencies in a window given in milliseconds', async () => {
    const ms = NOW / 1_000_000n;
    const body = await data(`/api/dependencies?endTs=${ms}&lookback=3600000`);
    const sorted = (links: { parent: string; child: string }[]) =>
      [...links].sort((a, b) => (a.child < b.child ? -1 : 1));
    assert.deepEqual(sorted(body.data), [
      { parent: 'frontend', child: 'driver', callCount: 1 },
      { parent: 'frontend', child: 'redis', callCount: 1 },
    ]);
    assert.equal(body.total, 0);
    assert.deepEqual((await data(`/api/dependencies?endTs=${ms}&lookback=3600000&service=driver`)).data, [
      { parent: 'frontend', child: 'driver', callCount: 1 },
    ]);
    // Without parameters: the day before now.
    assert.equal((await data('/api/dependencies')).data.length, 2);
    // A window before the spans.
    assert.deepEqual((await data(`/api/dependencies?endTs=${ms - 3_600_000n}&lookback=60000`)).data, []);
    assert.match(await error('/api/dependencies?endTs=soon', 400), /^unable to parse param 'endTs'/);
  });

  it('indents with prettyPrint, as Jaeger', async () => {
    const r = await get('/api/services?prettyPrint=true');
    assert.equal(r.body, JSON.stringify(JSON.parse(r.body), null, 4));
    assert.match(r.body, /\n {4}"data"/);
    assert.doesNotMatch((await get('/api/services?prettyPrint=false')).body, /\n/);
  });

  it('transforms posted OTLP JSON into Jaeger traces (the UI’s upload)', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/api/transform',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      payload: JSON.stringify(fixture()),
    });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json();
    assert.deepEqual(
      body.data.map((t: { traceID: string; spans: unknown[] }) => [t.traceID, t.spans.length]),
      [
        [A, 5],
        ['b1b2c3d4e5f60718', 1],
        [C, 1],
      ],
    );
    const bad = await app.inject({ method: 'POST', url: '/api/transform', payload: '{"resourceSpans": 3}' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().errors[0].msg, /^cannot read the body as OTLP JSON/);
  });

  it('answers what Ariadne does not do with 501, and unknown routes with 404, in the envelope', async () => {
    const archive = await app.inject({ method: 'POST', url: `/api/archive/${A}` });
    assert.equal(archive.statusCode, 501);
    assert.equal(archive.json().errors[0].code, 501);
    assert.match(await error('/api/metrics/latencies?service=frontend&quantile=0.95', 501), /disabled/);
    assert.equal(await error('/api/nothing', 404), 'no route GET /api/nothing');
  });
});

describe('Jaeger api_v3', () => {
  let dir: string;
  let store: DuckDbSpanStore;
  let app: FastifyInstance;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-jaeger-v3-'));
    store = await DuckDbSpanStore.open({ dataDir: join(dir, 'db') });
    await store.writeSpans(spansFromOtlpJson(fixture()));
    app = buildJaegerApp({ reader: store, now: () => unixNanos(NOW) });
  });
  after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ok = async (url: string) => {
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 200, r.body);
    return r.json();
  };
  const failure = async (url: string, status: number) => {
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, status, r.body);
    const body = r.json();
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(body.error.httpCode, status);
    return body.error.message as string;
  };
  const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
  const window = (from: bigint, to: bigint, snake = false) =>
    snake
      ? `query.start_time_min=${iso(from)}&query.start_time_max=${iso(to)}`
      : `query.startTimeMin=${iso(from)}&query.startTimeMax=${iso(to)}`;
  type OtlpSpan = {
    traceId: string;
    spanId: string;
    kind: number;
    startTimeUnixNano: string;
    status: { code: number };
  };
  const spansOf = (body: { result: { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] } }) =>
    body.result.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));

  it('lists services and operations, an operation of no kind as internal', async () => {
    assert.deepEqual(await ok('/api/v3/services'), { services: ['driver', 'frontend', 'redis'] });
    assert.deepEqual(await ok('/api/v3/operations?service=frontend'), {
      operations: [
        { name: 'GET /config', spanKind: 'server' },
        { name: 'GET /dispatch', spanKind: 'server' },
        { name: 'HTTP GET', spanKind: 'client' },
        { name: 'render', spanKind: 'internal' },
      ],
    });
    assert.deepEqual(await ok('/api/v3/operations?service=frontend&span_kind=client'), {
      operations: [{ name: 'HTTP GET', spanKind: 'client' }],
    });
    assert.match(await failure('/api/v3/operations', 400), /service/);
  });

  it('returns a trace as OTLP JSON: hex ids, enums as numbers, nanoseconds as strings', async () => {
    const body = await ok(`/api/v3/traces/${A}`);
    assert.deepEqual(Object.keys(body), ['result']);
    const spans = spansOf(body);
    assert.equal(spans.length, 5);
    const redis = spans.find((s) => s.spanId === 'a000000000000003')!;
    assert.equal(redis.traceId, A);
    assert.equal(redis.kind, 3);
    assert.deepEqual(redis.status, { code: 2, message: 'pool exhausted' });
    assert.equal(redis.startTimeUnixNano, String(T + 2_000_000n));
    const services = body.result.resourceSpans.map(
      (rs: { resource: { attributes: { key: string; value: { stringValue: string } }[] } }) =>
        rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue,
    );
    assert.deepEqual(services, ['frontend', 'redis', 'driver']);
    // 16 hex digits and base64 find it too; start_time and end_time (Grafana's, + unencoded) are accepted.
    assert.equal(spansOf(await ok(`/api/v3/traces/b1b2c3d4e5f60718`))[0].traceId, B);
    const grafana = `start_time=${iso(T).replace('Z', '+00:00')}&end_time=${iso(NOW).replace('Z', '+00:00')}`;
    assert.equal(spansOf(await ok(`/api/v3/traces/${A}?${grafana}`)).length, 5);
  });

  it('answers an unknown trace with 404 and the gateway’s error body', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v3/traces/0000000000000bad' });
    assert.equal(r.statusCode, 404);
    assert.equal(r.body, '{"error":{"httpCode":404,"message":"No traces found"}}');
    assert.match(await failure('/api/v3/traces/not-an-id!', 400), /trace_id/);
    assert.match(await failure(`/api/v3/traces/${A}?startTime=yesterday`, 400), /^malformed parameter startTime/);
  });

  it('searches with camelCase and snake_case parameters alike', async () => {
    const camel = await ok(
      `/api/v3/traces?query.serviceName=redis&${window(T - 1_000_000_000n, NOW)}&query.attributes=${encodeURIComponent('{"error":"true"}')}`,
    );
    const snake = await ok(
      `/api/v3/traces?query.service_name=redis&${window(T - 1_000_000_000n, NOW, true)}&query.attributes=${encodeURIComponent('{"error":"true"}')}`,
    );
    assert.deepEqual(camel, snake);
    assert.deepEqual([...new Set(spansOf(camel).map((s) => s.traceId))], [A]);
    const byDuration = await ok(
      `/api/v3/traces?query.service_name=frontend&query.duration_max=10ms&query.num_traces=5&${window(T - 1_000_000_000n, NOW, true)}`,
    );
    assert.deepEqual([...new Set(spansOf(byDuration).map((s) => s.traceId))], [B]);
    const both = await ok(`/api/v3/traces?query.operationName=GET%20%2Fdispatch&${window(OLD - 1_000_000_000n, NOW)}`);
    assert.deepEqual([...new Set(spansOf(both).map((s) => s.traceId))], [A, C]);
  });

  it('answers a search that finds nothing with 404, and refuses bad parameters with 400', async () => {
    assert.equal(await failure(`/api/v3/traces?query.serviceName=nobody&${window(T, NOW)}`, 404), 'No traces found');
    assert.equal(
      await failure('/api/v3/traces?query.serviceName=redis', 400),
      'query.startTimeMin and query.startTimeMax are required',
    );
    assert.match(await failure(`/api/v3/traces?${window(NOW, T)}`, 400), /must be before/);
    assert.match(await failure(`/api/v3/traces?${window(T, NOW)}&query.duration_min=5y`, 400), /query.duration_min/);
    assert.match(await failure(`/api/v3/traces?${window(T, NOW)}&query.attributes=%5B%5D`, 400), /query.attributes/);
  });

  it('summarises the traces a search finds, as the Jaeger UI 2.20 reads them', async () => {
    const body = await ok(
      `/api/v3/trace-summaries?query.serviceName=frontend&query.searchDepth=20&${window(T - 1_000_000_000n, NOW)}`,
    );
    assert.deepEqual(body.summaries[0], {
      traceId: A,
      rootServiceName: 'frontend',
      rootOperationName: 'GET /dispatch',
      minStartTimeUnixNano: String(T),
      maxEndTimeUnixNano: String(T + 700_000_000n),
      spanCount: 5,
      errorSpanCount: 1,
      orphanSpanCount: 0,
      services: [
        { name: 'driver', spanCount: 1, errorSpanCount: 0 },
        { name: 'frontend', spanCount: 3, errorSpanCount: 0 },
        { name: 'redis', spanCount: 1, errorSpanCount: 1 },
      ],
    });
    assert.equal(body.summaries[1].traceId, B);
    // No match is an empty list, not 404.
    assert.deepEqual(await ok(`/api/v3/trace-summaries?query.serviceName=nobody&${window(T, NOW)}`), { summaries: [] });
  });

  it('answers unknown api_v3 routes with the gateway’s error body', async () => {
    assert.equal(await failure('/api/v3/dependencies', 404), 'no route GET /api/v3/dependencies');
  });
});

describe('Jaeger query API failures', () => {
  const failing = (error: Error): SpanReader =>
    new Proxy({} as SpanReader, {
      get: () => async () => {
        throw error;
      },
    });

  it('answers a store failure with 500 in the envelope and logs its cause', async () => {
    const { logger, lines } = capturingLogger();
    const app = buildJaegerApp({ reader: failing(new Error('disk on fire')), logger });
    const r = await app.inject({ method: 'GET', url: '/api/services' });
    assert.equal(r.statusCode, 500);
    assert.deepEqual(r.json().errors, [{ code: 500, msg: 'internal error; see the server log' }]);
    const line = lines.find((l) => l.msg === 'Jaeger API query failed');
    assert.ok(line);
    assert.equal((line.err as { message: string }).message, 'disk on fire');
    const v3 = await app.inject({ method: 'GET', url: '/api/v3/services' });
    assert.deepEqual(v3.json(), { error: { httpCode: 500, message: 'internal error; see the server log' } });
    await app.close();
  });

  it('answers 503 with Retry-After while acknowledged spans are not yet committed', async () => {
    const app = buildJaegerApp({ reader: failing(new NotYetCommittedError('3 spans are not yet committed', 3)) });
    const r = await app.inject({ method: 'GET', url: `/api/traces/${A}` });
    assert.equal(r.statusCode, 503);
    assert.equal(r.headers['retry-after'], '5');
    assert.equal(r.json().errors[0].msg, '3 spans are not yet committed');
    await app.close();
  });
});
