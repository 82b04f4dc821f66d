import type { Readable } from 'node:stream';
import { unixNanos } from '@ariadne/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { IngestMetrics } from '../metrics.ts';
import type { Admission, Reservation } from './admission.ts';
import {
  decodeZipkinRecord,
  ZIPKIN_RECORD_HEADROOM,
  ZipkinDecodeError,
  type ZipkinEncoding,
  zipkinRecord,
} from './decode-zipkin.ts';
import {
  BadEncodingError,
  BodyBudgetError,
  BodyTooLargeError,
  type BodyWatchdog,
  closeConnectionAfterReply,
  leaveBodyUnread,
  readBody,
  SlowBodyError,
  unavailableAnswer,
} from './http-body.ts';
import type { DecodedZipkin } from './prepare-worker.ts';
import { type DecodedRequest, type RawRequest, refusalReason, type WriteQueue } from './write-queue.ts';

/** Options of the Zipkin span receiver. */
export interface ZipkinReceiverOptions {
  readonly queue: WriteQueue;
  /** Largest request body accepted, counted after decompression. */
  readonly maxBodyBytes: number;
  /** Unix nanoseconds now (default: the system clock), the start of a span with no time known. */
  readonly now?: () => bigint;
  /** Where spans received, accepted and refused are counted, as OTLP's under `zipkin` (default: nowhere). */
  readonly metrics?: IngestMetrics;
  /**
   * Checks each request's token before anything else is done with it (auth/http-auth.ts's
   * `requireToken` with the ingest tokens); unset, the collector routes are open.
   */
  readonly authenticate?: onRequestHookHandler;
  /** Refuses requests from their headers when overloaded, bounds the bodies in memory (default: none). */
  readonly admission?: Admission;
  /** Cuts bodies that arrive slower than this with 408 (default: never). */
  readonly bodyWatchdog?: BodyWatchdog;
  /**
   * Decodes and checks a request from its record (`zipkinRecord`), counting its spans, and gives
   * the record back (the ingest log keeps it). Default: on this thread (`decodeZipkinRecord`), its
   * spans enqueued as they are; `ariadne serve` passes the prepare worker's
   * (`PrepareWorker.convertZipkin`, which moves the record to the worker and back), so that a
   * huge request does not hold up the other requests and the queries for seconds. A conversion
   * with `decoded` is enqueued as it is; without, the queue decodes the request's record.
   */
  readonly convert?: (record: RawRequest) => Promise<DecodedZipkin>;
}

const PROTOBUF = 'application/x-protobuf';
const THRIFT = 'application/x-thrift';

/**
 * Zipkin's span collector as fastify routes, for the Zipkin app to mount (`buildZipkinApp`'s
 * `ingest`): `POST /api/v2/spans` (JSON v2, or proto3 `ListOfSpans` as `application/x-protobuf`)
 * and `POST /api/v1/spans` (JSON v1, zipkin-js's default), gzip or deflate encoded or not. As
 * Zipkin answers: 202 with no body once the spans are taken, 400 with the reason as text for a body
 * it cannot read (nothing of it is stored), 413 above the size limit, 415 for Thrift or another
 * encoding, and, like the OTLP receivers, 503 with `Retry-After` when the write queue is full or
 * the store fails.
 *
 * The spans are mapped to OTLP (core's Zipkin mapping); the ingest log keeps the request as it came
 * (`zipkinRecord`: with the time it was received), and its replay and the write queue decode it
 * with the same mapping: 202 means durable.
 */
