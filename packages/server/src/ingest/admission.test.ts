import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, describe, it, mock } from 'node:test';
import type { Span } from '@ariadne/core';
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { Admission, type Admitted, type QueueLoad, type Refused } from './admission.ts';
import { BodyBudgetError, readBody, SlowBodyError } from './http-body.ts';
import { OtlpGrpcReceiver } from './otlp-grpc.ts';
import { buildOtlpHttpApp } from './otlp-http.ts';
import { RpcStatus } from './otlp-proto-schema.ts';
import { type RawRequest, requestCharge, WriteQueue } from './write-queue.ts';

/** A queue whose store never finishes a write: once `fill` spans are in it, it is full. */
function stuckQueue(maxPendingSpans: number): WriteQueue {
  return new WriteQueue({
    writer: { writeSpans: () => new Promise<void>(() => undefined) },
    maxPendingSpans,
    maxBatchSpans: maxPendingSpans,
  });
}

function fill(queue: WriteQueue, count: number): void {
  // In two requests: one counts as at most half of the queue (WriteQueue.charge).
  for (const n of [Math.ceil(count / 2), Math.floor(count / 2)]) {
    const spans = Array.from({ length: n }, () => ({}) as Span);
    void queue.enqueue(spans).catch(() => undefined);
  }
}

/**
 * Opens a raw connection to `app` and writes `head` (request line and headers). `answer` resolves
 * once the response's headers have arrived, `closed` with everything received once the connection
 * is closed.
 */
async function rawRequest(
  port: number,
  head: string,
): Promise<{ socket: Socket; answer: Promise<string>; closed: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  let received = '';
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.includes('\r\n\r\n')) resolve(received);
    });
    void closed.then(resolve);
  });
  socket.write(head);
  return { socket, answer, closed };
}

/** Resolves with the answer `admission` gives the next request it is asked about (from its headers). */
function nextAdmission(admission: Admission): Promise<Admitted | Refused> {
  const admit = admission.admit.bind(admission);
  return new Promise((resolve) => {
    admission.admit = (declaredBytes) => {
      admission.admit = admit;
      const answer = admit(declaredBytes);
      resolve(answer);
      return answer;
    };
  });
}

