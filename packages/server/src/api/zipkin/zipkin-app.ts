import { compileTraceQL, spansToZipkin, TraceQLError, ZIPKIN_FIELD_ATTRIBUTES } from '@ariadne/core';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import type { TlsKeyPair } from '../../auth/tls.ts';
import { type Logger, silentLogger } from '../../logger.ts';
import { type ApiMetrics, recordRequests, timedReader } from '../../metrics.ts';
import { NotYetCommittedError, type SpanPredicate, type SpanReader, type TagValue } from '../../query/span-store.ts';
import { searchTraceQL } from '../../query/traceql-search.ts';
import {
  DEFAULT_LOOKBACK_MS,
  millisWindow,
  parseLong,
  parseTraceQuery,
  parseZipkinTraceId,
  REMOTE_NAME_ATTRIBUTES,
  ZipkinRequestError,
  zipkinTraceQL,
} from './zipkin-params.ts';

/** What the Zipkin API needs: the query interface every store implements, and optionally ingest. */
export interface ZipkinApiDependencies {
  readonly reader: SpanReader;
  /** Where failures are logged, with their cause (default: nowhere). */
  readonly logger?: Logger;
  /**
   * Registers the span receiver's routes (`zipkinReceiver` in ingest/zipkin-http.ts); without it
   * the app only reads.
   */
  readonly ingest?: (app: FastifyInstance) => Promise<void>;
  /** Unix milliseconds now (default: the system clock): `endTs` when a search gives none. */
  readonly nowMillis?: () => number;
  /** `lookback` when a request gives none (default one day, Zipkin's `zipkin.query.lookback`). */
  readonly lookbackMillis?: number;
  /**
   * What `autocompleteKeys` answers (Zipkin's `zipkin.storage.autocomplete-keys`); by default the
   * tag keys seen on spans and resources within the lookback.
   */
  readonly autocompleteKeys?: readonly string[];
  /** Certificate and key: the API speaks HTTPS (`--tls-cert`, `--tls-key`). */
  readonly https?: TlsKeyPair;
  /**
   * Where request durations (protocol `zipkin, reads and ingest alike`) and store query durations are recorded, as for
   * `/api/v1` (default: nowhere).
   */
  readonly metrics?: ApiMetrics;
}

/** The lists (names, keys, values) answered at most. */
const NAMES_LIMIT = 1000;

/** OTLP's span kinds CLIENT and PRODUCER. */
const CLIENT = 3n;
const PRODUCER = 4n;

/**
 * The request headers a preflight allows: the collector's (`Content-Type`, `Content-Encoding`)
 * and `Authorization`, which carries ingest and query tokens (`Bearer <token>`). Named one by one:
 * a `*` would not cover `Authorization`.
 */
const CORS_ALLOWED_HEADERS = 'content-type, content-encoding, authorization';

/** What zipkin-lens reads from `/zipkin/config.json` before anything else (as Zipkin's defaults). */
const LENS_CONFIG = {
  environment: '',
  queryLimit: 10,
  defaultLookback: 900_000,
  searchEnabled: true,
  dependency: { enabled: true, lowErrorRate: 0.5, highErrorRate: 0.75 },
};

type Query = Readonly<Record<string, string | undefined>>;

/**
 * Zipkin's HTTP API (spec: /work/shared/specs/compat-apis.md §3), under `/api/v2/` and, as
 * zipkin-lens calls it, `/zipkin/api/v2/`: service, span and remote service names, trace search
 * (`serviceName`, `spanName`, `remoteServiceName`, `annotationQuery`, durations in µs, `endTs`
 * and `lookback` in ms), traces by id, dependency links, tag autocompletion, and zipkin-lens's
 * `/zipkin/config.json`; with `ingest`, also the collector's `POST /api/v2/spans` and
 * `/api/v1/spans`. A thin layer over the query interface: searches run as TraceQL
 * (`zipkinTraceQL`), spans are shaped by core's Zipkin mapping. Errors are plain text, as Zipkin
 * answers; every response allows any origin (Zipkin's default `allowed-origins: *`), and
 * preflights allow the `Authorization` header, so that a zipkin-lens served elsewhere can call it,
 * with a query token when the server has them (not with the UI's cookie: `*` allows no
 * credentials).
 *
 * Differences: a search's window selects traces by the spans meeting its conditions, where
 * Zipkin takes the root's timestamp; `remoteServices` and autocompletion look back
 * `lookbackMillis`; the archive, the UI itself and Scribe/Kafka collectors are not served.
 */
