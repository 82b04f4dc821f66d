import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { findAttribute, type Span, SpanKind, StatusCode } from '@ariadne/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { searchFormSummaries } from '../query/form-search.ts';
import type { SpanWriter } from '../query/span-store.ts';
import { DuckDbSpanStore } from '../store/duckdb-store.ts';
import { encodeZipkinProto } from './testdata/zipkin-proto-writer.ts';
import { WriteQueue } from './write-queue.ts';
import { zipkinReceiver } from './zipkin-http.ts';

/**
 * The Zipkin collector routes over a real write queue and DuckDB store, through `app.inject()`:
 * status codes and texts as Zipkin answers them, and what is stored.
 */

const LIMIT = 64 * 1024;
const NOW = 1_800_000_000_000_000_000n;

function receiverApp(queue: WriteQueue): FastifyInstance {
  const app = Fastify();
  app.register(zipkinReceiver({ queue, maxBodyBytes: LIMIT, now: () => NOW }));
  return app;
}

let next = 1;
function v2Span(overrides: Record<string, unknown> = {}) {
  const id = (next++).toString(16).padStart(16, '0');
  return {
    traceId: 'a1a1a1a1a1a1a1a1',
    id,
    kind: 'SERVER',
    name: 'get /',
    timestamp: 1_700_000_000_000_000,
    duration: 1500,
    localEndpoint: { serviceName: 'web', ipv4: '10.0.0.1', port: 80 },
    tags: { 'http.path': '/' },
    ...overrides,
  };
}

describe('Zipkin collector (POST /api/v2/spans, /api/v1/spans)', () => {
  let dir: string;
  let store: DuckDbSpanStore;
  let app: FastifyInstance;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-zipkin-in-'));
    store = await DuckDbSpanStore.open({ dataDir: dir });
    app = receiverApp(new WriteQueue({ writer: store, maxPendingSpans: 10_000, maxBatchSpans: 1000 }));
  });
  after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (url: string, payload: string | Uint8Array, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload });
  const stored = async (traceId: string): Promise<Span[]> => store.getTrace(traceId.padStart(32, '0'));

  it('answers 202 with no body to JSON v2 and stores the spans mapped to OTLP', async () => {
    const span = v2Span({ traceId: 'b1b1b1b1b1b1b1b1', tags: { error: 'boom', 'service.version': '3' } });
    const response = await post('/api/v2/spans', JSON.stringify([span]));
    assert.equal(response.statusCode, 202, response.body);
    assert.equal(response.body, '');
    const [s] = await stored('b1b1b1b1b1b1b1b1');
    assert.equal(s.spanId, span.id);
    assert.equal(s.kind, SpanKind.SERVER);
    assert.equal(s.serviceName, 'web');
    assert.deepEqual(s.status, { code: StatusCode.ERROR, message: 'boom' });
    assert.deepEqual(findAttribute(s.resource.attributes, 'service.version'), { type: 'string', value: '3' });
    assert.equal(s.endTimeUnixNano - s.startTimeUnixNano, 1_500_000n);
  });

  it('takes gzip, proto3 ListOfSpans, and no content type as JSON', async () => {
    const gz = await post('/api/v2/spans', gzipSync(JSON.stringify([v2Span({ traceId: 'c1' })])), {
      'content-encoding': 'gzip',
    });
    assert.equal(gz.statusCode, 202, gz.body);
    const proto = await post(
      '/api/v2/spans',
      encodeZipkinProto([
        { traceId: Buffer.from('00000000000000c2', 'hex'), id: Buffer.from('00000000000000c2', 'hex'), name: 'p' },
      ]),
      { 'content-type': 'application/x-protobuf' },
    );
    assert.equal(proto.statusCode, 202, proto.body);
    const bare = await app.inject({
      method: 'POST',
      url: '/api/v2/spans',
      payload: JSON.stringify([v2Span({ traceId: 'c3' })]),
    });
    assert.equal(bare.statusCode, 202, bare.body);
    assert.equal((await stored('c1')).length, 1);
    assert.deepEqual(
      (await stored('c2')).map((s) => [s.name, s.startTimeUnixNano]),
      // No timestamp and nothing else of its trace: placed when it was received.
      [['p', NOW]],
    );
    assert.equal((await stored('c3')).length, 1);
  });

  it('takes v1 JSON, as zipkin-js sends it by default', async () => {
    const response = await post(
      '/api/v1/spans',
      JSON.stringify([
        {
          traceId: 'd1d1d1d1d1d1d1d1',
          id: '00000000000000d1',
          name: 'get',
          timestamp: 1_700_000_000_000_000,
          duration: 10,
          annotations: [
            { timestamp: 1_700_000_000_000_000, value: 'cs', endpoint: { serviceName: 'app' } },
            { timestamp: 1_700_000_000_000_010, value: 'cr', endpoint: { serviceName: 'app' } },
          ],
          binaryAnnotations: [
            { key: 'sa', value: true, endpoint: { serviceName: 'db', ipv4: '10.9.9.9', port: 5432 } },
          ],
        },
      ]),
    );
    assert.equal(response.statusCode, 202, response.body);
    const [s] = await stored('d1d1d1d1d1d1d1d1');
    assert.equal(s.kind, SpanKind.CLIENT);
    assert.deepEqual(findAttribute(s.attributes, 'peer.service'), { type: 'string', value: 'db' });
    assert.deepEqual(findAttribute(s.attributes, 'network.peer.port'), { type: 'int', value: 5432n });
  });

  it('answers 202 to an empty body and an empty list', async () => {
    assert.equal((await post('/api/v2/spans', '')).statusCode, 202);
    assert.equal((await post('/api/v2/spans', '[]')).statusCode, 202);
    assert.equal((await post('/api/v1/spans', '[]')).statusCode, 202);
  });

  const refused: [string, string, string | Uint8Array, Record<string, string>, number, RegExp][] = [
    ['not JSON', '/api/v2/spans', '[{', {}, 400, /^cannot parse the body as JSON/],
    [
      'an object, not a list',
      '/api/v2/spans',
      '{"traceId":"a","id":"b"}',
      {},
      400,
      /^Expected a JSON_V2 encoded list$/,
    ],
    [
      'v1 posted to v2',
      '/api/v2/spans',
      JSON.stringify([{ traceId: 'a', id: 'b', binaryAnnotations: [] }]),
      {},
      400,
      /^Expected a JSON_V2 encoded list, but received: JSON_V1/,
    ],
    [
      'v2 posted to v1',
      '/api/v1/spans',
      JSON.stringify([v2Span()]),
      {},
      400,
      /^Expected a JSON_V1 encoded list, but received: JSON_V2/,
    ],
    [
      'a bad field',
      '/api/v2/spans',
      JSON.stringify([v2Span(), v2Span({ id: 'xyz' })]),
      {},
      400,
      /^JSON: \[1\]\.id: expected a hex id/,
    ],
    [
      'an invalid span (end before start cannot happen; an all-zero id can)',
      '/api/v2/spans',
      JSON.stringify([v2Span({ id: '0000000000000000' })]),
      {},
      400,
      /\[0\]\.id: is all zeros/,
    ],
    [
      'text that is not Unicode',
      '/api/v2/spans',
      JSON.stringify([v2Span({ name: 'x' })]).replace('"x"', '"\\ud800"'),
      {},
      400,
      /^invalid spans: span 0 .*invalid UTF-8 in the name/,
    ],
    [
      'undecodable proto3',
      '/api/v2/spans',
      Buffer.from([0x0a, 0x05, 1]),
      { 'content-type': 'application/x-protobuf' },
      400,
      /^proto3: ListOfSpans: truncated length-delimited field$/,
    ],
    ['Thrift', '/api/v1/spans', 'x', { 'content-type': 'application/x-thrift' }, 415, /Thrift is not supported/],
    [
      'a broken gzip body',
      '/api/v2/spans',
      'not gzip',
      { 'content-encoding': 'gzip' },
      400,
      /cannot decompress gzip body/,
    ],
    ['brotli', '/api/v2/spans', '[]', { 'content-encoding': 'br' }, 415, /unsupported content encoding "br"/],
    ['a body over the limit', '/api/v2/spans', ' '.repeat(LIMIT + 1), {}, 413, /exceeds the limit/],
    [
      'a gzip body over the limit once inflated',
      '/api/v2/spans',
      gzipSync(' '.repeat(LIMIT + 1)),
      { 'content-encoding': 'gzip' },
      413,
      /after decompression/,
    ],
  ];
  for (const [name, url, payload, headers, status, message] of refused) {
    it(`answers ${status} with the reason as text to ${name}, storing nothing`, async () => {
      const before = await searchFormSummaries(store, { limit: 1000 });
      const response = await post(url, payload, headers);
      assert.equal(response.statusCode, status, response.body);
      assert.match(String(response.headers['content-type']), /^text\/plain/);
      assert.match(response.body, message);
      assert.equal((await searchFormSummaries(store, { limit: 1000 })).length, before.length);
    });
  }
});