const head = (length: number | 'chunked', type = 'application/json') =>
  `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\n${
    length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`
  }\r\n\r\n`;

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** A queue holding `load` spans. */
function queueLoad(load: number, maxPendingSpans: number): QueueLoad {
  return { load, maxPendingSpans, charge: (spans) => requestCharge(spans, maxPendingSpans) };
}

describe('admission: refusing from the headers', () => {
  it('refuses a request the full queue cannot take, from its Content-Length, and counts its spans meanwhile', () => {
    const admission = new Admission({ queue: queueLoad(900, 1_000), maxInflightBytes: 1e9 });
    // 300 bytes a span until told better: 60 kB is ~200 spans, more than the 100 left.
    const refused = admission.admit(60_000);
    assert.equal(refused.admitted, false);
    assert.equal(!refused.admitted && refused.reason, 'queue_full');
    const small = admission.admit(15_000); // ~50 spans
    assert.ok(small.admitted);
    // The 50 spans in flight count: another 50 no longer fit.
    assert.equal(admission.admit(18_000).admitted, false);
    if (small.admitted) small.reservation.decoded(50);
    assert.ok(admission.admit(15_000).admitted);
  });

  it('checks a chunked body again once it is read: admitted as one span, refused before decoding when its size says the queue cannot take it', () => {
    const admission = new Admission({ queue: queueLoad(900, 1_000), maxInflightBytes: 1e9 });
    const big = admission.admit(undefined);
    assert.ok(big.admitted, 'without Content-Length, a request is admitted as one span');
    assert.ok(big.reservation.grow(60_000)); // ~200 spans at 300 bytes a span: more than the 100 left
    assert.equal(big.reservation.confirm(), false);
    big.reservation.release();
    const small = admission.admit(undefined);
    assert.ok(small.admitted);
    assert.ok(small.reservation.grow(15_000)); // ~50 spans
    assert.equal(small.reservation.confirm(), true);
    // Its ~50 spans now count while it is decoded: ~60 more do not fit beside them.
    const next = admission.admit(undefined);
    assert.ok(next.admitted);
    assert.ok(next.reservation.grow(18_000));
    assert.equal(next.reservation.confirm(), false);
    next.reservation.release();
    small.reservation.release();
    // Alone, a request always gets through (as counted against the queue: half of it at most).
    const empty = new Admission({ queue: queueLoad(0, 1_000), maxInflightBytes: 1e9 });
    const alone = empty.admit(undefined);
    assert.ok(alone.admitted);
    assert.ok(alone.reservation.grow(600_000));
    assert.equal(alone.reservation.confirm(), true);
    assert.equal(alone.reservation.estimatedSpans, 500);
    // A body with a Content-Length was estimated from it: growing by decompression changes nothing.
    const gzipped = admission.admit(3_000); // ~10 spans
    assert.ok(gzipped.admitted);
    assert.ok(gzipped.reservation.grow(60_000));
    assert.equal(gzipped.reservation.confirm(), true);
    assert.equal(gzipped.reservation.estimatedSpans, 10);
    gzipped.reservation.release();
  });

  it('learns the bytes a span takes from decoded requests', () => {
    const admission = new Admission({ queue: queueLoad(210, 400), maxInflightBytes: 1e9 });
    for (let i = 0; i < 30; i++) {
      const a = admission.admit(1_000);
      assert.ok(a.admitted);
      a.reservation.decoded(1); // 1,000 bytes a span
    }
    // 150 kB is now ~150 spans, which fit; at 300 bytes a span (untaught) it would be 500 spans,
    // counted as half the queue (200), which do not.
    assert.ok(admission.admit(150_000).admitted);
    const untaught = new Admission({ queue: queueLoad(240, 400), maxInflightBytes: 1e9 });
    assert.equal(untaught.admit(150_000).admitted, false);
  });

  it('bounds the bytes of bodies in flight, but always lets one request through', () => {
    const admission = new Admission({ queue: queueLoad(0, 1_000), maxInflightBytes: 1_000 });
    const huge = admission.admit(5_000);
    assert.ok(huge.admitted, 'alone, a request larger than the budget gets in');
    const next = admission.admit(10);
    assert.equal(!next.admitted && next.reason, 'body_budget');
    if (huge.admitted) huge.reservation.release();
    assert.equal(admission.inflightBytes, 0);
    const a = admission.admit(600);
    assert.ok(a.admitted);
    assert.equal(admission.admit(600).admitted, false);
    // A chunked body reserves as it arrives.
    const chunked = admission.admit(undefined);
    assert.ok(chunked.admitted);
    assert.equal(chunked.reservation.grow(300), true);
    assert.equal(chunked.reservation.grow(500), false);
    chunked.reservation.release();
    if (a.admitted) a.reservation.release();
    assert.equal(admission.inflightBytes, 0);
  });
});

describe('OTLP/HTTP under overload', () => {
  const apps: FastifyInstance[] = [];
  after(async () => {
    for (const app of apps) {
      // A test that failed may leave a request half sent: drop it, or close would wait for it.
      app.server.closeAllConnections();
      await app.close();
    }
  });

  it('answers 503 with Retry-After at once to a request announcing a huge body it never sends, when the queue is full', {
    timeout: 20_000,
  }, async () => {
    const queue = stuckQueue(10);
    fill(queue, 10);
    const admission = new Admission({ queue, maxInflightBytes: 64 * 1024 ** 2 });
    const app = buildOtlpHttpApp({ queue, maxBodyBytes: 16 * 1024 ** 2, admission });
    apps.push(app);
    const port = await listen(app);
    // Headers only: a server that read the body first would wait for ever.
    const { socket, answer } = await rawRequest(port, head(15 * 1024 ** 2));
    const response = await answer;
    socket.destroy();
    assert.match(response, /^HTTP\/1\.1 503/);
    assert.match(response, /retry-after: 1/i);
    assert.equal(admission.inflightBytes, 0);
  });

  it('refuses a second body beyond the in-flight budget while the first is being received, then takes more once it is done', {
    timeout: 30_000,
  }, async () => {
    const queue = stuckQueue(1_000);
    const admission = new Admission({ queue, maxInflightBytes: 1_000_000 });
    const app = buildOtlpHttpApp({ queue, maxBodyBytes: 16 * 1024 ** 2, admission });
    apps.push(app);
    const port = await listen(app);
    const body = Buffer.from(`{"resourceSpans":[]}${' '.repeat(800_000 - 20)}`);
    const firstAdmitted = nextAdmission(admission);
    const first = await rawRequest(port, head(body.length));
    first.socket.write(body.subarray(0, 400_000));
    // The first request's 800 kB are reserved: another 800 kB do not fit, and are not read.
    assert.equal((await firstAdmitted).admitted, true, 'the first request is admitted from its headers');
    assert.equal(admission.inflightBytes, 800_000);
    const second = await rawRequest(port, head(body.length));
    assert.match(await second.answer, /^HTTP\/1\.1 503/);
    second.socket.destroy();
    first.socket.write(body.subarray(400_000));
    assert.match(await first.answer, /^HTTP\/1\.1 200/);
    first.socket.destroy();
    assert.equal(admission.inflightBytes, 0);
    const third = await rawRequest(port, head(body.length));
    third.socket.write(body);
    assert.match(await third.answer, /^HTTP\/1\.1 200/);
    third.socket.destroy();
  });

  it('stops reading a chunked body at the point it exceeds the budget, answers 503 and closes the connection', async () => {
    const queue = stuckQueue(1_000);
    const admission = new Admission({ queue, maxInflightBytes: 100_000 });
    const app = buildOtlpHttpApp({ queue, maxBodyBytes: 16 * 1024 ** 2, admission });
    apps.push(app);
    const port = await listen(app);
    const holder = admission.admit(60_000); // another request's body, being read
    assert.ok(holder.admitted);
    const { socket, answer } = await rawRequest(port, head('chunked'));
    const chunk = ' '.repeat(30_000);
    for (let i = 0; i < 3; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const response = await answer;
    assert.match(response, /^HTTP\/1\.1 503/);
    assert.match(response, /connection: close/i);
    await new Promise((resolve) => socket.once('close', resolve));
    holder.reservation.release();
    assert.equal(admission.inflightBytes, 0);
  });

  it('refuses a chunked body the queue cannot take once it is read, without decoding it', async () => {
    const queue = stuckQueue(10);
    fill(queue, 8);
    let decoded = 0;
    const decode = queue.decode.bind(queue);
    queue.decode = (raw) => {
      decoded++;
      return decode(raw);
    };
    const admission = new Admission({ queue, maxInflightBytes: 64 * 1024 ** 2 });
    const app = buildOtlpHttpApp({ queue, maxBodyBytes: 16 * 1024 ** 2, admission });
    apps.push(app);
    const port = await listen(app);
    // Twenty spans of about 500 bytes, without Content-Length, as the OpenTelemetry JS exporters send.
    const span = (i: number) => ({
      traceId: '0102030405060708090a0b0c0d0e0f10',
      spanId: `00000000000000${(i + 1).toString(16).padStart(2, '0')}`,
      name: 'op',
      kind: 1,
      startTimeUnixNano: '1',
      endTimeUnixNano: '2',
      attributes: [{ key: 'pad', value: { stringValue: 'x'.repeat(400) } }],
    });
    const body = JSON.stringify({
      resourceSpans: [
        { resource: { attributes: [] }, scopeSpans: [{ spans: Array.from({ length: 20 }, (_, i) => span(i)) }] },
      ],
    });
    const { socket, answer } = await rawRequest(port, head('chunked'));
    socket.write(`${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    const response = await answer;
    socket.destroy();
    assert.match(response, /^HTTP\/1\.1 503/);
    assert.match(response, /retry-after: 1/i);
    assert.equal(decoded, 0, 'the body was not decoded');
    assert.equal(admission.inflightBytes, 0);
  });

  it('cuts a body that trickles in slower than the minimum rate with 408 (injected clock)', {
    timeout: 30_000,
  }, async () => {
    const queue = stuckQueue(1_000);
    let now = 0;
    const lookers: (() => void)[] = [];
    /** Resolves when the server next reads the clock: the read's start, then each watchdog check. */
    const nextLook = () => new Promise<void>((resolve) => lookers.push(resolve));
    const readingStarted = nextLook();
    const app = buildOtlpHttpApp({
      queue,
      maxBodyBytes: 16 * 1024 ** 2,
      admission: new Admission({ queue, maxInflightBytes: 1e6 }),
      bodyWatchdog: {
        minBytesPerSecond: 16 * 1024,
        graceMs: 10_000,
        now: () => {
          for (const look of lookers.splice(0)) look();
          return now;
        },
        checkEveryMs: 5,
      },
    });
    apps.push(app);
    const port = await listen(app);
    const { socket, answer, closed } = await rawRequest(port, head(1_000));
    socket.write('{');
    await readingStarted; // the clock starts when the server starts reading
    now = 9_000; // within the grace: kept
    await nextLook(); // a check has seen 9 s (it runs to its end before this continues)
    socket.write('"');
    now = 11_000; // one second beyond the grace with at most 2 bytes: cut
    const response = await answer;
    assert.match(response, /^HTTP\/1\.1 408/);
    assert.match(response, /connection: close/i);
    // Cut at 11 s, not at the check that saw 9 s.
    assert.match(await closed, /arrived too slowly: \d bytes in 11 s/);
    socket.destroy();
  });
});

