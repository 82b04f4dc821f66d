import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readZipkinSpans, spansFromOtlpJson, spansFromZipkin, type ZipkinSpan } from '@ariadne/core';
import type { FastifyInstance } from 'fastify';
import { DuckDbSpanStore } from '../../store/duckdb-store.ts';
import { capturingLogger } from '../../testdata/capture-log.ts';
import { buildZipkinApp } from './zipkin-app.ts';

/**
 * The Zipkin read API over a real DuckDB store, through `app.inject()`: the routes zipkin-lens
 * and Grafana's Zipkin data source call, with Zipkin's units, shapes, status codes and texts.
 */

const NOW_MS = 1_800_000_000_000;
const T = (NOW_MS - 60_000) * 1000; // µs, a minute ago
const HOUR_MS = 3_600_000;

const TRACE1 = '00000000000000000000000000000a01';
const TRACE2 = 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2';

const frontend = { serviceName: 'frontend', ipv4: '10.0.0.1', port: 8080 };
const payments = { serviceName: 'payments', ipv4: '10.0.0.2', port: 9090 };

/** Zipkin spans of trace 1 (a checkout calling payments, sharing the client's span id) and 3. */
const zipkinSpans: ZipkinSpan[] = [
  {
    traceId: '0000000000000a01',
    id: '0000000000000001',
    kind: 'SERVER',
    name: 'get /checkout',
    timestamp: T,
    duration: 200_000,
    localEndpoint: frontend,
    tags: { 'http.path': '/checkout' },
  },
  {
    traceId: '0000000000000a01',
    parentId: '0000000000000001',
    id: '0000000000000002',
    kind: 'CLIENT',
    name: 'post /pay',
    timestamp: T + 1000,
    duration: 50_000,
    localEndpoint: frontend,
    remoteEndpoint: { serviceName: 'payments' },
    annotations: [{ timestamp: T + 2000, value: 'retried' }],
    tags: { 'http.status_code': '500', error: 'boom' },
  },
  {
    traceId: '0000000000000a01',
    parentId: '0000000000000001',
    id: '0000000000000002',
    kind: 'SERVER',
    name: 'post /pay',
    timestamp: T + 3000,
    duration: 40_000,
    localEndpoint: payments,
    shared: true,
  },
  {
    traceId: '0000000000000a01',
    parentId: '0000000000000002',
    id: '0000000000000003',
    kind: 'CLIENT',
    name: 'insert',
    timestamp: T + 4000,
    duration: 10_000,
    localEndpoint: payments,
    remoteEndpoint: { serviceName: 'postgres', ipv6: '2001:db8::5', port: 5432 },
  },
  {
    traceId: '0000000000000a03',
    id: '0000000000000031',
    kind: 'SERVER',
    name: 'get /home',
    timestamp: T - 2 * HOUR_MS * 1000,
    duration: 10_000,
    localEndpoint: frontend,
    tags: { 'http.path': '/home' },
  },
];

/** Trace 2 arrives as OTLP: typed attributes, an error status, an event with attributes. */
function otlpTrace() {
  const start = BigInt(T) * 1000n;
  return spansFromOtlpJson({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'inventory' } }] },
        scopeSpans: [
          {
            scope: { name: 'inventory-lib', version: '1.0' },
            spans: [
              {
                traceId: TRACE2,
                spanId: 'c3c3c3c3c3c3c3c3',
                name: 'GET /stock',
                kind: 2,
                startTimeUnixNano: String(start),
                endTimeUnixNano: String(start + 5_000_000n),
                attributes: [{ key: 'http.status_code', value: { intValue: '200' } }],
                events: [
                  {
                    timeUnixNano: String(start + 1_000_000n),
                    name: 'exception',
                    attributes: [{ key: 'exception.type', value: { stringValue: 'OutOfStock' } }],
                  },
                ],
                status: { code: 2, message: 'out of stock' },
              },
            ],
          },
        ],
      },
    ],
  });
}

