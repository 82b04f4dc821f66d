import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceImportError } from '../import/import-error.ts';
import { readZipkinV1Spans } from './zipkin-v1.ts';

const frontend = { serviceName: 'frontend', ipv4: '10.0.0.1', port: 8080 };
const backend = { serviceName: 'backend', ipv4: '10.0.0.2', port: 9000 };

describe('Zipkin v1 JSON to v2', () => {
  it('splits a span with client and server annotations into a client and a shared server span', () => {
    const spans = readZipkinV1Spans([
      {
        traceId: '463ac35c9f6413ad',
        id: '72485a3953bb6124',
        parentId: '0000000000000001',
        name: 'get /api',
        timestamp: 1_000_000,
        duration: 500,
        annotations: [
          { timestamp: 1_000_000, value: 'cs', endpoint: frontend },
          { timestamp: 1_000_100, value: 'sr', endpoint: backend },
          { timestamp: 1_000_150, value: 'cache miss', endpoint: backend },
          { timestamp: 1_000_400, value: 'ss', endpoint: backend },
          { timestamp: 1_000_500, value: 'cr', endpoint: frontend },
        ],
        binaryAnnotations: [
          { key: 'http.path', value: '/api', endpoint: frontend },
          { key: 'db.rows', value: 3, endpoint: backend },
          { key: 'sa', value: true, endpoint: { serviceName: 'backend', ipv4: '10.0.0.2', port: 9000 } },
          { key: 'ca', value: true, endpoint: { serviceName: '', ipv4: '10.0.0.1' } },
        ],
      },
    ]);
    assert.deepEqual(spans, [
      {
        traceId: '463ac35c9f6413ad',
        id: '72485a3953bb6124',
        parentId: '0000000000000001',
        kind: 'CLIENT',
        name: 'get /api',
        timestamp: 1_000_000,
        duration: 500,
        localEndpoint: frontend,
        remoteEndpoint: backend,
        tags: { 'http.path': '/api' },
      },
      {
        traceId: '463ac35c9f6413ad',
        id: '72485a3953bb6124',
        parentId: '0000000000000001',
        kind: 'SERVER',
        name: 'get /api',
        timestamp: 1_000_100,
        duration: 300,
        localEndpoint: backend,
        remoteEndpoint: { ipv4: '10.0.0.1' },
        annotations: [{ timestamp: 1_000_150, value: 'cache miss' }],
        tags: { 'db.rows': '3' },
        shared: true,
      },
    ]);
  });

  it('reads zipkin-js server spans: owned (with timestamp) and shared (without)', () => {
    const server = (timestamp?: number) => ({
      traceId: 'a',
      id: 'b',
      name: 'post',
      ...(timestamp ? { timestamp, duration: 30 } : {}),
      annotations: [
        { value: 'sr', timestamp: 100, endpoint: backend },
        { value: 'ss', timestamp: 120, endpoint: backend },
      ],
    });
    const [owned, shared] = readZipkinV1Spans([server(90), server()]);
    assert.deepEqual([owned.kind, owned.timestamp, owned.duration, owned.shared], ['SERVER', 90, 30, undefined]);
    assert.deepEqual([shared.kind, shared.timestamp, shared.duration, shared.shared], ['SERVER', 100, 20, true]);
  });

  it('reads a local span (lc), messaging spans and debug', () => {
    const [local, producer, consumer] = readZipkinV1Spans([
      {
        traceId: 'a',
        id: '1',
        name: 'compute',
        timestamp: 10,
        duration: 5,
        debug: true,
        binaryAnnotations: [
          { key: 'lc', value: '', endpoint: { serviceName: 'worker' } },
          { key: 'ok', value: false, endpoint: { serviceName: 'worker' } },
        ],
      },
      {
        traceId: 'a',
        id: '2',
        name: 'send',
        timestamp: 20,
        annotations: [{ value: 'ms', timestamp: 20, endpoint: { serviceName: 'worker' } }],
        binaryAnnotations: [{ key: 'ma', value: true, endpoint: { serviceName: 'kafka' } }],
      },
      {
        traceId: 'a',
        id: '3',
        name: 'receive',
        annotations: [
          { value: 'wr', timestamp: 30, endpoint: { serviceName: 'reader' } },
          { value: 'mr', timestamp: 35, endpoint: { serviceName: 'reader' } },
        ],
      },
    ]);
    assert.deepEqual(local, {
      traceId: '000000000000000a',
      id: '0000000000000001',
      name: 'compute',
      timestamp: 10,
      duration: 5,
      localEndpoint: { serviceName: 'worker' },
      tags: { ok: 'false' },
      debug: true,
    });
    assert.deepEqual(
      [producer.kind, producer.timestamp, producer.remoteEndpoint, producer.localEndpoint],
      ['PRODUCER', 20, { serviceName: 'kafka' }, { serviceName: 'worker' }],
    );
    assert.deepEqual([consumer.kind, consumer.timestamp, consumer.duration], ['CONSUMER', 30, 5]);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not a list', {}, /expected a JSON list of Zipkin v1 spans/],
    [
      'an annotation without a value',
      [{ traceId: 'a', id: 'b', annotations: [{ timestamp: 1 }] }],
      /\[0\]\.annotations\[0\]\.value/,
    ],
    [
      'a binary annotation without a key',
      [{ traceId: 'a', id: 'b', binaryAnnotations: [{ value: 1 }] }],
      /\[0\]\.binaryAnnotations\[0\]\.key/,
    ],
    ['a bad id', [{ traceId: 'a', id: 'zz' }], /\[0\]\.id: expected a hex id/],
  ];
  for (const [name, body, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => readZipkinV1Spans(body),
        (error: Error) => {
          assert.ok(error instanceof TraceImportError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});
