import { tempoTraceByIdV2Json, tempoTraceV1Json } from '@ariadne/core';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import type { TlsKeyPair } from '../../auth/tls.ts';
import { type Logger, silentLogger } from '../../logger.ts';
import { type ApiMetrics, recordRequests, timedReader } from '../../metrics.ts';
import { NotYetCommittedError, type SpanReader, type TimeRange } from '../../query/span-store.ts';
import {
  MAX_UINT32,
  parseCount,
  parseTempoTraceId,
  parseUnixSeconds,
  secondsRange,
  shown,
  TempoRequestError,
} from './tempo-params.ts';
import { encodeTempoTrace, encodeTraceByIdResponse } from './tempo-proto.ts';
import { compileTempoTraceQL, parseTempoSearch, runTempoSearch } from './tempo-search.ts';
import {
  listScopedTagNames,
  listTagNamesV1,
  listTagValuesText,
  listTagValuesTyped,
  parseTagScope,
  tagValuesSourceV1,
  tagValuesSourceV2,
  tagValuesWhere,
} from './tempo-tags.ts';

/** What the Tempo API needs: the query interface every store implements, and a logger. */
export interface TempoApiDependencies {
  readonly reader: SpanReader;
  /** Where failures are logged, with their cause (default: nowhere). */
  readonly logger?: Logger;
  /** Certificate and key: the API speaks HTTPS (`--tls-cert`, `--tls-key`). */
  readonly https?: TlsKeyPair;
  /**
   * Where request durations (protocol `tempo`) and store query durations are recorded, as for
   * `/api/v1` (default: nowhere).
   */
  readonly metrics?: ApiMetrics;
}

/**
 * The Tempo version `/api/status/buildinfo` reports. Grafana reads it as a semver to enable
 * features (gRPC streaming from 2.2.0, which Ariadne does not serve: leave it off in the data
 * source); 2.9.0 has every HTTP feature Ariadne answers.
 */
export const TEMPO_COMPAT_VERSION = '2.9.0';

const DEFAULT_TAG_LIMIT = 1000;
const MAX_TAG_LIMIT = 10_000;

type Query = Readonly<Record<string, string>>;

/**
 * Grafana Tempo's HTTP API, as Grafana's Tempo data source calls it (spec:
 * /work/shared/specs/compat-apis.md §2): echo and buildinfo for the health check, trace by id
 * (v1 and v2, JSON and protobuf), search with TraceQL or tags, and tag names and values for the
 * query editor's autocompletion. A thin layer over the query interface: parameters are checked
 * and translated as Tempo does (tempo-params.ts), searches run on Ariadne's TraceQL engine, and
 * the shapes come from core's `formats/tempo.ts`. Errors are plain text with Tempo's status
 * codes; an unknown parameter is refused rather than ignored. Not served: TraceQL metrics
 * (`/api/metrics/*`), gRPC streaming, ingest (Tempo's distributor).
 */
