import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spansFromOtlpJson, tempoTraceJson } from '@ariadne/core';
import type { FastifyInstance } from 'fastify';
import { NotYetCommittedError } from '../../query/span-store.ts';
import { DuckDbSpanStore } from '../../store/duckdb-store.ts';
import { capturingLogger } from '../../testdata/capture-log.ts';
import { buildTempoApp } from './tempo-app.ts';
import { decodeUpstream } from './test-support.ts';

/**
 * The Tempo API's routes over a real DuckDB store, through `app.inject()`: shapes, units, status
 * codes and error texts as Tempo answers them; protobuf bodies decoded with Tempo's own .proto.
 */

const TRACE_A = '0000000000000000a1a1a1a1a1a1a1a1';
const TRACE_B = 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2';
const NOW_S = 1_800_000_000n;
const T0 = NOW_S * 1_000_000_000n;

const kv = (key: string, value: Record<string, unknown>) => ({ key, value });

function fixture() {
  return spansFromOtlpJson({
    resourceSpans: [
      {
        resource: {
          attributes: [kv('service.name', { stringValue: 'shop' }), kv('k8s.pod.name', { stringValue: 'shop-1' })],
        },
        scopeSpans: [
          {
            scope: { name: 'shop-lib', version: '2.0' },
            spans: [
              {
                traceId: TRACE_A,
                spanId: '00000000000000a1',
                name: 'GET /cart',
                kind: 2,
                startTimeUnixNano: String(T0),
                endTimeUnixNano: String(T0 + 1_250_000_000n),
                attributes: [kv('http.method', { stringValue: 'GET' }), kv('http.status_code', { intValue: '500' })],
                status: { code: 2, message: 'boom' },
              },
              {
                traceId: TRACE_A,
                spanId: '00000000000000a2',
                parentSpanId: '00000000000000a1',
                name: 'SELECT cart',
                kind: 3,
                startTimeUnixNano: String(T0 + 10_000_000n),
                endTimeUnixNano: String(T0 + 60_000_000n),
                attributes: [kv('db.rows', { intValue: '7' }), kv('cache.hit', { boolValue: false })],
                events: [
                  { timeUnixNano: String(T0 + 20_000_000n), name: 'retry', attributes: [kv('n', { intValue: '2' })] },
                ],
              },
            ],
          },
        ],
      },
      {
        resource: { attributes: [kv('service.name', { stringValue: 'billing' })] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: TRACE_B,
                spanId: '00000000000000b1',
                parentSpanId: '00000000000000ff',
                name: 'charge',
                kind: 5,
                startTimeUnixNano: String(T0 + 5_000_000_000n),
                endTimeUnixNano: String(T0 + 5_000_400_000n),
                attributes: [kv('http.method', { stringValue: 'POST' }), kv('amount', { doubleValue: 12.5 })],
              },
            ],
          },
        ],
      },
    ],
  });
}

