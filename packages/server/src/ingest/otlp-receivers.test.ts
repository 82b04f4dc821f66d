import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import type { Span } from '@ariadne/core';
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { searchFormSummaries } from '../query/form-search.ts';
import type { SpanWriter } from '../query/span-store.ts';
import { DuckDbSpanStore } from '../store/duckdb-store.ts';
import { OtlpGrpcReceiver } from './otlp-grpc.ts';
import { buildOtlpHttpApp } from './otlp-http.ts';
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RetryInfo, RpcStatus } from './otlp-proto-schema.ts';
import { WriteQueue } from './write-queue.ts';

/**
 * The malformed-input table: every kind of bad request gets its documented response, and nothing
 * from a refused request is stored. Receivers write to a real DuckDB store.
 */

const TRACE = new Uint8Array(16).fill(0xab);
const SPAN = new Uint8Array(8).fill(0xcd);
const LIMIT = 1024 * 1024;

function request(spans: object[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'receiver-test' } }] },
        scopeSpans: [{ spans }],
      },
    ],
  };
}
function protobuf(spans: object[]): Buffer {
  return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request(spans))).finish());
}
const validSpan = (name: string, id = SPAN) => ({
  traceId: TRACE,
  spanId: id,
  name,
  startTimeUnixNano: 1000,
  endTimeUnixNano: 2000,
});
const jsonSpan = (name: string, extra: object = {}) => ({
  traceId: 'abababababababababababababababab',
  spanId: 'cdcdcdcdcdcdcd01',
  name,
  startTimeUnixNano: '1000',
  endTimeUnixNano: '2000',
  ...extra,
});

interface Case {
  name: string;
  contentType: string;
  body: Buffer | string;
  headers?: Record<string, string>;
  status: number;
  message?: RegExp;
}

const cases: Case[] = [
  {
    name: 'truncated protobuf',
    contentType: 'application/x-protobuf',
    body: protobuf([validSpan('cut')]).subarray(0, 20),
    status: 400,
    message: /truncated|exceeds/,
  },
  {
    name: 'wrong wire type',
    contentType: 'application/x-protobuf',
    body: Buffer.from([0x08, 0x01]),
    status: 400,
    message: /wrong wire type 0, expected 2/,
  },
  {
    name: 'absurd declared length',
    contentType: 'application/x-protobuf',
    body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x07]),
    status: 400,
    message: /length 2147483647 exceeds/,
  },
  {
    name: 'wire type 7',
    contentType: 'application/x-protobuf',
    body: Buffer.from([0x0f, 0x00]),
    status: 400,
    message: /wire type 7/,
  },
  {
    name: 'not JSON',
    contentType: 'application/json',
    body: '{"resourceSpans": [',
    status: 400,
    message: /invalid JSON/,
  },
  {
    name: 'JSON array',
    contentType: 'application/json',
    body: '[]',
    status: 400,
    message: /ExportTraceServiceRequest object/,
  },
  {
    name: 'base64 ids in JSON',
    contentType: 'application/json',
    body: JSON.stringify(request([jsonSpan('b64', { traceId: 'q6urq6urq6urq6urq6urqw==' })])),
    status: 400,
    message: /traceId: ids must be hex-encoded/,
  },
  {
    name: 'resourceSpans of the wrong type',
    contentType: 'application/json',
    body: '{"resourceSpans": 5}',
    status: 400,
    message: /resourceSpans: expected an array/,
  },
  {
    name: 'inexact integer in JSON',
    contentType: 'application/json',
    body: JSON.stringify(request([jsonSpan('x', { startTimeUnixNano: 1.5 })])),
    status: 400,
    message: /startTimeUnixNano/,
  },
  {
    name: 'text/plain',
    contentType: 'text/plain',
    body: 'hello',
    status: 415,
    message: /unsupported content type "text\/plain"/,
  },
  { name: 'no content type', contentType: '', body: 'hello', status: 415 },
  {
    name: 'brotli',
    contentType: 'application/x-protobuf',
    body: protobuf([validSpan('br')]),
    headers: { 'content-encoding': 'br' },
    status: 415,
    message: /unsupported content encoding "br"/,
  },
  {
    name: 'corrupt gzip',
    contentType: 'application/x-protobuf',
    body: Buffer.from('not gzip at all'),
    headers: { 'content-encoding': 'gzip' },
    status: 400,
    message: /cannot decompress gzip/,
  },
  {
    name: 'gzip bomb',
    contentType: 'application/x-protobuf',
    body: gzipSync(Buffer.alloc(64 * LIMIT)),
    headers: { 'content-encoding': 'gzip' },
    status: 413,
    message: /after decompression/,
  },
  {
    name: 'body over the limit',
    contentType: 'application/json',
    body: ' '.repeat(LIMIT + 1),
    status: 413,
    message: /exceeds the limit/,
  },
];

