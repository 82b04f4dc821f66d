import type { Readable } from 'node:stream';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type onRequestHookHandler,
} from 'fastify';
import type { TlsKeyPair } from '../auth/tls.ts';
import { type Logger, silentLogger } from '../logger.ts';
import { type IngestMetrics, recordRequests } from '../metrics.ts';
import type { Admission, Reservation } from './admission.ts';
import {
  encodeExportResponseJson,
  encodeExportResponseProtobuf,
  encodeRpcStatusJson,
  encodeRpcStatusProtobuf,
  GrpcCode,
  OtlpDecodeError,
} from './decode-otlp.ts';
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
import { LogFormat } from './ingest-log.ts';
import { type DecodedRequest, refusalReason, type WriteQueue } from './write-queue.ts';

/** Options for the OTLP/HTTP receiver. */
export interface OtlpHttpOptions {
  readonly queue: WriteQueue;
  /** Largest request body accepted, counted after decompression (default 16 MiB). */
  readonly maxBodyBytes: number;
  /** Where failures are logged, with their cause (default: nowhere). */
  readonly logger?: Logger;
  /** Where spans received, accepted and refused, and request durations, are counted (default: nowhere). */
  readonly metrics?: IngestMetrics;
  /**
   * Checks each request's token before anything else is done with it (auth/http-auth.ts's
   * `requireToken`); unset, the receiver is open.
   */
  readonly authenticate?: onRequestHookHandler;
  /** Certificate and key: the receiver speaks HTTPS (`--tls-cert`, `--tls-key`). */
  readonly https?: TlsKeyPair;
  /** Refuses requests from their headers when overloaded, bounds the bodies in memory (default: none). */
  readonly admission?: Admission;
  /** Cuts bodies that arrive slower than this with 408 (default: never). */
  readonly bodyWatchdog?: BodyWatchdog;
}

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

/**
 * Builds the OTLP/HTTP receiver (`POST /v1/traces`), following the OTLP specification's HTTP
 * rules: protobuf or JSON bodies, gzip/deflate content encoding, responses in the request's
 * content type, partial success for invalid spans, 400 for undecodable bodies, 413 above the size
 * limit, 415 for other content types or encodings, 503 with `Retry-After` when the write queue is
 * full. A 200 is sent only once the spans are durable (in the ingest log, or committed to the store
 * when there is no log).
 */