describe('OTLP/gRPC under overload', () => {
  it('answers UNAVAILABLE with RetryInfo from the metadata while the queue is full, without decoding the message', async () => {
    const queue = stuckQueue(10);
    fill(queue, 10);
    let decoded = 0;
    const decode = queue.decode.bind(queue);
    queue.decode = (raw: RawRequest) => {
      decoded++;
      return decode(raw);
    };
    const receiver = new OtlpGrpcReceiver({
      queue,
      maxMessageBytes: 16 * 1024 ** 2,
      admission: new Admission({ queue, maxInflightBytes: 1e6 }),
    });
    const port = await receiver.listen('127.0.0.1', 0);
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const error = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest(
          '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(1024 * 1024, 0x0a), // never looked at
          (e) => resolve(e),
        ),
      );
      assert.equal(error?.code, grpc.status.UNAVAILABLE);
      assert.match(error?.details ?? '', /queue is full/);
      const details = error?.metadata.get('grpc-status-details-bin')[0] as Buffer;
      const status = RpcStatus.decode(details) as unknown as { details: { type_url: string }[] };
      assert.equal(status.details[0].type_url, 'type.googleapis.com/google.rpc.RetryInfo');
      assert.equal(decoded, 0, 'refused before decoding');
    } finally {
      client.close();
      await receiver.close(1_000);
    }
  });
});