describe('Zipkin API', () => {
  let dir: string;
  let store: DuckDbSpanStore;
  let app: FastifyInstance;
  const log = capturingLogger();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-zipkin-api-'));
    store = await DuckDbSpanStore.open({ dataDir: dir });
    await store.writeSpans([...spansFromZipkin(readZipkinSpans(zipkinSpans)), ...otlpTrace()]);
    app = buildZipkinApp({ reader: store, logger: log.logger, nowMillis: () => NOW_MS });
  });
  after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string) => app.inject({ method: 'GET', url });
  const json = async (url: string) => {
    const r = await get(url);
    assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    return r.json();
  };
  /** Trace ids (as Zipkin prints them) of a search. */
  const found = async (params: Record<string, string>) => {
    const traces = (await json(`/api/v2/traces?${new URLSearchParams(params)}`)) as ZipkinSpan[][];
    return traces.map((t) => t[0].traceId).sort();
  };

  it('lists services and span names, sorted, under /api/v2 and /zipkin/api/v2, for any origin', async () => {
    for (const prefix of ['/api/v2', '/zipkin/api/v2']) {
      const services = await get(`${prefix}/services`);
      assert.deepEqual(services.json(), ['frontend', 'inventory', 'payments']);
      assert.equal(services.headers['cache-control'], undefined); // three or fewer: not cached
      assert.equal(services.headers['access-control-allow-origin'], '*');
      assert.deepEqual(await json(`${prefix}/spans?serviceName=frontend`), ['get /checkout', 'get /home', 'post /pay']);
    }
    assert.deepEqual(await json('/api/v2/spans?serviceName='), []);
    assert.deepEqual(await json('/api/v2/spans?serviceName=nobody'), []);
    const missing = await get('/api/v2/spans');
    assert.equal(missing.statusCode, 400);
    assert.match(String(missing.headers['content-type']), /^text\/plain/);
    assert.equal(missing.body, "Required parameter 'serviceName' is missing");
  });

  it('lists remote services from the remote endpoints (peer.service) of the service’s spans', async () => {
    assert.deepEqual(await json('/api/v2/remoteServices?serviceName=frontend'), ['payments']);
    assert.deepEqual(await json('/zipkin/api/v2/remoteServices?serviceName=payments'), ['postgres']);
    assert.deepEqual(await json('/api/v2/remoteServices?serviceName=inventory'), []);
  });

  it('returns a trace as Zipkin v2 spans: the shared server half apart, ids as Zipkin prints them', async () => {
    const spans = (await json('/api/v2/trace/a01')) as ZipkinSpan[];
    const key = (s: ZipkinSpan) => `${s.id}/${s.kind}`;
    assert.deepEqual(
      [...spans].sort((a, b) => key(a).localeCompare(key(b))),
      [...zipkinSpans.slice(0, 4)].sort((a, b) => key(a).localeCompare(key(b))),
    );
    // Any length up to 32 digits, either case, zero-padded or not.
    assert.deepEqual((await json(`/api/v2/trace/${TRACE1.toUpperCase()}`)).length, 4);
    assert.deepEqual((await json('/zipkin/api/v2/trace/0000000000000a01')).length, 4);
  });

  it('shapes OTLP spans as the OpenTelemetry Zipkin exporter would', async () => {
    const [span] = (await json(`/api/v2/trace/${TRACE2}`)) as ZipkinSpan[];
    assert.deepEqual(span, {
      traceId: TRACE2,
      id: 'c3c3c3c3c3c3c3c3',
      kind: 'SERVER',
      name: 'GET /stock',
      timestamp: T,
      duration: 5000,
      localEndpoint: { serviceName: 'inventory' },
      annotations: [{ timestamp: T + 1000, value: '"exception":{"exception.type":"OutOfStock"}' }],
      tags: {
        'http.status_code': '200',
        'otel.scope.name': 'inventory-lib',
        'otel.scope.version': '1.0',
        'otel.status_code': 'ERROR',
        error: 'out of stock',
      },
    });
  });

  it('answers 404 with "<id> not found" as text for an unknown trace, 400 for a bad id', async () => {
    const missing = await get('/api/v2/trace/00000000000000000000000000000fff');
    assert.equal(missing.statusCode, 404);
    assert.match(String(missing.headers['content-type']), /^text\/plain/);
    assert.equal(missing.body, '0000000000000fff not found');
    const bad = await get('/api/v2/trace/xyz');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.body, 'traceId should be a 1 to 32 character hex string, got "xyz"');
  });

  it('returns several traces with traceMany, leaving out unknown ones', async () => {
    const traces = (await json(`/api/v2/traceMany?traceIds=${TRACE2},a01,fff`)) as ZipkinSpan[][];
    assert.deepEqual(
      traces.map((t) => [t[0].traceId, t.length]),
      [
        [TRACE2, 1],
        ['0000000000000a01', 4],
      ],
    );
    const errors: [string, string][] = [
      ['traceIds=a01', 'Use /api/v2/trace/{traceId} endpoint to retrieve a single trace'],
      ['traceIds=a01,0a01', 'redundant traceId: 0a01'],
      ['traceIds=', 'traceIds parameter is empty'],
      ['', "Required parameter 'traceIds' is missing"],
    ];
    for (const [query, message] of errors) {
      const r = await get(`/api/v2/traceMany?${query}`);
      assert.equal(r.statusCode, 400, query);
      assert.equal(r.body, message);
    }
  });

  it('searches by service, span name and remote service; within endTs − lookback (ms)', async () => {
    assert.deepEqual(await found({ serviceName: 'frontend' }), ['0000000000000a01', '0000000000000a03']);
    assert.deepEqual(await found({ serviceName: 'frontend', lookback: String(HOUR_MS) }), ['0000000000000a01']);
    assert.deepEqual(
      await found({ serviceName: 'frontend', endTs: String(NOW_MS - 90 * 60_000), lookback: String(HOUR_MS) }),
      ['0000000000000a03'],
    );
    assert.deepEqual(await found({ serviceName: 'frontend', spanName: 'post /pay' }), ['0000000000000a01']);
    assert.deepEqual(await found({ serviceName: 'frontend', spanName: 'all' }), [
      '0000000000000a01',
      '0000000000000a03',
    ]);
    assert.deepEqual(await found({ serviceName: 'frontend', remoteServiceName: 'payments' }), ['0000000000000a01']);
    // postgres is called by payments, not by frontend.
    assert.deepEqual(await found({ serviceName: 'frontend', remoteServiceName: 'postgres' }), []);
    assert.deepEqual(await found({ serviceName: 'payments', remoteServiceName: 'postgres' }), ['0000000000000a01']);
    assert.deepEqual(await found({}), ['0000000000000a01', '0000000000000a03', TRACE2]);
    assert.equal((await found({ limit: '1' })).length, 1);
  });

  it('searches annotations and tags with annotationQuery, typed OTLP values and error statuses too', async () => {
    assert.deepEqual(await found({ annotationQuery: 'retried' }), ['0000000000000a01']);
    assert.deepEqual(await found({ annotationQuery: 'http.path' }), ['0000000000000a01', '0000000000000a03']);
    assert.deepEqual(await found({ annotationQuery: 'http.status_code=500 and retried' }), ['0000000000000a01']);
    assert.deepEqual(await found({ annotationQuery: 'http.status_code=200' }), [TRACE2]);
    assert.deepEqual(await found({ annotationQuery: 'error' }), ['0000000000000a01', TRACE2]);
    assert.deepEqual(await found({ annotationQuery: 'error=out of stock' }), [TRACE2]);
    // Conditions are met by spans of the queried service: payments has no `retried`.
    assert.deepEqual(await found({ serviceName: 'payments', annotationQuery: 'retried' }), []);
  });

  it('searches by duration in microseconds, both bounds on one span', async () => {
    assert.deepEqual(await found({ serviceName: 'frontend', minDuration: '100000' }), ['0000000000000a01']);
    assert.deepEqual(await found({ serviceName: 'frontend', minDuration: '5000', maxDuration: '20000' }), [
      '0000000000000a03',
    ]);
    // 50 ms client and 200 ms server: neither alone is between 60 and 150 ms.
    assert.deepEqual(await found({ serviceName: 'frontend', minDuration: '60000', maxDuration: '150000' }), []);
  });

  it('answers 400 with Zipkin’s message for invalid search parameters', async () => {
    for (const [query, message] of [
      ['minDuration=0', 'minDuration <= 0'],
      ['maxDuration=5', 'maxDuration is only valid with minDuration'],
      ['limit=0', 'limit <= 0'],
      ['endTs=abc', 'endTs: expected an integer, got "abc"'],
    ]) {
      const r = await get(`/api/v2/traces?${query}`);
      assert.equal(r.statusCode, 400, query);
      assert.equal(r.body, message);
    }
  });

  it('answers dependency links in the window, errorCount only when not zero', async () => {
    // The payments server half (no error of its own) calls under frontend: one call, no errors.
    assert.deepEqual(await json(`/api/v2/dependencies?endTs=${NOW_MS}&lookback=${HOUR_MS}`), [
      { parent: 'frontend', child: 'payments', callCount: 1 },
    ]);
    assert.deepEqual(await json(`/api/v2/dependencies?endTs=${NOW_MS - 3 * HOUR_MS}&lookback=${HOUR_MS}`), []);
    const missing = await get('/api/v2/dependencies');
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.body, "Required parameter 'endTs' is missing");
  });

  it('offers tag keys and values for autocompletion, not the fields endpoints are made of', async () => {
    const keys = (await json('/api/v2/autocompleteKeys')) as string[];
    assert.ok(keys.includes('http.path') && keys.includes('http.status_code') && keys.includes('error'), String(keys));
    for (const field of ['peer.service', 'network.local.address', 'zipkin.shared', 'service.name']) {
      assert.ok(!keys.includes(field), field);
    }
    assert.deepEqual(await json('/zipkin/api/v2/autocompleteValues?key=http.path'), ['/checkout', '/home']);
    assert.deepEqual(await json('/api/v2/autocompleteValues?key=http.status_code'), ['200', '500']);
    const configured = buildZipkinApp({ reader: store, autocompleteKeys: ['env', 'region'] });
    assert.deepEqual((await configured.inject({ method: 'GET', url: '/api/v2/autocompleteKeys' })).json(), [
      'env',
      'region',
    ]);
    await configured.close();
  });

  it('serves zipkin-lens its config.json, a health check and CORS preflights', async () => {
    const config = await json('/zipkin/config.json');
    assert.deepEqual(config, {
      environment: '',
      queryLimit: 10,
      defaultLookback: 900_000,
      searchEnabled: true,
      dependency: { enabled: true, lowErrorRate: 0.5, highErrorRate: 0.75 },
    });
    assert.equal((await json('/health')).status, 'UP');
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/api/v2/spans',
      headers: {
        origin: 'http://lens.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], '*');
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    // A token travels in Authorization: a browser on another origin sends it only if allowed by name.
    const allowed = String(preflight.headers['access-control-allow-headers'])
      .toLowerCase()
      .split(/\s*,\s*/);
    for (const header of ['content-type', 'content-encoding', 'authorization'])
      assert.ok(allowed.includes(header), header);
    const unknown = await get('/api/v2/nothing');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.body, 'no route GET /api/v2/nothing');
    // Without ingest, the collector's routes are not there.
    assert.equal((await app.inject({ method: 'POST', url: '/api/v2/spans', payload: '[]' })).statusCode, 404);
  });
});