describe('OTLP/HTTP receiver', () => {
  let dir: string;
  let store: DuckDbSpanStore;
  let app: FastifyInstance;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-receivers-'));
    store = await DuckDbSpanStore.open({ dataDir: dir });
    app = buildOtlpHttpApp({
      queue: new WriteQueue({ writer: store, maxPendingSpans: 10_000, maxBatchSpans: 1000 }),
      maxBodyBytes: LIMIT,
    });
  });
  after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const c of cases) {
    it(`answers ${c.status} to ${c.name}, storing nothing`, async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/traces',
        headers: { ...(c.contentType ? { 'content-type': c.contentType } : {}), ...c.headers },
        payload: c.body,
      });
      assert.equal(response.statusCode, c.status, response.body);
      if (c.message) {
        const message = response.headers['content-type']?.toString().startsWith('application/x-protobuf')
          ? (RpcStatus.toObject(RpcStatus.decode(response.rawPayload)) as { message: string }).message
          : (JSON.parse(response.body) as { message: string }).message;
        assert.match(message, c.message);
      }
      assert.deepEqual(await searchFormSummaries(store, { limit: 10 }), []);
    });
  }

  it('stores the valid spans and reports the invalid ones as partial success (protobuf)', async () => {
    const body = protobuf([
      validSpan('good', new Uint8Array(8).fill(1)),
      { ...validSpan('short trace id'), traceId: new Uint8Array(15).fill(1) },
      { ...validSpan('zero span id'), spanId: new Uint8Array(8) },
      { ...validSpan('backwards'), startTimeUnixNano: 3000, endTimeUnixNano: 2000 },
    ]);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/x-protobuf' },
      payload: body,
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/x-protobuf');
    const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(response.rawPayload), {
      longs: String,
    }) as {
      partialSuccess: { rejectedSpans: string; errorMessage: string };
    };
    assert.equal(decoded.partialSuccess.rejectedSpans, '3');
    assert.match(decoded.partialSuccess.errorMessage, /short trace id.*16 bytes, got 15/);
    const spans = await store.getTrace('abababababababababababababababab');
    assert.deepEqual(
      spans.map((s) => s.name),
      ['good'],
    );
  });

  it('answers partial success in JSON for JSON, and accepts deflate', async () => {
    const body = deflateSync(
      JSON.stringify(request([jsonSpan('json-good'), jsonSpan('json-bad', { spanId: '00000000000000' })])),
    );
    const response = await app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'deflate' },
      payload: body,
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(JSON.parse(response.body), {
      partialSuccess: { rejectedSpans: '1', errorMessage: 'span 1 (json-bad): span id must be 8 bytes, got 7' },
    });
  });

  it('answers the same partial success for an undefined kind and text that is not UTF-8, protobuf or JSON', async () => {
    // Before: protobuf stored kind 999 as 231 and the text with U+FFFD; JSON took 999 and refused the text with 400.
    const pb = Buffer.from(
      protobuf([
        validSpan('kept', new Uint8Array(8).fill(3)),
        { ...validSpan('kind'), kind: 999 },
        { ...validSpan('text'), attributes: [{ key: 'k', value: { stringValue: '@@' } }] },
      ])
        .toString('latin1')
        .replace('@@', '\xc3\x28'),
      'latin1',
    );
    const js = Buffer.from(
      JSON.stringify(
        request([
          jsonSpan('kept', { spanId: 'cdcdcdcdcdcdcd03' }),
          jsonSpan('kind', { kind: 999 }),
          jsonSpan('text', { attributes: [{ key: 'k', value: { stringValue: '@@' } }] }),
        ]),
      ).replace('@@', '\xc3\x28'),
      'latin1',
    );
    const expected = {
      rejectedSpans: '2',
      errorMessage:
        'span 1 (kind): span kind 999 is not one OTLP defines (0 to 5); span 2 (text): invalid UTF-8 in attribute "k"',
    };
    const fromProtobuf = await app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/x-protobuf' },
      payload: pb,
    });
    assert.equal(fromProtobuf.statusCode, 200);
    const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(fromProtobuf.rawPayload), {
      longs: String,
    }) as { partialSuccess: object };
    assert.deepEqual(decoded.partialSuccess, expected);
    const fromJson = await app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json' },
      payload: js,
    });
    assert.equal(fromJson.statusCode, 200, fromJson.body);
    assert.deepEqual(JSON.parse(fromJson.body), { partialSuccess: expected });
    const kept = (await store.getTrace('abababababababababababababababab')).filter((s) => s.name === 'kept');
    assert.equal(kept.length, 2);
    assert.deepEqual(
      kept.map((s) => s.kind),
      [0, 0],
    );
  });

  it('answers 404 JSON for other paths', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    assert.equal(response.statusCode, 404);
  });
});