describe('Tempo API', () => {
  let dir: string;
  let store: DuckDbSpanStore;
  let app: FastifyInstance;
  const log = capturingLogger();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-tempo-'));
    store = await DuckDbSpanStore.open({ dataDir: join(dir, 'db') });
    await store.writeSpans(fixture());
    app = buildTempoApp({ reader: store, logger: log.logger });
  });
  after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string, accept?: string) => app.inject({ method: 'GET', url, headers: accept ? { accept } : {} });

  it('answers the health checks Grafana makes: echo, buildinfo with a semver, ready', async () => {
    const echo = await get('/api/echo');
    assert.equal(echo.statusCode, 200);
    assert.equal(echo.body, 'echo');
    const info = (await get('/api/status/buildinfo')).json();
    assert.match(info.version, /^\d+\.\d+\.\d+$/);
    assert.deepEqual(Object.keys(info).sort(), [
      'branch',
      'buildDate',
      'buildUser',
      'goVersion',
      'revision',
      'version',
    ]);
    assert.equal((await get('/ready')).body, 'ready');
  });

  it('returns a trace by id in v1 JSON, resource spans named batches, ids accepted short and upper case', async () => {
    const r = await get('/api/traces/A1A1A1A1A1A1A1A1');
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const body = r.json();
    assert.deepEqual(Object.keys(body), ['batches']);
    const span = body.batches[0].scopeSpans[0].spans[0];
    assert.equal(span.traceId, Buffer.from(TRACE_A, 'hex').toString('base64'));
    assert.equal(span.kind, 'SPAN_KIND_SERVER');
    assert.deepEqual(span.status, { message: 'boom', code: 'STATUS_CODE_ERROR' });
    assert.equal(span.startTimeUnixNano, String(T0));
  });

  it('encodes v1 as tempopb.Trace and v2 as TraceByIDResponse, equal to the JSON when decoded upstream', async () => {
    const json = (await get(`/api/v2/traces/${TRACE_A}`)).json();
    const v1 = await get(`/api/traces/${TRACE_A}`, 'application/protobuf');
    assert.equal(v1.headers['content-type'], 'application/protobuf');
    assert.deepEqual(decodeUpstream('tempopb.Trace', v1.rawPayload), json.trace);
    const v2 = await get(`/api/v2/traces/${TRACE_A}`, 'application/protobuf, */*;q=0.5');
    assert.deepEqual(decodeUpstream('tempopb.TraceByIDResponse', v2.rawPayload), json);
    // The same as core's mapping of the stored spans.
    assert.deepEqual(json, { trace: tempoTraceJson(await store.getTrace(TRACE_A)) });
  });

  it('answers an unknown id with 404 in v1 and with 200 and an empty trace in v2, as Tempo', async () => {
    const unknown = 'c'.repeat(32);
    const v1 = await get(`/api/traces/${unknown}`, 'application/protobuf');
    assert.equal(v1.statusCode, 404);
    const v2 = await get(`/api/v2/traces/${unknown}`, 'application/protobuf');
    assert.equal(v2.statusCode, 200);
    // Field 1 present and empty: Grafana reads trace.resourceSpans without a nil check.
    assert.deepEqual([...v2.rawPayload], [0x0a, 0x00]);
    assert.deepEqual(decodeUpstream('tempopb.TraceByIDResponse', v2.rawPayload), { trace: {} });
    assert.deepEqual((await get(`/api/v2/traces/${unknown}`)).json(), { trace: {} });
  });

  it('checks trace ids and windows as Tempo does, answering 400 with the reason as text', async () => {
    const bad = await get('/api/v2/traces/not-hex');
    assert.equal(bad.statusCode, 400);
    assert.match(String(bad.headers['content-type']), /^text\/plain/);
    assert.equal(bad.body, `trace IDs can only contain hex characters: invalid character "n" at position 1`);
    const window = await get(`/api/traces/${TRACE_A}?start=20&end=10`);
    assert.equal(window.statusCode, 400);
    assert.equal(window.body, 'http parameter start must be before end. received start=20 end=10');
    assert.equal((await get(`/api/traces/${TRACE_A}?start=${NOW_S - 60n}&end=${NOW_S + 60n}`)).statusCode, 200);
    assert.equal((await get(`/api/traces/${TRACE_A}?mode=everything`)).body, 'invalid value for mode everything');
    assert.match((await get(`/api/v2/traces/${TRACE_A}?q={}`)).body, /not supported/);
    assert.match((await get(`/api/traces/${TRACE_A}?format=otlp`)).body, /unknown parameter "format"/);
  });

  it('searches with TraceQL, listing spansets with the fields the query read', async () => {
    const r = await get(`/api/search?q=${encodeURIComponent('{ span.http.method = "GET" && status = error }')}`);
    assert.equal(r.statusCode, 200);
    const body = r.json();
    assert.equal(body.traces.length, 1);
    const [trace] = body.traces;
    assert.equal(trace.traceID, 'a1a1a1a1a1a1a1a1');
    assert.equal(trace.rootServiceName, 'shop');
    assert.equal(trace.rootTraceName, 'GET /cart');
    assert.equal(trace.startTimeUnixNano, String(T0));
    assert.equal(trace.durationMs, 1250);
    assert.deepEqual(trace.serviceStats, { shop: { spanCount: 2, errorCount: 1 } });
    assert.deepEqual(trace.spanSets, [
      {
        spans: [
          {
            spanID: '00000000000000a1',
            startTimeUnixNano: String(T0),
            durationNanos: '1250000000',
            attributes: [
              { key: 'http.method', value: { stringValue: 'GET' } },
              { key: 'status', value: { stringValue: 'error' } },
            ],
          },
        ],
        matched: 1,
      },
    ]);
    assert.deepEqual(trace.spanSet, trace.spanSets[0]);
    assert.deepEqual(body.metrics, { inspectedTraces: 1, completedJobs: 1, totalJobs: 1 });
  });

  it('says the root span has not arrived, and honours limit, spss and the window in seconds', async () => {
    const all = (await get('/api/search?q=%7B%7D&limit=1')).json();
    assert.equal(all.traces.length, 1);
    assert.equal(all.traces[0].traceID, TRACE_B, 'newest first');
    assert.equal(all.traces[0].rootServiceName, '<root span not yet received>');
    const spss = (await get('/api/search?q=%7B%20resource.service.name%20%3D%20%22shop%22%20%7D&spss=1')).json();
    assert.equal(spss.traces[0].spanSets[0].spans.length, 1);
    assert.equal(spss.traces[0].spanSets[0].matched, 2);
    const early = (await get(`/api/search?q=%7B%7D&start=${NOW_S - 3600n}&end=${NOW_S + 1n}`)).json();
    assert.deepEqual(
      early.traces.map((t: { traceID: string }) => t.traceID),
      ['a1a1a1a1a1a1a1a1'],
    );
  });

  it('answers an invalid query with 400 and Tempo-style text', async () => {
    const r = await get(`/api/search?q=${encodeURIComponent('{ status = }')}`);
    assert.equal(r.statusCode, 400);
    assert.match(r.body, /^invalid TraceQL query: parse error at line 1, col 12: /);
  });

  it('runs the old tag search: logfmt tags, trace durations, no spansets', async () => {
    const tags = encodeURIComponent('service.name=shop http.status_code=500');
    const r = (await get(`/api/search?tags=${tags}&minDuration=1s&maxDuration=2s`)).json();
    assert.deepEqual(
      r.traces.map((t: { traceID: string }) => t.traceID),
      ['a1a1a1a1a1a1a1a1'],
    );
    assert.equal(r.traces[0].spanSets, undefined);
    const none = (await get(`/api/search?tags=${tags}&minDuration=2s`)).json();
    assert.deepEqual(none.traces, []);
    const legacy = (await get('/api/search?http.method=POST')).json();
    assert.deepEqual(
      legacy.traces.map((t: { traceID: string }) => t.traceID),
      [TRACE_B],
    );
  });

  it('lists tag names by scope (v2) and flat (v1), with Tempo intrinsics', async () => {
    const v2 = (await get('/api/v2/search/tags?limit=5000')).json();
    const scope = (name: string) => v2.scopes.find((s: { name: string }) => s.name === name)?.tags;
    assert.deepEqual(scope('resource'), ['k8s.pod.name', 'service.name']);
    assert.deepEqual(scope('span'), ['amount', 'cache.hit', 'db.rows', 'http.method', 'http.status_code']);
    assert.ok(scope('intrinsic').includes('status'));
    assert.ok(scope('intrinsic').includes('trace:rootService'));
    const span = (await get('/api/v2/search/tags?scope=span')).json();
    assert.deepEqual(
      span.scopes.map((s: { name: string }) => s.name),
      ['span'],
    );
    const v1 = (await get('/api/search/tags')).json();
    assert.ok(v1.tagNames.includes('service.name') && v1.tagNames.includes('http.method'));
    assert.ok(!v1.tagNames.includes('status'), 'v1 lists intrinsics only when asked');
    assert.ok((await get('/api/search/tags?scope=intrinsic')).json().tagNames.includes('status'));
    const bad = await get('/api/v2/search/tags?scope=galaxy');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.body, 'invalid scope: galaxy');
  });

  it('lists typed tag values (v2), filtered by a TraceQL query, and keyword intrinsics', async () => {
    const methods = (await get('/api/v2/search/tag/span.http.method/values')).json();
    assert.deepEqual(methods.tagValues, [
      { type: 'string', value: 'GET' },
      { type: 'string', value: 'POST' },
    ]);
    const q = encodeURIComponent('{ resource.service.name = "billing" }');
    const filtered = (await get(`/api/v2/search/tag/span.http.method/values?q=${q}`)).json();
    assert.deepEqual(filtered.tagValues, [{ type: 'string', value: 'POST' }]);
    const services = (await get('/api/v2/search/tag/resource.service.name/values')).json();
    assert.deepEqual(services.tagValues, [
      { type: 'string', value: 'billing' },
      { type: 'string', value: 'shop' },
    ]);
    const rows = (await get('/api/v2/search/tag/.db.rows/values')).json();
    assert.deepEqual(rows.tagValues, [{ type: 'int', value: '7' }]);
    const status = (await get('/api/v2/search/tag/status/values')).json();
    assert.deepEqual(status.tagValues, [
      { type: 'keyword', value: 'ok' },
      { type: 'keyword', value: 'error' },
      { type: 'keyword', value: 'unset' },
    ]);
    const long = `span.${'x'.repeat(300)}`;
    assert.deepEqual((await get(`/api/v2/search/tag/${long}/values`)).json().tagValues, []);
    const bad = await get('/api/v2/search/tag/app.user.id/values');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /please provide a valid tagName/);
  });

  it('lists old-style tag values as text, with the virtual status.code', async () => {
    const methods = (await get('/api/search/tag/http.method/values')).json();
    assert.deepEqual(methods.tagValues, ['GET', 'POST']);
    const codes = (await get('/api/search/tag/http.status_code/values')).json();
    assert.deepEqual(codes.tagValues, ['500']);
    assert.deepEqual((await get('/api/search/tag/status.code/values')).json().tagValues, ['unset', 'ok', 'error']);
  });

  it('answers 503 with Retry-After while acknowledged spans are not yet readable, and logs failures', async () => {
    const behind = Object.create(store) as DuckDbSpanStore;
    behind.getTrace = async () => {
      throw new NotYetCommittedError('trace … is not in the store yet', 12);
    };
    behind.listTagNames = async () => {
      throw new Error('disk on fire');
    };
    const other = buildTempoApp({ reader: behind, logger: log.logger });
    try {
      const r = await other.inject({ method: 'GET', url: `/api/v2/traces/${TRACE_A}` });
      assert.equal(r.statusCode, 503);
      assert.equal(r.headers['retry-after'], '5');
      const failed = await other.inject({ method: 'GET', url: '/api/search/tags' });
      assert.equal(failed.statusCode, 500);
      assert.equal(failed.body, 'internal error; see the server log');
      const line = log.lines.find((l) => l.msg === 'tempo api: query failed');
      assert.equal((line?.err as { message?: string } | undefined)?.message, 'disk on fire');
    } finally {
      await other.close();
    }
  });

  it('answers unknown routes with 404', async () => {
    const r = await get('/api/metrics/query_range?q=%7B%7D%20%7C%20rate()');
    assert.equal(r.statusCode, 404);
  });
});