export function buildTempoApp(deps: TempoApiDependencies): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger ?? silentLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Go's `url.Values.Get`: the first value of a repeated parameter; attribute names in
    // `/api/v2/search/tag/{tag}/values` longer than the router's default of 100 characters.
    routerOptions: { querystringParser: firstValues, maxParamLength: 4096 },
    ...(deps.https && { https: deps.https }),
  }) as unknown as FastifyInstance;
  const { metrics } = deps;
  if (metrics) recordRequests(app, metrics, 'tempo');
  const reader = metrics ? timedReader(deps.reader, metrics) : deps.reader;

  app.setErrorHandler((error: FastifyError | TempoRequestError | NotYetCommittedError, request, reply) => {
    if (error instanceof TempoRequestError) return text(reply, 400, error.message);
    if (error instanceof NotYetCommittedError) {
      reply.header('retry-after', '5');
      return text(reply, 503, error.message);
    }
    const status = (error as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return text(reply, status, error.message);
    request.log.error(
      { err: error, method: request.method, route: request.routeOptions.url },
      'tempo api: query failed',
    );
    return text(reply, 500, 'internal error; see the server log');
  });
  app.setNotFoundHandler((_request, reply) => text(reply, 404, '404 page not found'));

  app.get('/api/echo', async (_request, reply) => text(reply, 200, 'echo'));
  app.get('/ready', async (_request, reply) => text(reply, 200, 'ready'));
  app.get('/api/status/buildinfo', async () => ({
    version: TEMPO_COMPAT_VERSION,
    revision: 'ariadne',
    branch: '',
    buildUser: '',
    buildDate: '',
    goVersion: '',
  }));

  app.get<{ Params: { traceId: string }; Querystring: Query }>('/api/traces/:traceId', async (request, reply) => {
    const traceId = parseTempoTraceId(request.params.traceId);
    const spans = await reader.getTrace(traceId, traceRange(request.query, TRACE_PARAMS));
    // Tempo's v1 answers an unknown id with 404; Grafana then reports it as not found.
    if (spans.length === 0) return text(reply, 404, `trace ${traceId} not found`);
    if (wantsProtobuf(request.headers.accept)) return protobuf(reply, encodeTempoTrace(spans));
    return reply.type('application/json').send(tempoTraceV1Json(spans));
  });

  app.get<{ Params: { traceId: string }; Querystring: Query }>('/api/v2/traces/:traceId', async (request, reply) => {
    const traceId = parseTempoTraceId(request.params.traceId);
    if (request.query.q !== undefined) {
      throw new TempoRequestError('filtering a trace with a TraceQL query (q) is not supported by Ariadne');
    }
    // An unknown id is a 200 with an empty trace, as Tempo's v2 answers: a 404 would send
    // Grafana to the v1 endpoint.
    const spans = await reader.getTrace(traceId, traceRange(request.query, TRACE_PARAMS));
    if (wantsProtobuf(request.headers.accept)) return protobuf(reply, encodeTraceByIdResponse(spans));
    return reply.type('application/json').send(tempoTraceByIdV2Json(spans));
  });

  app.get<{ Querystring: Query }>('/api/search', async (request) =>
    runTempoSearch(reader, parseTempoSearch(request.query)),
  );

  app.get<{ Querystring: Query }>('/api/search/tags', async (request) => {
    const q = checkParams(request.query, TAG_PARAMS);
    const scope = parseTagScope(q.scope);
    return {
      tagNames: await listTagNamesV1(reader, scope, tagRange(q), tagLimit(q)),
      metrics: {},
    };
  });

  app.get<{ Querystring: Query }>('/api/v2/search/tags', async (request) => {
    const q = checkParams(request.query, TAG_PARAMS);
    const scope = parseTagScope(q.scope);
    // A query narrows the names to those on the spans it matches, as Tempo's do; one that
    // requires nothing of a span (`{}`) lists them all, straight from the store.
    const matching =
      q.q !== undefined && tagValuesWhere(q.q) !== undefined
        ? { query: compileTempoTraceQL(q.q), source: q.q }
        : undefined;
    return { scopes: await listScopedTagNames(reader, scope, tagRange(q), tagLimit(q), matching), metrics: {} };
  });

  app.get<{ Params: { '*': string }; Querystring: Query }>('/api/search/tag/*', async (request) => {
    const tag = tagFromPath(request.params['*']);
    const q = checkParams(request.query, TAG_VALUE_PARAMS);
    if (q.q !== undefined) tagValuesWhere(q.q); // Tempo's v1 parses q but never filters by it.
    const source = tagValuesSourceV1(tag);
    return { tagValues: await listTagValuesText(reader, source, tagRange(q), tagLimit(q)), metrics: {} };
  });

  app.get<{ Params: { '*': string }; Querystring: Query }>('/api/v2/search/tag/*', async (request) => {
    const tag = tagFromPath(request.params['*']);
    const q = checkParams(request.query, TAG_VALUE_PARAMS);
    const source = tagValuesSourceV2(tag);
    const where = tagValuesWhere(q.q);
    return { tagValues: await listTagValuesTyped(reader, source, where, tagRange(q), tagLimit(q)), metrics: {} };
  });

  return app;
}

