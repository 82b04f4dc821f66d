import {
  type JaegerTrace,
  jaegerTraceId,
  OtlpJsonError,
  parseOtlpJsonText,
  type Span,
  spanInvalidReason,
  spansFromOtlpJson,
  spansToJaegerTrace,
  spansToJaegerTraces,
  unixNanos,
} from '@ariadne/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { JaegerApiError, type JaegerRouteContext, param, queryOf, sendJson } from './http.ts';
import { listOperationKinds, parseSpanKind } from './operations.ts';
import {
  JaegerParamError,
  parseGoBool,
  parseGoDuration,
  parseGoInt,
  parseMicros,
  parseMillisDuration,
  parseMillisTime,
  parseTags,
  parseTraceId,
} from './params.ts';
import { findJaegerTraces, type JaegerSearch, MAX_LIMIT } from './search.ts';

/**
 * Jaeger's JSON API under `/api/` (`http_handler.go` of Jaeger ≤ 2.20): services, operations,
 * trace search, traces by id (one, or several with `?traceID=a&traceID=b`), dependencies, and
 * `POST /api/transform` (OTLP JSON to Jaeger traces, the UI's upload). Every answer is Jaeger's
 * envelope `{data, total, limit, offset, errors}`; `total` counts services and operations, and
 * is 0 elsewhere, as Jaeger has it. Archive and the Monitor tab's metrics answer 501.
 */

/** Jaeger's default search window (`defaultTraceQueryLookbackDuration`): two days. */
const SEARCH_LOOKBACK_NANOS = 2n * 24n * 3_600_000_000_000n;
/** Jaeger's default dependencies window (`defaultDependencyLookbackDuration`): one day. */
const DEPENDENCY_LOOKBACK_NANOS = 24n * 3_600_000_000_000n;
/** Jaeger's default number of traces a search returns. */
const DEFAULT_LIMIT = 100;
/** The most trace ids one request may ask for. */
const MAX_TRACE_IDS = 1000;

interface StructuredError {
  readonly code?: number;
  readonly msg: string;
  readonly traceID?: string;
}

function envelope(data: unknown, total = 0, errors: StructuredError[] = []) {
  return { data, total, limit: 0, offset: 0, errors: errors.length > 0 ? errors : null };
}

/** Validates what Jaeger parses but Ariadne does not need (`raw`: Ariadne has no adjusters to skip). */
function checkRaw(q: URLSearchParams): void {
  const raw = param(q, 'raw');
  if (raw !== '') parseGoBool(raw, 'raw');
}

/** Parses the search parameters of `GET /api/traces` as Jaeger's `parseTraceQueryParams`. */
function parseSearch(q: URLSearchParams, now: bigint): JaegerSearch & { readonly traceIds: string[] } {
  const startText = param(q, 'start');
  const endText = param(q, 'end');
  const start = startText === '' ? unixNanos(now - SEARCH_LOOKBACK_NANOS) : parseMicros(startText, 'start');
  const end = endText === '' ? unixNanos(now) : parseMicros(endText, 'end');
  const tags = parseTags(q.getAll('tag'), q.getAll('tags'));
  const limitText = param(q, 'limit');
  let limit = limitText === '' ? DEFAULT_LIMIT : parseGoInt(limitText, 'limit');
  if (limit <= 0) limit = DEFAULT_LIMIT;
  if (limit > MAX_LIMIT) {
    throw new JaegerParamError(
      `unable to parse param 'limit': ${limit} is more than the ${MAX_LIMIT} traces a search returns`,
    );
  }
  const minText = param(q, 'minDuration');
  const maxText = param(q, 'maxDuration');
  const minDurationNanos = minText === '' ? 0n : parseGoDuration(minText, 'minDuration');
  const maxDurationNanos = maxText === '' ? 0n : parseGoDuration(maxText, 'maxDuration');
  if (minDurationNanos !== 0n && maxDurationNanos !== 0n && maxDurationNanos < minDurationNanos) {
    throw new JaegerParamError("'maxDuration' should be greater than 'minDuration'");
  }
  const traceIds = q.getAll('traceID').filter((id) => id !== '');
  if (traceIds.length > MAX_TRACE_IDS) {
    throw new JaegerParamError(`too many traceID parameters: ${traceIds.length}; at most ${MAX_TRACE_IDS}`);
  }
  checkRaw(q);
  if (end < start && traceIds.length === 0) throw new JaegerParamError("'end' is before 'start'");
  return {
    service: param(q, 'service') || undefined,
    operation: param(q, 'operation') || undefined,
    tags,
    minDurationNanos: minDurationNanos || undefined,
    maxDurationNanos: maxDurationNanos || undefined,
    startUnixNano: start,
    // `end` is inclusive, to the microsecond.
    endUnixNano: unixNanos(end + 1_000n),
    limit,
    traceIds: traceIds.map((id) => parseTraceId(id)),
  };
}

