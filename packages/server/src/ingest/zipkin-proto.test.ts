import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceImportError } from '@ariadne/core';
import { encodeZipkinProto, type ProtoSpan } from './testdata/zipkin-proto-writer.ts';
import { ipv6Text, readZipkinProto, ZipkinProtoError } from './zipkin-proto.ts';

const traceId = Buffer.from('5af7183fb1d4cf5f463ac35c9f6413ad', 'hex');
const id = Buffer.from('72485a3953bb6124', 'hex');

describe('Zipkin proto3 ListOfSpans', () => {
  it('decodes every field of zipkin.proto', () => {
    const spans = readZipkinProto(
      encodeZipkinProto([
        {
          traceId,
          parentId: Buffer.from('0000000000000001', 'hex'),
          id,
          kind: 1,
          name: 'get /users',
          timestamp: 1_700_000_000_123_456n,
          duration: 2500n,
          localEndpoint: { serviceName: 'frontend', ipv4: [10, 0, 0, 1], port: 8080 },
          remoteEndpoint: {
            serviceName: 'users',
            ipv6: Buffer.from('20010db8000000000000000000000001', 'hex'),
            port: 443,
          },
          annotations: [{ timestamp: 1_700_000_000_124_000n, value: 'ws' }],
          tags: { 'http.method': 'GET', ünïcode: '✓' },
          debug: true,
          shared: true,
          unknown: true,
        },
        { traceId: id, id, kind: 9 },
      ]),
    );
    assert.deepEqual(spans, [
      {
        traceId: '5af7183fb1d4cf5f463ac35c9f6413ad',
        id: '72485a3953bb6124',
        parentId: '0000000000000001',
        kind: 'CLIENT',
        name: 'get /users',
        timestamp: 1_700_000_000_123_456,
        duration: 2500,
        localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1', port: 8080 },
        remoteEndpoint: { serviceName: 'users', ipv6: '2001:db8::1', port: 443 },
        annotations: [{ timestamp: 1_700_000_000_124_000, value: 'ws' }],
        tags: { 'http.method': 'GET', ünïcode: '✓' },
        debug: true,
        shared: true,
      },
      // A 64-bit trace id, and a kind zipkin.proto does not define: no kind.
      { traceId: '72485a3953bb6124', id: '72485a3953bb6124' },
    ]);
    assert.deepEqual(readZipkinProto(new Uint8Array(0)), []);
  });

  const bad: [string, ProtoSpan[] | Uint8Array, RegExp, new (message: string) => Error][] = [
    [
      'a 12-byte trace id',
      [{ traceId: Buffer.alloc(12, 1), id }],
      /spans\[0\]: trace_id must be 8 or 16 bytes, got 12/,
      ZipkinProtoError,
    ],
    [
      'a 4-byte span id',
      [{ traceId, id: Buffer.alloc(4, 1) }],
      /spans\[0\]: id must be 8 bytes, got 4/,
      ZipkinProtoError,
    ],
    [
      'a 5-byte ipv4',
      [{ traceId, id, localEndpoint: { ipv4: [1, 2, 3, 4, 5] } }],
      /local_endpoint: ipv4 must be 4 bytes/,
      ZipkinProtoError,
    ],
    [
      'a name that is not UTF-8',
      [{ traceId, id, nameBytes: Buffer.from([0xc3, 0x28]) }],
      /spans\[0\]: name is not UTF-8/,
      ZipkinProtoError,
    ],
    [
      'a timestamp beyond 2^53 µs',
      [{ traceId, id, timestamp: 2n ** 60n }],
      /timestamp \d+ is out of range/,
      ZipkinProtoError,
    ],
    [
      'a kind sent as length-delimited',
      [{ traceId, id, kindAsBytes: true }],
      /kind has wire type 2, expected 0/,
      ZipkinProtoError,
    ],
    ['no span id', [{ traceId }], /\[0\]: a Zipkin span needs traceId and id/, TraceImportError],
    [
      'a truncated message',
      encodeZipkinProto([{ traceId, id, name: 'cut' }]).subarray(0, 20),
      /truncated/,
      ZipkinProtoError,
    ],
    [
      'a negative port',
      [{ traceId, id, localEndpoint: { port: -1 } }],
      /localEndpoint\.port: expected a port/,
      TraceImportError,
    ],
  ];
  for (const [name, input, message, type] of bad) {
    it(`refuses ${name}`, () => {
      const bytes = input instanceof Uint8Array ? input : encodeZipkinProto(input);
      assert.throws(
        () => readZipkinProto(bytes),
        (error: Error) => {
          assert.ok(error instanceof type, `${error.name}: ${error.message}`);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it('writes IPv6 addresses as RFC 5952 does', () => {
    const v6 = (h: string) => ipv6Text(Buffer.from(h, 'hex'));
    assert.equal(v6('20010db8000000000000ff0000428329'), '2001:db8::ff00:42:8329');
    assert.equal(v6('00000000000000000000000000000001'), '::1');
    assert.equal(v6('00000000000000000000000000000000'), '::');
    assert.equal(v6('20010db8000000010000000000000001'), '2001:db8:0:1::1');
    // A single zero group is not shortened; of two equal runs, the first.
    assert.equal(v6('20010db800000001000100010001000a'), '2001:db8:0:1:1:1:1:a');
    assert.equal(v6('20010000000000010000000000000001'), '2001:0:0:1::1');
    assert.equal(v6('fe800000000000000000000000000000'), 'fe80::');
  });
});
