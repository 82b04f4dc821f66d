import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  compileTraceQL,
  spansToApiJsonText,
  spansToTracesData,
  TraceQLError,
  type TraceQLQuery,
  type UnixNanos,
  unixNanos,
} from '@ariadne/core';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { guardQueryApp } from '../auth/login.ts';
import { addSecurityHeaders } from '../auth/security-headers.ts';
import type { TlsKeyPair } from '../auth/tls.ts';
import type { TokenSet } from '../auth/tokens.ts';
import { type Logger, silentLogger } from '../logger.ts';
import { type ApiMetrics, recordRequests, timedReader } from '../metrics.ts';
import { searchForm } from '../query/form-search.ts';
import {
  BadParameterError,
  isTraceId,
  parseAttributeFilter,
  parseDuration,
  parseInteger,
  parseTime,
} from '../query/params.ts';
import {
  NotYetCommittedError,
  type SpanReader,
  type StatusFilter,
  type TagScope,
  type TimeRange,
  type TraceQuery,
} from '../query/span-store.ts';
import { listTags, listTagValuesJson } from '../query/tags.ts';
import { summarizeTrace, summaryToJson } from '../query/trace-summary.ts';
import { traceQLHitJson } from '../query/traceql-json.ts';
import { searchTraceQL, type TraceQLSearchResult } from '../query/traceql-search.ts';

/** What the API needs: a store to read from, and optionally the built web UI to serve. */
export interface ApiDependencies {
  readonly store: SpanReader;
  /** Directory of the built web UI (`packages/web/dist`); the UI routes are served from it if it exists. */
  readonly webRoot?: string;
  /** Where failures are logged, with their cause (default: nowhere). */
  readonly logger?: Logger;
  /** Whether the server takes spans now, and if not why (for `/readyz`). */
  readonly readiness?: () => { readonly ready: boolean; readonly reason?: string };
  /** Spans acknowledged but not yet in the store, and why ingest is unavailable if it is (`/healthz`). */
  readonly ingestStatus?: () => { readonly pendingSpans: number; readonly unavailable?: string };
  /**
   * Where request and query durations are recorded, served at `/metrics` (Prometheus text) with
   * every other metric of the server; without it there is no `/metrics`.
   */
  readonly metrics?: ApiMetrics;
  /** Query tokens: the API and the UI then need one (auth/login.ts); unset, they are open. */
  readonly queryAuth?: { readonly tokens: TokenSet; readonly secureCookie: boolean };
  /** Certificate and key: the API speaks HTTPS (`--tls-cert`, `--tls-key`). */
  readonly https?: TlsKeyPair;
}

/** One table maps API error codes to HTTP statuses. */
const ERROR_STATUS = {
  bad_request: 400,
  not_found: 404,
  internal: 500,
  unavailable: 503,
} as const;
type ErrorCode = keyof typeof ERROR_STATUS;

class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** More fields of the error body (a TraceQL error's position). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A query that does not parse, validate or run: 400 with where and why. */
function traceQLBadRequest(error: TraceQLError): ApiError {
  return new ApiError('bad_request', `invalid TraceQL query: ${error.message}`, {
    traceql: {
      kind: error.code,
      line: error.line,
      col: error.col,
      offset: error.offset,
      end: error.end,
      reason: error.reason,
    },
  });
}

const DEFAULT_SPSS = 3;
const DEFAULT_TAG_LIMIT = 1000;
const MAX_TAG_LIMIT = 10_000;
/** Tags and values are listed from the last hour unless the caller gives a window. */
const TAG_LOOKBACK_NANOS = 3_600_000_000_000n;

const tagsSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      scope: { type: 'string', enum: ['span', 'resource', 'intrinsic', 'all'] },
      start: { type: 'string' },
      end: { type: 'string' },
      limit: { type: 'string' },
    },
  },
} as const;

const tagValuesSchema = {
  params: { type: 'object', properties: { name: { type: 'string', minLength: 1 } }, required: ['name'] },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      q: { type: 'string' },
      start: { type: 'string' },
      end: { type: 'string' },
      limit: { type: 'string' },
    },
  },
} as const;
const MAX_SPSS = 1000;

const DEFAULT_SEARCH_LIMIT = 20;
const MAX_SEARCH_LIMIT = 1000;

const stringOrArray = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };

const searchSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      service: { type: 'string', minLength: 1 },
      operation: { type: 'string', minLength: 1 },
      status: { type: 'string', enum: ['error', 'ok', 'unset'] },
      minDuration: { type: 'string' },
      maxDuration: { type: 'string' },
      start: { type: 'string' },
      end: { type: 'string' },
      // A string parsed by parseInteger: coerced by the schema, `Infinity`, `0x10` and ` 5` passed.
      limit: { type: 'string' },
      attr: stringOrArray,
      q: { type: 'string' },
      spss: { type: 'string' },
    },
  },
} as const;

const rangeSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { start: { type: 'string' }, end: { type: 'string' } },
  },
} as const;

const traceSchema = {
  params: { type: 'object', properties: { traceId: { type: 'string' } }, required: ['traceId'] },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      format: { type: 'string', enum: ['ariadne', 'otlp'] },
      start: { type: 'string' },
      end: { type: 'string' },
    },
  },
} as const;

function timeRange(query: { start?: string; end?: string }): TimeRange {
  const range: { startUnixNano?: UnixNanos; endUnixNano?: UnixNanos } = {};
  if (query.start !== undefined) range.startUnixNano = parseTime(query.start, 'start');
  if (query.end !== undefined) range.endUnixNano = parseTime(query.end, 'end');
  if (range.startUnixNano !== undefined && range.endUnixNano !== undefined && range.endUnixNano < range.startUnixNano) {
    throw new BadParameterError('end is before start');
  }
  return range;
}

/** The window used when a caller gives none for aggregates: the last hour, like Jaeger's default lookback. */
function defaultWindow(range: TimeRange, lookbackNanos: bigint): TimeRange {
  if (range.startUnixNano !== undefined) return range;
  const end = range.endUnixNano ?? unixNanos(BigInt(Date.now()) * 1_000_000n);
  return { startUnixNano: unixNanos(end - lookbackNanos), endUnixNano: range.endUnixNano };
}

/**
 * Builds the query API (fastify). Routes are tested with `app.inject()`; `main.ts` listens.
 * Every error is JSON `{error, message}` with the status from `ERROR_STATUS`.
 */