export function registerJaegerV1Routes(app: FastifyInstance, ctx: JaegerRouteContext): void {
  const { reader } = ctx;
  const pretty = (request: FastifyRequest) => param(queryOf(request.url), 'prettyPrint');

  app.get('/api/services', async (request, reply) => {
    const services = await reader.listServices();
    return sendJson(reply, envelope(services, services.length), pretty(request));
  });

  app.get<{ Params: { service: string } }>('/api/services/:service/operations', async (request, reply) => {
    const names = [...new Set(await reader.listOperations(request.params.service))];
    return sendJson(reply, envelope(names, names.length), pretty(request));
  });

  app.get('/api/operations', async (request, reply) => {
    const q = queryOf(request.url);
    const service = param(q, 'service');
    if (service === '') throw new JaegerParamError("parameter 'service' is required");
    const operations = await listOperationKinds(reader, service, parseSpanKind(param(q, 'spanKind')));
    return sendJson(reply, envelope(operations, operations.length), pretty(request));
  });

  app.get('/api/traces', async (request, reply) => {
    const q = queryOf(request.url);
    const search = parseSearch(q, ctx.now());
    if (search.traceIds.length > 0) {
      const ids = [...new Set(search.traceIds)];
      const found = await reader.getTraces(ids);
      const data: JaegerTrace[] = [];
      const errors: StructuredError[] = [];
      for (const id of ids) {
        const spans = found.get(id) ?? [];
        if (spans.length > 0) data.push(spansToJaegerTrace(spans));
        else errors.push({ msg: 'trace not found', traceID: jaegerTraceId(id) });
      }
      return sendJson(reply, envelope(data, 0, errors), pretty(request));
    }
    const traces = await findJaegerTraces(reader, search);
    return sendJson(reply, envelope(traces.map(spansToJaegerTrace)), pretty(request));
  });

  app.get<{ Params: { traceID: string } }>('/api/traces/:traceID', async (request, reply) => {
    const q = queryOf(request.url);
    const traceId = parseTraceId(request.params.traceID);
    // `start` and `end` are checked, not used: Grafana sends milliseconds in these microsecond
    // parameters, and a trace is found by its id alone.
    for (const name of ['start', 'end']) if (param(q, name) !== '') parseMicros(param(q, name), name);
    checkRaw(q);
    const spans = await reader.getTrace(traceId);
    if (spans.length === 0) throw new JaegerApiError(404, 'trace not found');
    return sendJson(reply, envelope([spansToJaegerTrace(spans)]), pretty(request));
  });

  app.get('/api/dependencies', async (request, reply) => {
    const q = queryOf(request.url);
    const endText = param(q, 'endTs');
    const lookbackText = param(q, 'lookback');
    const end = endText === '' ? ctx.now() : parseMillisTime(endText, 'endTs');
    const lookback = lookbackText === '' ? DEPENDENCY_LOOKBACK_NANOS : parseMillisDuration(lookbackText, 'lookback');
    const start = end - lookback < 0n ? 0n : end - lookback;
    const service = param(q, 'service');
    const edges = await reader.dependencies({
      startUnixNano: unixNanos(start),
      endUnixNano: unixNanos(end + 1_000_000n),
    });
    const links = new Map<string, { parent: string; child: string; callCount: number }>();
    for (const e of edges) {
      if (service !== '' && e.parent !== service && e.child !== service) continue;
      const key = JSON.stringify([e.parent, e.child]);
      const link = links.get(key);
      if (link) link.callCount += e.callCount;
      else links.set(key, { parent: e.parent, child: e.child, callCount: e.callCount });
    }
    return sendJson(reply, envelope([...links.values()]), pretty(request));
  });

  app.post<{ Body: string }>('/api/transform', async (request, reply) => {
    let spans: Span[];
    try {
      spans = spansFromOtlpJson(parseOtlpJsonText(String(request.body ?? '')));
    } catch (error) {
      if (error instanceof SyntaxError || error instanceof OtlpJsonError) {
        throw new JaegerParamError(`cannot read the body as OTLP JSON: ${error.message}`);
      }
      throw error;
    }
    spans.forEach((span, i) => {
      const reason = spanInvalidReason(span);
      if (reason !== undefined) throw new JaegerParamError(`span ${i} of the body is not valid OTLP: ${reason}`);
    });
    return sendJson(reply, envelope(spansToJaegerTraces(spans)), pretty(request));
  });

  app.post('/api/archive/:traceID', async () => {
    throw new JaegerApiError(501, 'archiving traces is not supported: Ariadne keeps traces until its retention ends');
  });

  app.get('/api/metrics/:metric', async () => {
    throw new JaegerApiError(501, 'metrics querying is currently disabled');
  });

  // The UI's upload posts OTLP JSON without saying so: every body is read as text.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
}