describe('readBody: the minimum rate (node:test mock timers)', () => {
  it('cuts a body sent one byte a second soon after the 10 s grace, and keeps one at 20 KiB/s', async () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'] });
    try {
      const watchdog = { minBytesPerSecond: 16 * 1024, graceMs: 10_000 };
      const slow = new PassThrough();
      let cutAfter = -1;
      const slowRead = readBody(slow, 'identity', 1e9, { watchdog }).catch((error) => error);
      const fast = new PassThrough();
      const fastRead = readBody(fast, 'identity', 1e9, { watchdog });
      for (let second = 1; second <= 30 && cutAfter < 0; second++) {
        slow.write(Buffer.alloc(1));
        fast.write(Buffer.alloc(20 * 1024));
        await new Promise((resolve) => setImmediate(resolve));
        mock.timers.tick(1_000);
        await new Promise((resolve) => setImmediate(resolve));
        if ((await Promise.race([slowRead, Promise.resolve('pending')])) !== 'pending') cutAfter = second;
      }
      assert.ok((await slowRead) instanceof SlowBodyError);
      assert.ok(cutAfter >= 10 && cutAfter <= 12, `cut after ${cutAfter} s`);
      fast.end();
      assert.equal((await fastRead).length, 20 * 1024 * cutAfter);
    } finally {
      mock.timers.reset();
    }
  });

  it('stops at the budget: the chunk that does not fit is not kept', async () => {
    const stream = new PassThrough();
    const read = readBody(stream, 'identity', 1e9, { reserve: (total) => total <= 150 }).catch((error) => error);
    stream.write(Buffer.alloc(100));
    stream.write(Buffer.alloc(100));
    assert.ok((await read) instanceof BodyBudgetError);
  });
});