/** A writer that holds every write until released: only to fill the queue deterministically. */
function heldWriter(inner: SpanWriter) {
  let release: () => void = () => undefined;
  let started: () => void = () => undefined;
  const writing = new Promise<void>((r) => {
    started = r;
  });
  const gate = new Promise<void>((r) => {
    release = r;
  });
  return {
    release: () => release(),
    writing,
    writer: {
      writeSpans: async (spans: readonly Span[]) => {
        started();
        await gate;
        await inner.writeSpans(spans);
      },
    },
  };
}

describe('Zipkin collector back-pressure', () => {
  it('answers 503 with Retry-After while the write queue is full, then 202', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ariadne-zipkin-full-'));
    const store = await DuckDbSpanStore.open({ dataDir: dir });
    const held = heldWriter(store);
    const app = receiverApp(new WriteQueue({ writer: held.writer, maxPendingSpans: 1, maxBatchSpans: 10 }));
    try {
      const send = (name: string) =>
        app.inject({
          method: 'POST',
          url: '/api/v2/spans',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify([v2Span({ traceId: 'e1', name })]),
        });
      const first = send('first');
      await held.writing;
      const refused = await send('second');
      assert.equal(refused.statusCode, 503);
      assert.equal(refused.headers['retry-after'], '1');
      assert.match(refused.body, /write queue is full/);
      held.release();
      assert.equal((await first).statusCode, 202);
      assert.equal((await send('third')).statusCode, 202);
      assert.deepEqual((await store.getTrace('000000000000000000000000000000e1')).map((s) => s.name).sort(), [
        'first',
        'third',
      ]);
    } finally {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
