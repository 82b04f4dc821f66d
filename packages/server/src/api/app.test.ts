import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spansFromOtlpJson } from '@ariadne/core';
import type { FastifyInstance } from 'fastify';
import { NotYetCommittedError } from '../query/span-store.ts';
import { DuckDbSpanStore } from '../store/duckdb-store.ts';
import { capturingLogger } from '../testdata/capture-log.ts';
import { buildApiApp } from './app.ts';

describe('query API', () => {
  let dir: string;
  let store: DuckDbSpanStore;
  let app: FastifyInstance;
  const now = BigInt(Date.now()) * 1_000_000n;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-api-'));
    const web = join(dir, 'web');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>Ariadne</title>');
    writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
    store = await DuckDbSpanStore.open({ dataDir: join(dir, 'db') });
    await store.writeSpans(
      spansFromOtlpJson({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'frontend' } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: 'abcdef0123456789abcdef0123456789',
                    spanId: '0000000000000001',
                    name: 'GET /',
                    startTimeUnixNano: String(now),
                    endTimeUnixNano: String(now + 300_000_000n),
                    attributes: [{ key: 'order.id', value: { stringValue: 'ORD-9' } }],
                  },
                  {
                    traceId: 'abcdef0123456789abcdef0123456789',
                    spanId: '0000000000000002',
                    parentSpanId: '0000000000000001',
                    name: 'child',
                    startTimeUnixNano: String(now),
                    endTimeUnixNano: String(now + 1_000_000n),
                    status: { code: 2 },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    app = buildApiApp({ store, webRoot: web });
  });
  after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string) => app.inject({ method: 'GET', url });

  it('returns a trace with its summary, case-insensitively', async () => {
    const r = await get('/api/v1/traces/ABCDEF0123456789ABCDEF0123456789');
    assert.equal(r.statusCode, 200);
    const body = r.json();
    assert.equal(body.traceId, 'abcdef0123456789abcdef0123456789');
    assert.equal(body.spans.length, 2);
    assert.deepEqual(body.summary, {
      traceId: 'abcdef0123456789abcdef0123456789',
      rootService: 'frontend',
      rootName: 'GET /',
      startUnixNano: String(now),
      durationNanos: '300000000',
      spanCount: 2,
      errorCount: 1,
      services: ['frontend'],
    });
  });

  it('answers 400 for a malformed trace id and 404 JSON for an absent one', async () => {
    const bad = await get('/api/v1/traces/xyz');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error, 'bad_request');
    assert.match(bad.json().message, /32 hex characters/);
    const absent = await get('/api/v1/traces/00000000000000000000000000000001');
    assert.equal(absent.statusCode, 404);
    assert.deepEqual(absent.json(), {
      error: 'not_found',
      message: 'trace 00000000000000000000000000000001 not found',
    });
  });

  it('validates search parameters with clear messages', async () => {
    const cases: [string, RegExp][] = [
      ['minDuration=fast', /minDuration: cannot parse "fast"/],
      ['status=broken', /status/],
      ['limit=0', /limit: "0" is out of range; use 1 to 1000/],
      ['limit=abc', /limit: expected a decimal integer from 1 to 1000, got "abc"/],
      ['limit=Infinity', /limit: expected a decimal integer from 1 to 1000, got "Infinity"/],
      ['limit=0x10', /limit: expected a decimal integer/],
      ['limit=%205', /limit: expected a decimal integer from 1 to 1000, got " 5"/],
      ['limit=1e2', /limit: expected a decimal integer/],
      ['start=%205', /start: cannot parse " 5"/],
      ['start=9999999999999999', /start: "9999999999999999" is out of range/],
      ['end=2025-02-30T00:00:00Z', /end: "2025-02-30T00:00:00Z" is not a date and time that exists/],
      ['minDuration=5%20ms', /minDuration: cannot parse "5 ms"/],
      ['start=yesterday', /start: cannot parse/],
      ['start=2000&end=1000', /end is before start/],
      ['minDuration=2s&maxDuration=1s', /maxDuration is less than minDuration/],
      ['attr=novalue', /attr: expected key=value/],
      ['colour=red', /must NOT have additional properties|colour/],
    ];
    for (const [query, message] of cases) {
      const r = await get(`/api/v1/search?${query}`);
      assert.equal(r.statusCode, 400, query);
      assert.equal(r.json().error, 'bad_request', query);
      assert.match(r.json().message, message, query);
    }
  });

  it('searches with repeated attributes and durations', async () => {
    const r = await get('/api/v1/search?attr=order.id%3DORD-9&minDuration=250ms&maxDuration=1.5s&limit=5');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(
      r.json().traces.map((t: { traceId: string }) => t.traceId),
      ['abcdef0123456789abcdef0123456789'],
    );
    const none = await get('/api/v1/search?attr=order.id%3DORD-9&attr=order.id%3DORD-10');
    assert.deepEqual(none.json().traces, []);
  });

  it('searches with TraceQL: matched spansets cut to spss, the fields the query read', async () => {
    const q = encodeURIComponent('{ resource.service.name = "frontend" } >> { status = error }');
    const r = await get(`/api/v1/search?q=${q}`);
    assert.equal(r.statusCode, 200);
    const body = r.json();
    assert.equal(body.traces.length, 1);
    assert.equal(body.traces[0].traceId, 'abcdef0123456789abcdef0123456789');
    assert.equal(body.traces[0].rootName, 'GET /');
    assert.deepEqual(body.traces[0].spanSets, [
      {
        spans: [
          {
            spanId: '0000000000000002',
            name: 'child',
            service: 'frontend',
            startUnixNano: String(now),
            durationNanos: '1000000',
            attributes: [
              { key: 'service.name', field: 'resource.service.name', value: 'frontend' },
              { key: 'status', field: 'span:status', value: 'error' },
            ],
          },
        ],
        matched: 1,
        attributes: [],
      },
    ]);
    const all = (await get(`/api/v1/search?q=${encodeURIComponent('{ } | count() > 1')}&spss=1`)).json();
    assert.equal(all.traces[0].spanSets[0].matched, 2);
    assert.equal(all.traces[0].spanSets[0].spans.length, 1);
    assert.deepEqual(all.traces[0].spanSets[0].attributes, [{ name: 'count()', value: 2 }]);
    const none = (await get(`/api/v1/search?q=${encodeURIComponent('{ span.order.id = "ORD-10" }')}`)).json();
    assert.deepEqual(none.traces, []);
    const found = (
      await get(`/api/v1/search?q=${encodeURIComponent('{ .order.id = "ORD-9" && duration > 250ms }')}`)
    ).json();
    assert.equal(found.traces.length, 1);
  });

  it('answers a bad TraceQL query with 400, the position and the reason', async () => {
    const r = await get(`/api/v1/search?q=${encodeURIComponent('{ .a = 1 status = error }')}`);
    assert.equal(r.statusCode, 400);
    const body = r.json();
    assert.equal(body.error, 'bad_request');
    assert.match(body.message, /^invalid TraceQL query: 1:10: expected "}" or an operator, found "status"/);
    assert.deepEqual(
      { kind: body.traceql.kind, line: body.traceql.line, col: body.traceql.col, offset: body.traceql.offset },
      { kind: 'syntax', line: 1, col: 10, offset: 9 },
    );
    const typed = (await get(`/api/v1/search?q=${encodeURIComponent('{ 1 = "a" }')}`)).json();
    assert.equal(typed.traceql.kind, 'invalid');
    const metrics = (await get(`/api/v1/search?q=${encodeURIComponent('{ } | rate()')}`)).json();
    assert.equal(metrics.traceql.kind, 'unsupported');
    assert.match(metrics.message, /not supported yet/);
    const mixed = await get(`/api/v1/search?q=${encodeURIComponent('{ }')}&service=frontend`);
    assert.equal(mixed.statusCode, 400);
    assert.match(mixed.json().message, /cannot be combined with service/);
    assert.equal((await get(`/api/v1/search?q=${encodeURIComponent('{ }')}&spss=0`)).statusCode, 400);
    assert.equal((await get('/api/v1/search?service=frontend&spss=2')).statusCode, 400);
  });

  it('lists tag names by scope and typed tag values, for autocompletion', async () => {
    const tags = (await get('/api/v1/tags')).json();
    assert.deepEqual(
      tags.scopes.map((s: { name: string }) => s.name),
      ['span', 'resource', 'intrinsic'],
    );
    assert.deepEqual(tags.scopes[0].tags, ['order.id']);
    assert.deepEqual(tags.scopes[1].tags, ['service.name']);
    assert.ok(tags.scopes[2].tags.includes('duration') && tags.scopes[2].tags.includes('span:status'));
    assert.deepEqual((await get('/api/v1/tags?scope=resource')).json(), {
      scopes: [{ name: 'resource', tags: ['service.name'] }],
    });
    const values = async (name: string, query = '') =>
      (await get(`/api/v1/tags/${encodeURIComponent(name)}/values${query}`)).json().tagValues;
    assert.deepEqual(await values('resource.service.name'), [{ type: 'string', value: 'frontend' }]);
    assert.deepEqual(await values('.order.id'), [{ type: 'string', value: 'ORD-9' }]);
    assert.deepEqual(await values('name', `?q=${encodeURIComponent('{ status = error }')}`), [
      { type: 'string', value: 'child' },
    ]);
    assert.deepEqual(await values('name', `?q=${encodeURIComponent('{ status = error && }')}`), [
      { type: 'string', value: 'GET /' },
      { type: 'string', value: 'child' },
    ]);
    assert.deepEqual(
      (await values('status')).map((v: { value: string }) => v.value),
      ['error', 'ok', 'unset'],
    );
    assert.deepEqual(await values('span:id'), []);
    const old = `?start=${encodeURIComponent('2020-01-01T00:00:00Z')}&end=${encodeURIComponent('2020-01-02T00:00:00Z')}`;
    assert.deepEqual(await values('resource.service.name', old), []);
    assert.equal((await get('/api/v1/tags?scope=events')).statusCode, 400);
  });

  it('lists services, operations, dependencies and stats over a default window', async () => {
    assert.deepEqual((await get('/api/v1/services')).json(), { services: ['frontend'] });
    assert.deepEqual((await get('/api/v1/services/frontend/operations')).json(), { operations: ['GET /', 'child'] });
    assert.deepEqual((await get('/api/v1/dependencies')).json(), { dependencies: [] });
    const stats = (await get('/api/v1/services/frontend/stats')).json();
    assert.equal(stats.operations.length, 2);
    assert.equal(stats.operations[1].errorRate, 1);
    assert.equal(stats.operations[0].p99Nanos, '300000000');
  });

  it('serves the web app on its routes, assets as files, and health checks', async () => {
    for (const route of ['/search', '/services', '/trace/abc?span=1']) {
      const r = await get(route);
      assert.equal(r.statusCode, 200, route);
      assert.match(r.body, /<title>Ariadne<\/title>/);
    }
    assert.equal((await get('/')).statusCode, 302);
    assert.equal((await get('/assets/app.js')).body, 'console.log(1)');
    assert.equal((await get('/healthz')).json().status, 'ok');
    assert.equal((await get('/readyz')).json().status, 'ready');
    assert.equal((await get('/nope')).statusCode, 404);
  });
});