/**
 * zipkin-lens's remote service list and search on spans sent over OTLP: their remote endpoint is
 * named by `server.address` (or `db.name`, …) far more often than by `peer.service`, and a name
 * the list offers must find the traces it came from (found checking zipkin-lens against Ariadne).
 */
describe('Zipkin API: remote services of OTLP spans', () => {
  const TRACE = '5b8efff798038103d269b633813fc60c';
  let dir: string;
  let store: DuckDbSpanStore;
  let app: FastifyInstance;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-zipkin-remote-'));
    store = await DuckDbSpanStore.open({ dataDir: dir });
    const start = BigInt(T) * 1000n;
    const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
    const span = (id: string, kind: number, name: string, attributes: ReturnType<typeof str>[]) => ({
      traceId: TRACE,
      spanId: `eee19b7ec3c1b17${id}`,
      ...(id !== '0' && { parentSpanId: 'eee19b7ec3c1b170' }),
      name,
      kind,
      startTimeUnixNano: String(start + BigInt(id) * 1_000_000n),
      endTimeUnixNano: String(start + BigInt(id) * 1_000_000n + 500_000n),
      attributes,
    });
    await store.writeSpans(
      spansFromOtlpJson({
        resourceSpans: [
          {
            resource: { attributes: [str('service.name', 'cart')] },
            scopeSpans: [
              {
                spans: [
                  span('0', 2, 'GET /cart', [str('server.address', 'cart.example.com')]), // SERVER: not a remote
                  span('1', 3, 'SELECT carts', [str('db.system', 'postgresql'), str('server.address', 'db.internal')]),
                  span('2', 4, 'publish', [str('net.peer.name', 'broker.internal')]),
                  span('3', 3, 'GET /price', [
                    str('peer.service', 'pricing'),
                    str('server.address', 'pricing.internal'),
                  ]),
                  span('4', 1, 'compute', [str('server.address', 'not-a-call')]), // INTERNAL
                ],
              },
            ],
          },
        ],
      }),
    );
    app = buildZipkinApp({ reader: store, nowMillis: () => NOW_MS });
  });
  after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const json = async (url: string) => {
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
    return r.json();
  };

  it('lists the names the spans’ remote endpoints show, and finds the trace by each', async () => {
    const spans = (await json(`/api/v2/trace/${TRACE}`)) as ZipkinSpan[];
    const shown = spans.flatMap((s) => (s.remoteEndpoint?.serviceName ? [s.remoteEndpoint.serviceName] : []));
    assert.deepEqual(shown.sort(), ['broker.internal', 'db.internal', 'pricing']);

    const listed = (await json('/zipkin/api/v2/remoteServices?serviceName=cart')) as string[];
    // Every name a remote endpoint shows; `pricing.internal` too, from the span named `pricing`.
    assert.deepEqual(listed, ['broker.internal', 'db.internal', 'pricing', 'pricing.internal']);
    for (const name of listed) {
      const traces = (await json(
        `/zipkin/api/v2/traces?${new URLSearchParams({ serviceName: 'cart', remoteServiceName: name })}`,
      )) as ZipkinSpan[][];
      assert.deepEqual(
        traces.map((t) => t[0].traceId),
        [TRACE],
        name,
      );
    }
    // A SERVER's or INTERNAL span's host is not a remote service.
    for (const name of ['cart.example.com', 'not-a-call']) {
      assert.deepEqual(await json(`/api/v2/traces?serviceName=cart&remoteServiceName=${name}`), [], name);
    }
    assert.deepEqual(await json('/api/v2/remoteServices?serviceName=pricing'), []);
  });
});
