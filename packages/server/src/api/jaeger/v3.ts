import { type Span, StatusCode, spansToTracesData, type TracesDataJson } from '@ariadne/core';
import type { FastifyInstance } from 'fastify';
import { summarizeTrace } from '../../query/trace-summary.ts';
import { JaegerApiError, type JaegerRouteContext, queryOf, sendJson } from './http.ts';
import { listOperationKinds, parseSpanKind } from './operations.ts';
import {
  JaegerParamError,
  parseGoBool,
  parseGoDuration,
  parseGoInt,
  parseRfc3339,
  parseTags,
  parseTraceId,
} from './params.ts';
import { findJaegerTraces, type JaegerSearch, MAX_LIMIT } from './search.ts';

/**
 * Jaeger's api_v3 over HTTP (`apiv3/http_gateway.go`): traces as standard OTLP JSON
 * (`{result: {resourceSpans}}`: hex ids, enums as numbers, 64-bit integers as strings), services,
 * operations with their span kinds, trace search and trace summaries. Parameters by their
 * canonical camelCase names (Jaeger ≥ 2.19) or their snake_case aliases (the only names before,
 * and Grafana's): `query.serviceName` / `query.service_name`, and so on.
 */

/** Jaeger's default `query.searchDepth`. */
const DEFAULT_SEARCH_DEPTH = 100;

/** The first non-empty value of the canonical parameter, else of its aliases; with the name it came by. */
function pick(q: URLSearchParams, ...names: string[]): { value: string; name: string } {
  for (const name of names) {
    const value = q.get(name) ?? '';
    if (value !== '') return { value, name };
  }
  return { value: '', name: names[0] };
}

/** Parses the search parameters of `/api/v3/traces` and `/api/v3/trace-summaries`. */
function parseV3Search(q: URLSearchParams): JaegerSearch {
  if ((q.get('query.filter') ?? '') !== '') {
    throw new JaegerParamError('malformed parameter query.filter: filter expressions are not supported');
  }
  const min = pick(q, 'query.startTimeMin', 'query.start_time_min');
  const max = pick(q, 'query.startTimeMax', 'query.start_time_max');
  if (min.value === '' || max.value === '') {
    throw new JaegerParamError('query.startTimeMin and query.startTimeMax are required');
  }
  const start = parseRfc3339(min.value, min.name);
  const end = parseRfc3339(max.value, max.name);
  if (!(start < end)) throw new JaegerParamError('query.startTimeMin must be before query.startTimeMax');
  const depth = pick(q, 'query.searchDepth', 'query.search_depth', 'query.num_traces');
  let limit = depth.value === '' ? DEFAULT_SEARCH_DEPTH : parseGoInt(depth.value, depth.name);
  if (limit <= 0) limit = DEFAULT_SEARCH_DEPTH;
  if (limit > MAX_LIMIT) {
    throw new JaegerParamError(
      `malformed parameter ${depth.name}: ${limit} is more than the ${MAX_LIMIT} traces a search returns`,
    );
  }
  const durationMin = pick(q, 'query.durationMin', 'query.duration_min');
  const durationMax = pick(q, 'query.durationMax', 'query.duration_max');
  const minNanos = durationMin.value === '' ? 0n : parseGoDuration(durationMin.value, durationMin.name);
  const maxNanos = durationMax.value === '' ? 0n : parseGoDuration(durationMax.value, durationMax.name);
  if (minNanos !== 0n && maxNanos !== 0n && maxNanos < minNanos) {
    throw new JaegerParamError(`${durationMax.name} should be greater than ${durationMin.name}`);
  }
  const raw = pick(q, 'query.rawTraces', 'query.raw_traces');
  if (raw.value !== '') parseGoBool(raw.value, raw.name);
  return {
    service: pick(q, 'query.serviceName', 'query.service_name').value || undefined,
    operation: pick(q, 'query.operationName', 'query.operation_name').value || undefined,
    tags: parseTags([], q.getAll('query.attributes'), 'query.attributes'),
    minDurationNanos: minNanos || undefined,
    maxDurationNanos: maxNanos || undefined,
    startUnixNano: start,
    // Jaeger's `startTimeMax` is inclusive.
    endUnixNano: (end + 1n) as typeof end,
    limit,
  };
}