export function zipkinReceiver(options: ZipkinReceiverOptions): (app: FastifyInstance) => Promise<void> {
  const now = options.now ?? (() => BigInt(Date.now()) * 1_000_000n);
  const convert =
    options.convert ??
    (async (record) => {
      const spans = decodeZipkinRecord(record.format, record.body);
      const decoded = { spans, accepted: spans.length, rejectedSpans: 0, errorMessage: '' };
      return { spans: spans.length, decoded, record };
    });
  const { metrics } = options;
  return async (app) => {
    // The token first (in this plugin only: the read routes around it take query tokens).
    if (options.authenticate) app.addHook('onRequest', options.authenticate);
    // Hand the raw stream to the route (in this plugin only): decompression and limits are ours.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    app.post('/api/v2/spans', (request, reply) => admitted(request, reply, 'v2'));
    app.post('/api/v1/spans', (request, reply) => admitted(request, reply, 'v1'));
  };

  /** Refuses from the headers when overloaded (admission.ts); else receives within a reservation. */
  async function admitted(request: FastifyRequest, reply: FastifyReply, version: 'v1' | 'v2') {
    const length =
      request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length']);
    const admission = options.admission?.admit(length);
    if (admission && !admission.admitted) {
      leaveBodyUnread(request.body as Readable | undefined, length, reply);
      metrics?.refused('zipkin', admission.reason);
      reply.header('retry-after', String(admission.retryAfterSeconds));
      return reply.code(503).type('text/plain; charset=utf-8').send(admission.message);
    }
    const reservation = admission?.reservation;
    try {
      return await receive(request, reply, version, reservation);
    } finally {
      reservation?.release();
    }
  }

  async function receive(
    request: FastifyRequest,
    reply: FastifyReply,
    version: 'v1' | 'v2',
    reservation: Reservation | undefined,
  ) {
    const text = (status: number, message: string) =>
      reply.code(status).type('text/plain; charset=utf-8').send(message);
    const stream = request.body as Readable | undefined;
    const refuse = (status: number, message: string) => {
      stream?.resume();
      return text(status, message);
    };
    const contentType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (contentType === THRIFT) {
      metrics?.refused('zipkin', 'unsupported_media_type');
      return refuse(415, 'Thrift is not supported: send JSON (or proto3 to /api/v2/spans)');
    }
    const encoding: ZipkinEncoding = version === 'v1' ? 'json-v1' : contentType === PROTOBUF ? 'proto3' : 'json-v2';
    if (version === 'v1' && contentType === PROTOBUF) {
      metrics?.refused('zipkin', 'unsupported_media_type');
      return refuse(415, 'proto3 spans go to /api/v2/spans');
    }
    const contentEncoding = (request.headers['content-encoding'] ?? 'identity').toString().trim().toLowerCase();
    if (!['identity', 'gzip', 'deflate'].includes(contentEncoding)) {
      metrics?.refused('zipkin', 'unsupported_media_type');
      return refuse(415, `unsupported content encoding ${JSON.stringify(contentEncoding)}; use gzip or none`);
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > options.maxBodyBytes) {
      metrics?.refused('zipkin', 'too_large');
      return refuse(413, `body of ${declared} bytes exceeds the limit of ${options.maxBodyBytes} bytes`);
    }
    let body: Buffer;
    try {
      body = stream
        ? await readBody(stream, contentEncoding, options.maxBodyBytes, {
            reserve: reservation && ((total) => reservation.grow(total)),
            watchdog: options.bodyWatchdog,
            // Room for the received time: the body becomes its record without a copy.
            headroom: ZIPKIN_RECORD_HEADROOM,
          })
        : Buffer.alloc(0);
    } catch (error) {
      if (error instanceof SlowBodyError) {
        metrics?.refused('zipkin', 'slow_body');
        closeConnectionAfterReply(reply);
        return text(408, error.message);
      }
      if (error instanceof BodyBudgetError) {
        metrics?.refused('zipkin', 'body_budget');
        closeConnectionAfterReply(reply);
        reply.header('retry-after', '1');
        return text(503, `${error.message}; retry later`);
      }
      if (error instanceof BodyTooLargeError) {
        metrics?.refused('zipkin', 'too_large');
        reply.header('connection', 'close');
        return text(413, `body exceeds the limit of ${options.maxBodyBytes} bytes after decompression`);
      }
      if (error instanceof BadEncodingError) {
        metrics?.refused('zipkin', 'malformed');
        return text(400, error.message);
      }
      throw error;
    }
    if (reservation && !reservation.confirm()) {
      // Read but not decoded: a chunked body the queue cannot take after all.
      metrics?.refused('zipkin', 'queue_full');
      reply.header('retry-after', '1');
      return text(503, 'write queue is full; retry later');
    }
    const unavailable = (error: unknown, what: string) => {
      const answer = unavailableAnswer(error, what);
      if (answer.unexpected)
        request.log.error({ err: error }, `Zipkin request answered 503: spans could not be ${what}`);
      reply.header('retry-after', String(answer.retryAfterSeconds));
      return text(503, answer.message);
    };
    // The body is the record's from here on (and, on the worker, gone until the record is back).
    const record = zipkinRecord(body, encoding, unixNanos(now()), { inHeadroom: true });
    let conversion: DecodedZipkin;
    try {
      conversion = await convert(record);
    } catch (error) {
      if (error instanceof ZipkinDecodeError) {
        metrics?.refused('zipkin', 'malformed');
        return text(400, error.message);
      }
      metrics?.refused('zipkin', refusalReason(error));
      return unavailable(error, 'decoded');
    }
    if (conversion.spans === 0) {
      metrics?.accepted('zipkin', { accepted: 0, rejectedSpans: 0 });
      return reply.code(202).send();
    }
    const raw = conversion.record;
    let decoded: DecodedRequest;
    try {
      decoded = conversion.decoded ?? (await options.queue.decode(raw));
    } catch (error) {
      metrics?.refused('zipkin', refusalReason(error), { accepted: conversion.spans, rejectedSpans: 0 });
      return unavailable(error, 'decoded');
    }
    reservation?.decoded(conversion.spans);
    try {
      await options.queue.enqueueDecoded(decoded, raw);
    } catch (error) {
      metrics?.refused('zipkin', refusalReason(error), decoded);
      return unavailable(error, 'stored');
    }
    metrics?.accepted('zipkin', decoded);
    return reply.code(202).send();
  }
}