export function buildOtlpHttpApp(options: OtlpHttpOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger ?? silentLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    ...(options.https && { https: options.https }),
  }) as unknown as FastifyInstance;
  // The token first: nothing is spent on a request that may not send spans.
  if (options.authenticate) app.addHook('onRequest', options.authenticate);
  // Hand the raw stream to the route: decompression and limits are ours.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  const { metrics } = options;
  if (metrics) recordRequests(app, metrics, 'otlp_http');

  const sendStatus = (reply: FastifyReply, json: boolean, http: number, code: number, message: string) => {
    if (json) return reply.code(http).type(JSON_TYPE).send(encodeRpcStatusJson(code, message));
    return reply
      .code(http)
      .type(PROTOBUF)
      .send(Buffer.from(encodeRpcStatusProtobuf(code, message)));
  };

  app.post('/v1/traces', async (request, reply) => {
    const contentType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const json = contentType === JSON_TYPE;
    const stream = request.body as Readable;
    if (!json && contentType !== PROTOBUF) {
      stream.resume();
      metrics?.refused('otlp_http', 'unsupported_media_type');
      return reply
        .code(415)
        .type(JSON_TYPE)
        .send(
          encodeRpcStatusJson(
            GrpcCode.INVALID_ARGUMENT,
            `unsupported content type ${JSON.stringify(contentType)}; use ${PROTOBUF} or ${JSON_TYPE}`,
          ),
        );
    }
    const encoding = (request.headers['content-encoding'] ?? 'identity').toString().trim().toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
      stream.resume();
      metrics?.refused('otlp_http', 'unsupported_media_type');
      return sendStatus(
        reply.code(415),
        json,
        415,
        GrpcCode.INVALID_ARGUMENT,
        `unsupported content encoding ${JSON.stringify(encoding)}; use gzip or identity`,
      );
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > options.maxBodyBytes) {
      stream.resume();
      metrics?.refused('otlp_http', 'too_large');
      return sendStatus(
        reply,
        json,
        413,
        GrpcCode.INVALID_ARGUMENT,
        `body of ${declared} bytes exceeds the limit of ${options.maxBodyBytes} bytes`,
      );
    }
    // Overloaded: refuse from the headers, before a byte of the body is read (it is discarded).
    const length = request.headers['content-length'] === undefined ? undefined : declared;
    const admitted = options.admission?.admit(length);
    if (admitted && !admitted.admitted) {
      leaveBodyUnread(stream, length, reply);
      metrics?.refused('otlp_http', admitted.reason);
      reply.header('retry-after', String(admitted.retryAfterSeconds));
      return sendStatus(reply, json, 503, GrpcCode.UNAVAILABLE, admitted.message);
    }
    const reservation = admitted?.reservation;
    try {
      return await receive(request, reply, stream, json, encoding, reservation);
    } finally {
      reservation?.release();
    }
  });

  async function receive(
    request: FastifyRequest,
    reply: FastifyReply,
    stream: Readable,
    json: boolean,
    encoding: string,
    reservation: Reservation | undefined,
  ) {
    let body: Buffer;
    try {
      body = await readBody(stream, encoding, options.maxBodyBytes, {
        reserve: reservation && ((total) => reservation.grow(total)),
        watchdog: options.bodyWatchdog,
      });
    } catch (error) {
      if (error instanceof SlowBodyError) {
        closeConnectionAfterReply(reply);
        metrics?.refused('otlp_http', 'slow_body');
        return sendStatus(reply, json, 408, GrpcCode.UNAVAILABLE, error.message);
      }
      if (error instanceof BodyBudgetError) {
        closeConnectionAfterReply(reply);
        metrics?.refused('otlp_http', 'body_budget');
        reply.header('retry-after', '1');
        return sendStatus(reply, json, 503, GrpcCode.UNAVAILABLE, `${error.message}; retry later`);
      }
      if (error instanceof BodyTooLargeError) {
        reply.header('connection', 'close');
        metrics?.refused('otlp_http', 'too_large');
        return sendStatus(
          reply,
          json,
          413,
          GrpcCode.INVALID_ARGUMENT,
          `body exceeds the limit of ${options.maxBodyBytes} bytes after decompression`,
        );
      }
      if (error instanceof BadEncodingError) {
        metrics?.refused('otlp_http', 'malformed');
        return sendStatus(reply, json, 400, GrpcCode.INVALID_ARGUMENT, error.message);
      }
      throw error;
    }
    if (reservation && !reservation.confirm()) {
      // Read but not decoded: a chunked body the queue cannot take after all.
      metrics?.refused('otlp_http', 'queue_full');
      reply.header('retry-after', '1');
      return sendStatus(reply, json, 503, GrpcCode.UNAVAILABLE, 'write queue is full; retry later');
    }
    const raw = { format: json ? LogFormat.OTLP_JSON : LogFormat.OTLP_PROTOBUF, body };
    // 503 with a retry delay: the server is busy, shutting down, or failing (logged).
    const unavailable = (error: unknown, what: string) => {
      const answer = unavailableAnswer(error, what);
      if (answer.unexpected)
        request.log.error({ err: error }, `OTLP/HTTP request answered 503: spans could not be ${what}`);
      reply.header('retry-after', String(answer.retryAfterSeconds));
      return sendStatus(reply, json, 503, GrpcCode.UNAVAILABLE, answer.message);
    };
    let decoded: DecodedRequest;
    try {
      decoded = await options.queue.decode(raw);
    } catch (error) {
      if (error instanceof OtlpDecodeError) {
        metrics?.refused('otlp_http', 'malformed');
        return sendStatus(reply, json, 400, GrpcCode.INVALID_ARGUMENT, error.message);
      }
      metrics?.refused('otlp_http', refusalReason(error));
      return unavailable(error, 'decoded');
    }
    reservation?.decoded(decoded.accepted + decoded.rejectedSpans);
    try {
      await options.queue.enqueueDecoded(decoded, raw);
    } catch (error) {
      metrics?.refused('otlp_http', refusalReason(error), decoded);
      return unavailable(error, 'stored');
    }
    metrics?.accepted('otlp_http', decoded);
    const result = { rejectedSpans: decoded.rejectedSpans, errorMessage: decoded.errorMessage };
    if (json) return reply.code(200).type(JSON_TYPE).send(encodeExportResponseJson(result));
    return reply
      .code(200)
      .type(PROTOBUF)
      .send(Buffer.from(encodeExportResponseProtobuf(result)));
  }

  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .type(JSON_TYPE)
      .send(
        encodeRpcStatusJson(5, `no route ${request.method} ${request.url}; OTLP/HTTP traces go to POST /v1/traces`),
      );
  });
  return app;
}