/** Every trace in one `TracesData`, trace after trace, as Jaeger merges them. */
function tracesResult(traces: readonly (readonly Span[])[]): { result: TracesDataJson } {
  return { result: { resourceSpans: traces.flatMap((spans) => spansToTracesData(spans).resourceSpans) } };
}

const NO_TRACES = 'No traces found';

/** A trace summary as api_v3's `FindTraceSummaries` writes it (times as nanosecond strings). */
function traceSummary(spans: readonly Span[]) {
  const summary = summarizeTrace(spans)!;
  const ids = new Set(spans.map((s) => s.spanId));
  const services = new Map<string, { name: string; spanCount: number; errorSpanCount: number }>();
  let orphanSpanCount = 0;
  for (const span of spans) {
    let s = services.get(span.serviceName);
    if (!s) {
      s = { name: span.serviceName, spanCount: 0, errorSpanCount: 0 };
      services.set(span.serviceName, s);
    }
    s.spanCount++;
    if (span.status.code === StatusCode.ERROR) s.errorSpanCount++;
    if (span.parentSpanId !== '' && !ids.has(span.parentSpanId)) orphanSpanCount++;
  }
  return {
    traceId: summary.traceId,
    rootServiceName: summary.rootService,
    rootOperationName: summary.rootName,
    minStartTimeUnixNano: summary.startUnixNano.toString(),
    maxEndTimeUnixNano: (summary.startUnixNano + summary.durationNanos).toString(),
    spanCount: summary.spanCount,
    errorSpanCount: summary.errorCount,
    orphanSpanCount,
    services: [...services.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

export function registerJaegerV3Routes(app: FastifyInstance, ctx: JaegerRouteContext): void {
  const { reader } = ctx;

  app.get('/api/v3/services', async (_request, reply) => sendJson(reply, { services: await reader.listServices() }));

  app.get('/api/v3/operations', async (request, reply) => {
    const q = queryOf(request.url);
    const service = q.get('service') ?? '';
    if (service === '') throw new JaegerParamError('malformed parameter service: a service name is required');
    const kind = pick(q, 'spanKind', 'span_kind');
    const operations = await listOperationKinds(reader, service, parseSpanKind(kind.value, kind.name));
    // Since Jaeger 2.15.1 an operation of no kind is reported as `internal`.
    const seen = new Set<string>();
    const out: { name: string; spanKind: string }[] = [];
    for (const o of operations) {
      const entry = { name: o.name, spanKind: o.spanKind || 'internal' };
      const key = JSON.stringify(entry);
      if (!seen.has(key)) out.push(entry);
      seen.add(key);
    }
    return sendJson(reply, { operations: out });
  });

  app.get<{ Params: { traceId: string } }>('/api/v3/traces/:traceId', async (request, reply) => {
    const q = queryOf(request.url);
    const traceId = parseTraceId(request.params.traceId, 'trace_id');
    // Checked, not used: a trace is found by its id alone.
    for (const names of [
      ['startTime', 'start_time'],
      ['endTime', 'end_time'],
    ]) {
      const time = pick(q, ...names);
      if (time.value !== '') parseRfc3339(time.value, time.name);
    }
    const raw = pick(q, 'rawTraces', 'raw_traces');
    if (raw.value !== '') parseGoBool(raw.value, raw.name);
    const spans = await reader.getTrace(traceId);
    if (spans.length === 0) throw new JaegerApiError(404, NO_TRACES);
    return sendJson(reply, tracesResult([spans]));
  });

  app.get('/api/v3/traces', async (request, reply) => {
    const traces = await findJaegerTraces(reader, parseV3Search(queryOf(request.url)));
    if (traces.length === 0) throw new JaegerApiError(404, NO_TRACES);
    return sendJson(reply, tracesResult(traces));
  });

  app.get('/api/v3/trace-summaries', async (request, reply) => {
    const traces = await findJaegerTraces(reader, parseV3Search(queryOf(request.url)));
    return sendJson(reply, { summaries: traces.map(traceSummary) });
  });
}