export function buildZipkinApp(deps: ZipkinApiDependencies): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger ?? silentLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Armeria's `@Param`: the first value of a repeated parameter.
    routerOptions: { querystringParser: firstValues },
    ...(deps.https && { https: deps.https }),
  }) as unknown as FastifyInstance;
  const { metrics } = deps;
  const reader = metrics ? timedReader(deps.reader, metrics) : deps.reader;
  // The collector's POST and the span names' GET share `/api/v2/spans`: the method tells them apart.
  if (metrics) recordRequests(app, metrics, 'zipkin', { methodInRoute: true });
  const nowMillis = deps.nowMillis ?? Date.now;
  const lookbackMillis = deps.lookbackMillis ?? DEFAULT_LOOKBACK_MS;
  const recent = () => millisWindow(nowMillis(), lookbackMillis);

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('access-control-allow-origin', '*');
    return payload;
  });
  app.options('*', async (_request, reply) =>
    reply
      .code(204)
      .header('access-control-allow-methods', 'GET, POST, OPTIONS')
      .header('access-control-allow-headers', CORS_ALLOWED_HEADERS)
      .header('access-control-max-age', '86400')
      .send(),
  );
  app.setErrorHandler((error: FastifyError | ZipkinRequestError | NotYetCommittedError, request, reply) => {
    if (error instanceof ZipkinRequestError) return text(reply, 400, error.message);
    if (error instanceof TraceQLError) return text(reply, 400, `cannot search for this: ${error.message}`);
    if (error instanceof NotYetCommittedError) {
      reply.header('retry-after', '5');
      return text(reply, 503, error.message);
    }
    const status = (error as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return text(reply, status, error.message);
    request.log.error(
      { err: error, method: request.method, route: request.routeOptions.url },
      'zipkin api: request failed',
    );
    return text(reply, 500, 'internal error; see the server log');
  });
  app.setNotFoundHandler((request, reply) =>
    text(reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`),
  );

  if (deps.ingest) app.register(deps.ingest);

  app.get('/zipkin/config.json', async () => LENS_CONFIG);
  app.get('/health', async () => ({ status: 'UP', zipkin: { status: 'UP', details: {} } }));

  for (const prefix of ['/api/v2', '/zipkin/api/v2']) {
    app.get(`${prefix}/services`, async (_request, reply) => names(reply, await reader.listServices()));

    app.get<{ Querystring: Query }>(`${prefix}/spans`, async (request, reply) => {
      const service = required(request.query, 'serviceName');
      return names(reply, service === '' ? [] : await reader.listOperations(service));
    });

    app.get<{ Querystring: Query }>(`${prefix}/remoteServices`, async (request, reply) => {
      const service = required(request.query, 'serviceName');
      if (service === '') return names(reply, []);
      // What the service's spans show as remote endpoint names, as `remoteServiceName` searches
      // them: `peer.service`, and the host names of CLIENT and PRODUCER spans.
      const range = recent();
      const ofService: SpanPredicate = { kind: 'compare', field: { kind: 'service' }, op: '=', value: service };
      const calls: SpanPredicate = {
        kind: 'and',
        args: [
          ofService,
          {
            kind: 'or',
            args: [CLIENT, PRODUCER].map((kind) => ({
              kind: 'compare',
              field: { kind: 'kind' },
              op: '=',
              value: kind,
            })),
          },
        ],
      };
      const lists = await Promise.all(
        ['peer.service', ...REMOTE_NAME_ATTRIBUTES].map((key) =>
          reader.listTagValues({
            field: { kind: 'attribute', scope: 'span', key },
            where: key === 'peer.service' ? ofService : calls,
            ...range,
            limit: NAMES_LIMIT,
          }),
        ),
      );
      return names(reply, texts(lists.flat()).slice(0, NAMES_LIMIT));
    });

    app.get<{ Querystring: Query }>(`${prefix}/traces`, async (request, reply) => {
      const query = parseTraceQuery(request.query, { nowMillis: nowMillis(), lookbackMillis });
      const source = zipkinTraceQL(query);
      const result = await searchTraceQL(reader, compileTraceQL(source), {
        startUnixNano: query.startUnixNano,
        endUnixNano: query.endUnixNano,
        limit: query.limit,
        source,
      });
      return json(reply, JSON.stringify(result.traces.map((hit) => spansToZipkin(hit.spans))));
    });

    app.get<{ Params: { traceId: string } }>(`${prefix}/trace/:traceId`, async (request, reply) => {
      const id = parseZipkinTraceId(request.params.traceId);
      const spans = await reader.getTrace(id.stored);
      if (spans.length === 0) return text(reply, 404, `${id.zipkin} not found`);
      return json(reply, JSON.stringify(spansToZipkin(spans)));
    });

    app.get<{ Querystring: Query }>(`${prefix}/traceMany`, async (request, reply) => {
      const list = required(request.query, 'traceIds');
      if (list === '') throw new ZipkinRequestError('traceIds parameter is empty');
      const ids = new Map<string, string>();
      for (const part of list.split(',')) {
        const id = parseZipkinTraceId(part);
        if (ids.has(id.stored)) throw new ZipkinRequestError(`redundant traceId: ${part.trim()}`);
        ids.set(id.stored, id.zipkin);
      }
      if (ids.size === 1)
        throw new ZipkinRequestError('Use /api/v2/trace/{traceId} endpoint to retrieve a single trace');
      const found = await reader.getTraces([...ids.keys()]);
      const traces = [...ids.keys()].map((id) => found.get(id) ?? []).filter((spans) => spans.length > 0);
      return json(reply, JSON.stringify(traces.map(spansToZipkin)));
    });

    app.get<{ Querystring: Query }>(`${prefix}/dependencies`, async (request) => {
      const endTs = parseLong(required(request.query, 'endTs'), 'endTs');
      if (endTs <= 0) throw new ZipkinRequestError('endTs <= 0');
      const lookbackText = request.query.lookback;
      const lookback = lookbackText === undefined ? lookbackMillis : parseLong(lookbackText, 'lookback');
      if (lookback <= 0) throw new ZipkinRequestError('lookback <= 0');
      const links = await reader.dependencies(millisWindow(endTs, lookback));
      return links.map((d) =>
        d.errorCount > 0
          ? { parent: d.parent, child: d.child, callCount: d.callCount, errorCount: d.errorCount }
          : { parent: d.parent, child: d.child, callCount: d.callCount },
      );
    });

    app.get(`${prefix}/autocompleteKeys`, async (_request, reply) => {
      if (deps.autocompleteKeys) return names(reply, [...deps.autocompleteKeys]);
      const range = recent();
      const [span, resource] = await Promise.all([
        reader.listTagNames('span', range, NAMES_LIMIT),
        reader.listTagNames('resource', range, NAMES_LIMIT),
      ]);
      const keys = [...span, ...resource].filter((k) => k !== 'service.name' && !ZIPKIN_FIELD_ATTRIBUTES.has(k));
      return names(reply, [...new Set(keys)].sort().slice(0, NAMES_LIMIT));
    });

    app.get<{ Querystring: Query }>(`${prefix}/autocompleteValues`, async (request, reply) => {
      const key = required(request.query, 'key');
      if (key === '') return names(reply, []);
      const values = await reader.listTagValues({
        field: { kind: 'attribute', scope: 'any', key },
        ...recent(),
        limit: NAMES_LIMIT,
      });
      return names(reply, texts(values));
    });
  }
  return app;
}

function required(query: Query, name: string): string {
  const value = query[name];
  if (value === undefined) throw new ZipkinRequestError(`Required parameter '${name}' is missing`);
  return value;
}

/** Tag values as Zipkin's string tags, sorted, each once. */
function texts(values: readonly TagValue[]): string[] {
  return [...new Set(values.map((v) => (v.type === 'string' ? v.value : String(v.value))))].sort();
}

function text(reply: FastifyReply, status: number, message: string) {
  return reply.code(status).type('text/plain; charset=utf-8').send(message);
}

function json(reply: FastifyReply, body: string) {
  return reply.type('application/json').send(body);
}

/**
 * A list of names, sorted; cacheable for five minutes when there are more than three, as Zipkin
 * answers (an empty or tiny list is likely to change soon, while someone is getting started).
 */
function names(reply: FastifyReply, list: readonly string[]) {
  if (list.length > 3) reply.header('cache-control', 'max-age=300, must-revalidate');
  return json(reply, JSON.stringify([...list].sort()));
}

/** Query parameters, the first of each name. */
function firstValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(text)) if (!Object.hasOwn(out, key)) out[key] = value;
  return out;
}
