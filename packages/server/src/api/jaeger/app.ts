import { TraceQLError, type UnixNanos, unixNanos } from '@ariadne/core';
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import type { TlsKeyPair } from '../../auth/tls.ts';
import { type Logger, silentLogger } from '../../logger.ts';
import { type ApiMetrics, recordRequests, timedReader } from '../../metrics.ts';
import { NotYetCommittedError, type SpanReader } from '../../query/span-store.ts';
import { JaegerApiError, type JaegerRouteContext, sendJson } from './http.ts';
import { JaegerParamError } from './params.ts';
import { registerJaegerV1Routes } from './v1.ts';
import { registerJaegerV3Routes } from './v3.ts';

/**
 * The Jaeger query service's HTTP API, as the Jaeger UI (1.x and 2.x) and Grafana's Jaeger data
 * source call it: the JSON API under `/api/` (v1.ts) and api_v3 under `/api/v3/` (v3.ts), the
 * search of both written as TraceQL (search.ts). A thin layer over the same `SpanReader` as
 * Ariadne's own `/api/v1`; the mapping of spans to Jaeger's model is core's `formats/jaeger.ts`.
 *
 * Errors are Jaeger's: under `/api/`, the envelope `{data: null, total: 0, limit: 0, offset: 0,
 * errors: [{code, msg}]}`; under `/api/v3/`, `{error: {httpCode, message}}`. Statuses come from
 * one table (`statusOf`): 400 for a parameter Jaeger would refuse, 404 for an unknown trace or
 * route, 501 for what Ariadne does not do (archive, metrics), 503 while acknowledged spans are
 * not yet committed, 500 for anything else, logged with its cause.
 */

/** What the Jaeger API needs. */
export interface JaegerApiDependencies {
  readonly reader: SpanReader;
  /** Where failures are logged, with their cause (default: nowhere). */
  readonly logger?: Logger;
  /** The current time, for default windows (`now − lookback`); tests pass a fixed clock. */
  readonly now?: () => UnixNanos;
  /** Largest `POST /api/transform` body (default 16 MiB). */
  readonly maxBodyBytes?: number;
  /** Certificate and key: the API speaks HTTPS (`--tls-cert`, `--tls-key`). */
  readonly https?: TlsKeyPair;
  /**
   * Where request durations (protocol `jaeger`) and store query durations are recorded, as for
   * `/api/v1` (default: nowhere).
   */
  readonly metrics?: ApiMetrics;
}

/** The one table from errors to HTTP statuses. */
function statusOf(error: unknown): number {
  if (error instanceof JaegerParamError) return 400;
  if (error instanceof TraceQLError) return 400;
  if (error instanceof JaegerApiError) return error.status;
  if (error instanceof NotYetCommittedError) return 503;
  const fastifyStatus = (error as FastifyError).statusCode;
  if ((error as FastifyError).validation || (fastifyStatus && fastifyStatus >= 400 && fastifyStatus < 500)) {
    return fastifyStatus ?? 400;
  }
  return 500;
}

/** True for an api_v3 request, whose errors have their own shape. */
function isV3(url: string): boolean {
  return url.startsWith('/api/v3/') || url === '/api/v3';
}

/** Jaeger's error bodies: the v1 envelope, or api_v3's gateway error. */
function errorBody(url: string, status: number, message: string): unknown {
  if (isV3(url)) return { error: { httpCode: status, message } };
  return { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: status, msg: message }] };
}

/** Builds the Jaeger API (fastify). Routes are tested with `app.inject()`; `main.ts` listens. */
export function buildJaegerApp(deps: JaegerApiDependencies): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger ?? silentLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Service names and trace ids come in the path; Jaeger does not limit their length.
    routerOptions: { maxParamLength: 4096 },
    bodyLimit: deps.maxBodyBytes ?? 16 * 1024 * 1024,
    ...(deps.https && { https: deps.https }),
  }) as unknown as FastifyInstance;
  const { metrics } = deps;
  if (metrics) recordRequests(app, metrics, 'jaeger');
  const context: JaegerRouteContext = {
    reader: metrics ? timedReader(deps.reader, metrics) : deps.reader,
    now: deps.now ?? (() => unixNanos(BigInt(Date.now()) * 1_000_000n)),
  };

  app.setErrorHandler((error: unknown, request, reply) => {
    const status = statusOf(error);
    let message = error instanceof Error ? error.message : String(error);
    if (error instanceof NotYetCommittedError) reply.header('retry-after', '5');
    if (status === 500) {
      request.log.error(
        { err: error, method: request.method, route: request.routeOptions.url },
        'Jaeger API query failed',
      );
      message = 'internal error; see the server log';
    }
    return sendJson(reply.code(status), errorBody(request.url, status, message));
  });
  app.setNotFoundHandler((request, reply) => {
    const message = `no route ${request.method} ${request.url.split('?')[0]}`;
    return sendJson(reply.code(404), errorBody(request.url, 404, message));
  });

  registerJaegerV1Routes(app, context);
  registerJaegerV3Routes(app, context);
  return app;
}