/** A writer that holds every write until released: only to fill the queue deterministically. */
function heldWriter(inner: SpanWriter) {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let wrote: () => void = () => undefined;
  /** Resolves once the first write has reached the writer: its spans are pending in the queue. */
  const writing = new Promise<void>((r) => {
    wrote = r;
  });
  return {
    release: () => release(),
    writing,
    writer: {
      writeSpans: async (spans: readonly Span[]) => {
        wrote();
        await gate;
        await inner.writeSpans(spans);
      },
    },
  };
}

describe('back-pressure', () => {
  it('answers 503 with Retry-After over HTTP while the write queue is full, then accepts', {
    timeout: 30_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ariadne-full-'));
    const store = await DuckDbSpanStore.open({ dataDir: dir });
    const held = heldWriter(store);
    const app = buildOtlpHttpApp({
      queue: new WriteQueue({ writer: held.writer, maxPendingSpans: 1, maxBatchSpans: 10 }),
      maxBodyBytes: LIMIT,
    });
    try {
      const send = (name: string) =>
        app.inject({
          method: 'POST',
          url: '/v1/traces',
          headers: { 'content-type': 'application/x-protobuf' },
          payload: protobuf([validSpan(name)]),
        });
      const first = send('first');
      await held.writing; // the queue holds `first`, and is full
      const refused = await send('second');
      assert.equal(refused.statusCode, 503);
      assert.equal(refused.headers['retry-after'], '1');
      held.release();
      assert.equal((await first).statusCode, 200);
      assert.equal((await send('third')).statusCode, 200);
      assert.deepEqual(
        (await store.getTrace('abababababababababababababababab')).map((s) => s.name),
        ['first', 'third'],
      );
    } finally {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OTLP/gRPC receiver', () => {
  let dir: string;
  let store: DuckDbSpanStore;
  let receiver: OtlpGrpcReceiver;
  let client: grpc.Client;
  let held: ReturnType<typeof heldWriter>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-grpc-'));
    store = await DuckDbSpanStore.open({ dataDir: dir });
    held = heldWriter(store);
    receiver = new OtlpGrpcReceiver({
      queue: new WriteQueue({ writer: held.writer, maxPendingSpans: 1, maxBatchSpans: 10 }),
      maxMessageBytes: LIMIT,
    });
    const port = await receiver.listen('127.0.0.1', 0);
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    held.release();
    client.close();
    await receiver.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (body: Buffer) =>
    new Promise<{ error: grpc.ServiceError | null; response?: Buffer }>((resolve) => {
      client.makeUnaryRequest(
        '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        (error, response) => resolve({ error, response }),
      );
    });

  it('answers INVALID_ARGUMENT with the reason for undecodable bytes', async () => {
    const { error } = await call(Buffer.from([0x0a, 0x05, 0x01]));
    assert.equal(error?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(error?.details ?? '', /exceeds/);
  });

  it('answers UNAVAILABLE with RetryInfo while full, then OK with partial success', { timeout: 30_000 }, async () => {
    const first = call(protobuf([validSpan('grpc-first')]));
    await held.writing; // the queue holds `grpc-first`, and is full
    const { error } = await call(protobuf([validSpan('grpc-second')]));
    assert.equal(error?.code, grpc.status.UNAVAILABLE);
    const details = error?.metadata.get('grpc-status-details-bin')[0] as Buffer;
    const status = RpcStatus.decode(details) as unknown as { details: { type_url: string; value: Uint8Array }[] };
    assert.equal(status.details[0].type_url, 'type.googleapis.com/google.rpc.RetryInfo');
    const retry = RetryInfo.toObject(RetryInfo.decode(status.details[0].value), { longs: Number }) as {
      retryDelay: { seconds: number };
    };
    assert.equal(retry.retryDelay.seconds, 1);
    held.release();
    assert.equal((await first).error, null);
    const partial = await call(
      protobuf([validSpan('grpc-third'), { ...validSpan('bad'), traceId: new Uint8Array(16) }]),
    );
    assert.equal(partial.error, null);
    const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(partial.response!), {
      longs: String,
    }) as {
      partialSuccess: { rejectedSpans: string; errorMessage: string };
    };
    assert.equal(decoded.partialSuccess.rejectedSpans, '1');
    assert.match(decoded.partialSuccess.errorMessage, /trace id is all zeros/);
    assert.deepEqual(
      (await store.getTrace('abababababababababababababababab')).map((s) => s.name),
      ['grpc-first', 'grpc-third'],
    );
  });

  it('answers OK with partial success for a span kind OTLP does not define, not INVALID_ARGUMENT', async () => {
    const { error, response } = await call(protobuf([{ ...validSpan('grpc-kind'), kind: -1 }]));
    assert.equal(error, null);
    const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(response!), {
      longs: String,
    }) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    assert.deepEqual(decoded.partialSuccess, {
      rejectedSpans: '1',
      errorMessage: 'span 0 (grpc-kind): span kind -1 is not one OTLP defines (0 to 5)',
    });
  });
});