describe('query API while ingest is behind or failing', () => {
  it('answers a trace not yet committed with 503 pending and Retry-After, and /readyz with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ariadne-api-pending-'));
    const store = await DuckDbSpanStore.open({ dataDir: dir });
    // The store is real; its trace read stands for a ReadYourWritesStore whose wait ran out.
    const behind = Object.create(store) as DuckDbSpanStore;
    behind.getTrace = async () => {
      throw new NotYetCommittedError('trace … is not in the store yet', 1234);
    };
    const app = buildApiApp({
      store: behind,
      readiness: () => ({ ready: false, reason: 'ingest log writes fail: ENOSPC' }),
    });
    try {
      const trace = await app.inject({ method: 'GET', url: `/api/v1/traces/${'ab'.repeat(16)}` });
      assert.equal(trace.statusCode, 503);
      assert.equal(trace.headers['retry-after'], '5');
      assert.deepEqual(trace.json(), {
        error: 'pending',
        message: 'trace … is not in the store yet',
        pendingSpans: 1234,
      });
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 503);
      assert.match(ready.json().message, /not ready: ingest log writes fail: ENOSPC/);
    } finally {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('query API failures', () => {
  it('answers a store failure with 500 and logs it with its cause', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ariadne-api-500-'));
    const store = await DuckDbSpanStore.open({ dataDir: dir });
    const failing = Object.create(store) as DuckDbSpanStore;
    failing.listServices = async () => {
      throw new Error('disk I/O error: the services table could not be read');
    };
    const { logger, lines } = capturingLogger();
    const app = buildApiApp({ store: failing, logger });
    try {
      const response = await app.inject({ method: 'GET', url: '/api/v1/services' });
      assert.equal(response.statusCode, 500);
      assert.equal(response.json().error, 'internal');
      const logged = lines.find((l) => l.msg === 'query failed');
      assert.ok(logged, JSON.stringify(lines));
      assert.equal(logged.level, 50);
      assert.match(String((logged.err as { message: string }).message), /services table could not be read/);
      assert.equal(logged.route, '/api/v1/services');
    } finally {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
