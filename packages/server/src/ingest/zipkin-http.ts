import type { Readable } from 'node:stream';
import { type Span, spansToTracesData, unixNanos } from '@ariadne/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeZipkin, ZipkinDecodeError, type ZipkinEncoding } from './decode-zipkin.ts';
import { BadEncodingError, BodyTooLargeError, readBody, unavailableAnswer } from './http-body.ts';
import { LogFormat } from './ingest-log.ts';
import type { DecodedRequest, WriteQueue } from './write-queue.ts';

/** Options of the Zipkin span receiver. */
export interface ZipkinReceiverOptions {
  readonly queue: WriteQueue;
  /** Largest request body accepted, counted after decompression. */
  readonly maxBodyBytes: number;
  /** Unix nanoseconds now (default: the system clock), the start of a span with no time known. */
  readonly now?: () => bigint;
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
 * The spans are mapped to OTLP (core's Zipkin mapping) and stored as an OTLP JSON request, so that
 * the ingest log, its replay and the write queue treat them as any other: 202 means durable.
 */
export function zipkinReceiver(options: ZipkinReceiverOptions): (app: FastifyInstance) => Promise<void> {
  const now = options.now ?? (() => BigInt(Date.now()) * 1_000_000n);
  return async (app) => {
    // Hand the raw stream to the route (in this plugin only): decompression and limits are ours.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    app.post('/api/v2/spans', (request, reply) => receive(request, reply, 'v2'));
    app.post('/api/v1/spans', (request, reply) => receive(request, reply, 'v1'));
  };

  async function receive(request: FastifyRequest, reply: FastifyReply, version: 'v1' | 'v2') {
    const text = (status: number, message: string) =>
      reply.code(status).type('text/plain; charset=utf-8').send(message);
    const stream = request.body as Readable | undefined;
    const refuse = (status: number, message: string) => {
      stream?.resume();
      return text(status, message);
    };
    const contentType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (contentType === THRIFT) return refuse(415, 'Thrift is not supported: send JSON (or proto3 to /api/v2/spans)');
    const encoding: ZipkinEncoding = version === 'v1' ? 'json-v1' : contentType === PROTOBUF ? 'proto3' : 'json-v2';
    if (version === 'v1' && contentType === PROTOBUF) return refuse(415, 'proto3 spans go to /api/v2/spans');
    const contentEncoding = (request.headers['content-encoding'] ?? 'identity').toString().trim().toLowerCase();
    if (!['identity', 'gzip', 'deflate'].includes(contentEncoding)) {
      return refuse(415, `unsupported content encoding ${JSON.stringify(contentEncoding)}; use gzip or none`);
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > options.maxBodyBytes) {
      return refuse(413, `body of ${declared} bytes exceeds the limit of ${options.maxBodyBytes} bytes`);
    }
    let body: Buffer;
    try {
      body = stream ? await readBody(stream, contentEncoding, options.maxBodyBytes) : Buffer.alloc(0);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        reply.header('connection', 'close');
        return text(413, `body exceeds the limit of ${options.maxBodyBytes} bytes after decompression`);
      }
      if (error instanceof BadEncodingError) return text(400, error.message);
      throw error;
    }
    let spans: Span[];
    try {
      spans = decodeZipkin(body, encoding, { receivedUnixNano: unixNanos(now()) });
    } catch (error) {
      if (error instanceof ZipkinDecodeError) return text(400, error.message);
      throw error;
    }
    if (spans.length === 0) return reply.code(202).send();
    // Stored as OTLP JSON: what the ingest log replays and the prepare worker decodes.
    const raw = { format: LogFormat.OTLP_JSON, body: Buffer.from(JSON.stringify(spansToTracesData(spans))) };
    const unavailable = (error: unknown, what: string) => {
      const answer = unavailableAnswer(error, what);
      if (answer.unexpected)
        request.log.error({ err: error }, `Zipkin request answered 503: spans could not be ${what}`);
      reply.header('retry-after', String(answer.retryAfterSeconds));
      return text(503, answer.message);
    };
    let decoded: DecodedRequest;
    try {
      decoded = await options.queue.decode(raw);
    } catch (error) {
      return unavailable(error, 'decoded');
    }
    if (decoded.rejectedSpans > 0) {
      // The spans were checked as OTLP before they were encoded: this is a bug, not the sender's.
      request.log.error({ rejected: decoded.errorMessage }, 'Zipkin spans refused after conversion to OTLP');
    }
    try {
      await options.queue.enqueueDecoded(decoded, raw);
    } catch (error) {
      return unavailable(error, 'stored');
    }
    return reply.code(202).send();
  }
}