export function buildApiApp(deps: ApiDependencies): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger ?? silentLogger,
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { querystringParser: (text: string) => Object.fromEntries(groupParams(new URLSearchParams(text))) },
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false } },
    ...(deps.https && { https: deps.https }),
  }) as unknown as FastifyInstance;
  // Security headers on every answer; the token check before any other hook (auth/).
  addSecurityHeaders(app);
  if (deps.queryAuth) guardQueryApp(app, { ...deps.queryAuth, webRoot: deps.webRoot });
  const { metrics } = deps;
  const store = metrics ? timedReader(deps.store, metrics) : deps.store;
  if (metrics) {
    recordRequests(app, metrics, 'http');
    metrics.watchReadiness(() => (deps.readiness ? deps.readiness().ready : true));
  }

  app.setErrorHandler((error: FastifyError | ApiError | BadParameterError, request, reply) => {
    if (error instanceof ApiError) {
      return reply.code(ERROR_STATUS[error.code]).send({ error: error.code, message: error.message, ...error.details });
    }
    if (error instanceof NotYetCommittedError) {
      reply.header('retry-after', '5');
      return reply
        .code(ERROR_STATUS.unavailable)
        .send({ error: 'pending', message: error.message, pendingSpans: error.pendingSpans });
    }
    if (error instanceof BadParameterError || (error as FastifyError).validation) {
      return reply.code(400).send({ error: 'bad_request', message: error.message });
    }
    const status = (error as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send({ error: 'bad_request', message: error.message });
    }
    request.log.error({ err: error, method: request.method, route: request.routeOptions.url }, 'query failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the server log' });
  });

  app.get('/healthz', async () =>
    deps.ingestStatus ? { status: 'ok', ingest: deps.ingestStatus() } : { status: 'ok' },
  );
  app.get('/readyz', async (_request, reply) => {
    const readiness = deps.readiness ? deps.readiness() : { ready: true };
    if (!readiness.ready) throw new ApiError('unavailable', `not ready: ${readiness.reason ?? 'unknown'}`);
    return reply.send({ status: 'ready' });
  });

  if (metrics)
    app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.exposition()));

  app.get<{ Params: { traceId: string }; Querystring: { format?: 'ariadne' | 'otlp'; start?: string; end?: string } }>(
    '/api/v1/traces/:traceId',
    { schema: traceSchema },
    async (request, reply) => {
      const { traceId } = request.params;
      if (!isTraceId(traceId)) {
        throw new ApiError(
          'bad_request',
          `trace id must be 32 hex characters, got ${JSON.stringify(traceId.slice(0, 64))}`,
        );
      }
      const spans = await store.getTrace(traceId.toLowerCase(), timeRange(request.query));
      if (spans.length === 0) throw new ApiError('not_found', `trace ${traceId.toLowerCase()} not found`);
      if (request.query.format === 'otlp') return spansToTracesData(spans);
      const summary = summarizeTrace(spans);
      // Written as text: the spans share attribute, resource and scope objects, and encoding each
      // once is several times faster than JSON.stringify over the whole response.
      reply.type('application/json; charset=utf-8');
      const summaryText = summary === undefined ? '' : `,"summary":${JSON.stringify(summaryToJson(summary))}`;
      return `{"traceId":${JSON.stringify(traceId.toLowerCase())},"spans":${spansToApiJsonText(spans)}${summaryText}}`;
    },
  );

  app.get<{
    Querystring: {
      service?: string;
      operation?: string;
      status?: StatusFilter;
      minDuration?: string;
      maxDuration?: string;
      start?: string;
      end?: string;
      limit?: string;
      attr?: string | string[];
      q?: string;
      spss?: string;
    };
  }>('/api/v1/search', { schema: searchSchema }, async (request) => {
    const q = request.query;
    if (q.q !== undefined) return traceQLSearch(q);
    if (q.spss !== undefined) throw new ApiError('bad_request', 'spss applies to a TraceQL search (q) only');
    const attrs = q.attr === undefined ? [] : Array.isArray(q.attr) ? q.attr : [q.attr];
    const query: TraceQuery = {
      ...timeRange(q),
      service: q.service,
      operation: q.operation,
      status: q.status,
      minDurationNanos: q.minDuration === undefined ? undefined : parseDuration(q.minDuration, 'minDuration'),
      maxDurationNanos: q.maxDuration === undefined ? undefined : parseDuration(q.maxDuration, 'maxDuration'),
      attributes: attrs.map(parseAttributeFilter),
      limit: q.limit === undefined ? DEFAULT_SEARCH_LIMIT : parseInteger(q.limit, 'limit', 1, MAX_SEARCH_LIMIT),
    };
    if (
      query.minDurationNanos !== undefined &&
      query.maxDurationNanos !== undefined &&
      query.maxDurationNanos < query.minDurationNanos
    ) {
      throw new ApiError('bad_request', 'maxDuration is less than minDuration');
    }
    // One search path: the form runs as the TraceQL query it stands for.
    const { traces } = await searchForm(store, query);
    return { traces: traces.map(summaryToJson) };
  });

  /** `GET /api/v1/search?q=<TraceQL>`: every other form parameter is refused alongside `q`. */
  async function traceQLSearch(q: { q?: string; start?: string; end?: string; limit?: string; spss?: string }) {
    const form = Object.keys(q).filter((k) => !['q', 'start', 'end', 'limit', 'spss'].includes(k));
    if (form.length > 0)
      throw new ApiError(
        'bad_request',
        `q (TraceQL) cannot be combined with ${form.join(', ')}: write them in the query`,
      );
    const source = q.q ?? '';
    let query: TraceQLQuery;
    try {
      query = compileTraceQL(source);
    } catch (error) {
      if (error instanceof TraceQLError) throw traceQLBadRequest(error);
      throw error;
    }
    const limit = q.limit === undefined ? DEFAULT_SEARCH_LIMIT : parseInteger(q.limit, 'limit', 1, MAX_SEARCH_LIMIT);
    const spss = q.spss === undefined ? DEFAULT_SPSS : parseInteger(q.spss, 'spss', 1, MAX_SPSS);
    let result: TraceQLSearchResult;
    try {
      result = await searchTraceQL(store, query, { ...timeRange(q), limit, source });
    } catch (error) {
      if (error instanceof TraceQLError) throw traceQLBadRequest(error);
      throw error;
    }
    return {
      traces: result.traces.map((hit) => traceQLHitJson(hit, spss)),
      metrics: { inspectedTraces: result.tracesInspected, truncated: result.truncated },
    };
  }

  app.get<{ Querystring: { scope?: string; start?: string; end?: string; limit?: string } }>(
    '/api/v1/tags',
    { schema: tagsSchema },
    async (request) => {
      const q = request.query;
      const range = defaultWindow(timeRange(q), TAG_LOOKBACK_NANOS);
      const limit = q.limit === undefined ? DEFAULT_TAG_LIMIT : parseInteger(q.limit, 'limit', 1, MAX_TAG_LIMIT);
      const scopes = (q.scope === undefined || q.scope === 'all' ? ['span', 'resource', 'intrinsic'] : [q.scope]) as (
        | TagScope
        | 'intrinsic'
      )[];
      return {
        scopes: await Promise.all(
          scopes.map(async (name) => ({ name, tags: await listTags(store, name, range, limit) })),
        ),
      };
    },
  );

  app.get<{ Params: { name: string }; Querystring: { q?: string; start?: string; end?: string; limit?: string } }>(
    '/api/v1/tags/:name/values',
    { schema: tagValuesSchema },
    async (request) => {
      const q = request.query;
      const range = defaultWindow(timeRange(q), TAG_LOOKBACK_NANOS);
      const limit = q.limit === undefined ? DEFAULT_TAG_LIMIT : parseInteger(q.limit, 'limit', 1, MAX_TAG_LIMIT);
      return { tagValues: await listTagValuesJson(store, request.params.name, { ...range, query: q.q, limit }) };
    },
  );

  app.get('/api/v1/services', async () => ({ services: await store.listServices() }));

  app.get<{ Params: { service: string } }>('/api/v1/services/:service/operations', async (request) => ({
    operations: await store.listOperations(request.params.service),
  }));

  app.get<{ Params: { service: string }; Querystring: { start?: string; end?: string } }>(
    '/api/v1/services/:service/stats',
    { schema: rangeSchema },
    async (request) => {
      const range = defaultWindow(timeRange(request.query), 3_600_000_000_000n);
      const operations = await store.operationStats(request.params.service, range);
      return {
        service: request.params.service,
        operations: operations.map((o) => ({
          operation: o.operation,
          spanCount: o.spanCount,
          errorCount: o.errorCount,
          errorRate: o.spanCount === 0 ? 0 : o.errorCount / o.spanCount,
          p50Nanos: o.p50Nanos.toString(),
          p95Nanos: o.p95Nanos.toString(),
          p99Nanos: o.p99Nanos.toString(),
        })),
      };
    },
  );

  app.get<{ Querystring: { start?: string; end?: string } }>(
    '/api/v1/dependencies',
    { schema: rangeSchema },
    async (request) => {
      const range = defaultWindow(timeRange(request.query), 3_600_000_000_000n);
      return { dependencies: await store.dependencies(range) };
    },
  );

  const webRoot = deps.webRoot;
  const hasWeb = webRoot !== undefined && existsSync(join(webRoot, 'index.html'));
  if (hasWeb) {
    app.register(fastifyStatic, { root: webRoot, prefix: '/', index: false, wildcard: false });
    const sendApp = (_request: unknown, reply: { sendFile: (f: string) => unknown }) => reply.sendFile('index.html');
    app.get('/', (_request, reply) => reply.redirect('/search'));
    app.get('/search', sendApp);
    app.get('/services', sendApp);
    app.get('/trace/:traceId', sendApp);
  } else {
    app.get('/', async () => ({
      name: 'ariadne',
      message: 'query API; the web UI is not built (run `npm run build`)',
      api: [
        '/api/v1/search',
        '/api/v1/traces/{traceId}',
        '/api/v1/tags',
        '/api/v1/tags/{name}/values',
        '/api/v1/services',
        '/api/v1/dependencies',
      ],
    }));
  }

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
  return app;
}

/** Query parameters with repeated keys collected into arrays (for `attr`). */
function groupParams(params: URLSearchParams): Map<string, string | string[]> {
  const out = new Map<string, string | string[]>();
  for (const [key, value] of params) {
    const prev = out.get(key);
    if (prev === undefined) out.set(key, value);
    else out.set(key, Array.isArray(prev) ? [...prev, value] : [prev, value]);
  }
  return out;
}