const TRACE_PARAMS = ['start', 'end', 'mode', 'blockStart', 'blockEnd'];
const TAG_PARAMS = ['scope', 'q', 'start', 'end', 'limit', 'maxStaleValues'];
const TAG_VALUE_PARAMS = ['q', 'start', 'end', 'limit', 'maxStaleValues'];
const QUERY_MODES = ['', 'all', 'ingesters', 'blocks', 'external'];

/** Refuses a parameter the endpoint does not take (Tempo would ignore it silently). */
function checkParams(query: Query, allowed: readonly string[]): Query {
  const unknown = Object.keys(query).find((k) => !allowed.includes(k));
  if (unknown !== undefined) {
    throw new TempoRequestError(`unknown parameter ${shown(unknown)}; this endpoint takes ${allowed.join(', ')}`);
  }
  return query;
}

/**
 * The window of a trace lookup: `start` and `end` in unix seconds, `end` after `start` when both
 * are given (Tempo's `ParseTraceByIDRequest`). `mode`, `blockStart` and `blockEnd` choose Tempo's
 * storage tiers and blocks: checked as Tempo checks them, and otherwise meaningless here.
 */
function traceRange(query: Query, allowed: readonly string[]): TimeRange {
  checkParams(query, allowed);
  if (query.mode !== undefined && !QUERY_MODES.includes(query.mode)) {
    throw new TempoRequestError(`invalid value for mode ${query.mode}`);
  }
  for (const name of ['blockStart', 'blockEnd'] as const) {
    const block = query[name];
    if (block !== undefined && !/^[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$/.test(block)) {
      throw new TempoRequestError(`invalid value for ${name}: not a UUID: ${shown(block)}`);
    }
  }
  const start = query.start === undefined ? undefined : parseUnixSeconds(query.start, 'start');
  const end = query.end === undefined ? undefined : parseUnixSeconds(query.end, 'end');
  if (start && end && end <= start) {
    throw new TempoRequestError(`http parameter start must be before end. received start=${start} end=${end}`);
  }
  // 0 is Tempo's "not given".
  return secondsRange(start || undefined, end || undefined);
}

/** The window of a tag lookup: `start` and `end` in unix seconds (0 or absent: open). */
function tagRange(query: Query): TimeRange {
  const start = query.start === undefined ? 0 : parseUnixSeconds(query.start, 'start', MAX_UINT32);
  const end = query.end === undefined ? 0 : parseUnixSeconds(query.end, 'end', MAX_UINT32);
  if (start !== 0 && end !== 0 && end < start) {
    throw new TempoRequestError(`http parameter start must be before end. received start=${start} end=${end}`);
  }
  if (query.maxStaleValues !== undefined) parseCount(query.maxStaleValues, 'maxStaleValues', 0, MAX_UINT32);
  return secondsRange(start || undefined, end || undefined);
}

/** Names or values listed at most: `limit` (0 or absent: the default). */
function tagLimit(query: Query): number {
  const limit = query.limit === undefined ? 0 : parseCount(query.limit, 'limit', 0, MAX_TAG_LIMIT);
  return limit === 0 ? DEFAULT_TAG_LIMIT : limit;
}

/** The tag of `/api/…/tag/{tag}/values` (the route's rest, decoded once, as Tempo's router does). */
function tagFromPath(rest: string): string {
  if (!rest.endsWith('/values')) throw new TempoRequestError('expected /api/search/tag/{tagName}/values');
  const tag = rest.slice(0, -'/values'.length);
  if (tag === '') throw new TempoRequestError('please provide a non-empty tagName');
  return tag;
}

/** Whether the client asks for protobuf (Tempo: `Accept` contains `application/protobuf`). */
function wantsProtobuf(accept: string | undefined): boolean {
  return accept?.includes('application/protobuf') ?? false;
}

function protobuf(reply: FastifyReply, bytes: Uint8Array) {
  return reply.type('application/protobuf').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

function text(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).type('text/plain; charset=utf-8').send(body);
}

/** Query parameters with the first value of each (Go's `url.Values.Get`). */
function firstValues(query: string): Record<string, string> {
  const first = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(query)) if (!first.has(key)) first.set(key, value);
  return Object.fromEntries(first);
}
