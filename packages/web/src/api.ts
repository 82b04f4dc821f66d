import type { ApiSpanJson } from '@ariadne/core';

/**
 * The query API client. Every call goes to the same origin that served the app and returns
 * parsed JSON, or throws `ApiError` with the server's `{error, message}`.
 */

/**
 * Where and why a TraceQL query was refused (the `traceql` field of a 400): `offset`/`end` are
 * UTF-16 offsets into the query, `line`/`col` 1-based.
 */
export interface TraceQLErrorJson {
  readonly kind: 'syntax' | 'invalid' | 'unsupported';
  readonly line: number;
  readonly col: number;
  readonly offset: number;
  readonly end: number;
  readonly reason: string;
}

/** An error answer from the API, or a network failure (status 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The position of a refused TraceQL query, when the server gave one. */
    readonly traceql?: TraceQLErrorJson,
  ) {
    super(message);
  }
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { signal, headers: { accept: 'application/json' } });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'network', `Cannot reach the Ariadne API: ${(error as Error).message}`);
  }
  if (!response.ok) {
    let code = `http_${response.status}`;
    let message = `${response.status} ${response.statusText}`;
    let traceql: TraceQLErrorJson | undefined;
    try {
      const body = (await response.json()) as { error?: unknown; message?: unknown; traceql?: unknown };
      if (typeof body.error === 'string' && body.error) code = body.error;
      if (typeof body.message === 'string' && body.message) message = body.message;
      traceql = traceQLErrorFrom(body.traceql);
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, code, message, traceql);
  }
  return (await response.json()) as T;
}

/** The `traceql` field of an error body, if it has the documented shape. */
function traceQLErrorFrom(value: unknown): TraceQLErrorJson | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const ints = [v.line, v.col, v.offset, v.end].every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
  if (!ints || typeof v.reason !== 'string') return undefined;
  if (v.kind !== 'syntax' && v.kind !== 'invalid' && v.kind !== 'unsupported') return undefined;
  return {
    kind: v.kind,
    line: v.line as number,
    col: v.col as number,
    offset: v.offset as number,
    end: v.end as number,
    reason: v.reason,
  };
}

/** One trace in a search answer. Nanosecond fields are decimal strings. */
export interface TraceSummaryJson {
  readonly traceId: string;
  readonly rootService: string;
  readonly rootName: string;
  readonly startUnixNano: string;
  readonly durationNanos: string;
  readonly spanCount: number;
  readonly errorCount: number;
  readonly services: readonly string[];
}

/** `GET /api/v1/traces/{id}`. */
export interface TraceResponseJson {
  readonly traceId: string;
  readonly spans: readonly ApiSpanJson[];
  readonly summary: Omit<TraceSummaryJson, 'traceId'>;
}

/** One edge of the service dependency map. */
export interface DependencyJson {
  readonly parent: string;
  readonly child: string;
  readonly callCount: number;
  readonly errorCount: number;
}

/** Latency and error figures of one operation of a service. Nanos are decimal strings. */
export interface OperationStatsJson {
  readonly operation: string;
  readonly spanCount: number;
  readonly errorCount: number;
  readonly errorRate: number;
  readonly p50Nanos: string;
  readonly p95Nanos: string;
  readonly p99Nanos: string;
}

/** Fetches one trace by id. */
export function fetchTrace(traceId: string, signal?: AbortSignal): Promise<TraceResponseJson> {
  return getJson(`/api/v1/traces/${encodeURIComponent(traceId)}`, signal);
}

/**
 * Fetches one trace by id as OTLP JSON `TracesData` (`?format=otlp`): each resource and scope
 * once rather than once per span, which halves a large trace's transfer and parse time.
 */
export function fetchTraceOtlp(traceId: string, signal?: AbortSignal): Promise<unknown> {
  return getJson(`/api/v1/traces/${encodeURIComponent(traceId)}?format=otlp`, signal);
}

/** Runs a search; `params` are passed through as the query string. */
export async function searchTraces(params: URLSearchParams, signal?: AbortSignal): Promise<TraceSummaryJson[]> {
  const body = await getJson<{ traces: TraceSummaryJson[] }>(`/api/v1/search?${params}`, signal);
  return body.traces;
}

/** A field of a matched span as a TraceQL search shows it (`status`, `service.name` …). */
export interface TraceQLFieldJson {
  readonly key: string;
  readonly field: string;
  readonly value: unknown;
}

/** One span of a matched spanset. Nanosecond fields are decimal strings. */
export interface TraceQLSpanJson {
  readonly spanId: string;
  readonly name: string;
  readonly service: string;
  readonly startUnixNano: string;
  readonly durationNanos: string;
  readonly attributes: readonly TraceQLFieldJson[];
}

/** A spanset a TraceQL query matched: its first spans, its size, its `by()`/aggregate values. */
export interface TraceQLSpanSetJson {
  readonly spans: readonly TraceQLSpanJson[];
  readonly matched: number;
  readonly attributes: readonly { readonly name: string; readonly value: unknown }[];
}

/** One trace in a TraceQL search answer: the summary and what the query matched in it. */
export interface TraceQLTraceJson extends TraceSummaryJson {
  readonly spanSets: readonly TraceQLSpanSetJson[];
}

/** `GET /api/v1/search?q=`: the traces, and how many the server read to find them. */
export interface TraceQLSearchJson {
  readonly traces: readonly TraceQLTraceJson[];
  readonly metrics: { readonly inspectedTraces: number; readonly truncated: boolean };
}

/** Options of a TraceQL search; times are unix ms. */
export interface TraceQLSearchOptions {
  readonly query: string;
  readonly start: number;
  readonly end: number;
  readonly limit: number;
  /** Spans returned per matched spanset (the server's `spss`). */
  readonly spansPerSpanSet: number;
}

/**
 * Runs a TraceQL search. A refused query throws `ApiError` with `traceql` set to where and why.
 */
export function searchTraceQL(options: TraceQLSearchOptions, signal?: AbortSignal): Promise<TraceQLSearchJson> {
  const p = new URLSearchParams({
    q: options.query,
    start: String(Math.floor(options.start)),
    end: String(Math.ceil(options.end)),
    limit: String(options.limit),
    spss: String(options.spansPerSpanSet),
  });
  return getJson(`/api/v1/search?${p}`, signal);
}

/** The attribute scopes the tags API lists names for. */
export type TagScope = 'span' | 'resource';

/**
 * Attribute names seen in a time window (unix ms), for autocompletion:
 * `GET /api/v1/tags?scope=&start=&end=` → `{scopes: [{name, tags}]}`, flattened to the names
 * of the asked scope.
 */
export async function fetchTagNames(scope: TagScope, start: number, end: number, signal?: AbortSignal) {
  const p = new URLSearchParams({ scope, start: String(Math.floor(start)), end: String(Math.ceil(end)) });
  const body = await getJson<{ scopes?: readonly { name?: unknown; tags?: unknown }[] }>(`/api/v1/tags?${p}`, signal);
  const names: string[] = [];
  for (const s of body.scopes ?? []) {
    if (s.name !== scope || !Array.isArray(s.tags)) continue;
    for (const t of s.tags) if (typeof t === 'string') names.push(t);
  }
  return names;
}

/** A typed attribute value from the tags API (`type` is `string`, `int`, `float`, `bool` …). */
export interface TagValueJson {
  readonly type: string;
  readonly value: string;
}

/**
 * Values of one field seen in a time window (unix ms), for autocompletion: `name` is the field as
 * written in a query (`resource.service.name`, `span.http.method`, `.order.id`, `name`, `status`);
 * with `where` (a TraceQL spanset filter), only values on spans it selects.
 */
export async function fetchTagValues(
  name: string,
  options: { readonly start: number; readonly end: number; readonly where?: string },
  signal?: AbortSignal,
) {
  const p = new URLSearchParams({ start: String(Math.floor(options.start)), end: String(Math.ceil(options.end)) });
  if (options.where) p.set('q', options.where);
  const path = `/api/v1/tags/${encodeURIComponent(name)}/values?${p}`;
  const body = await getJson<{ tagValues?: readonly { type?: unknown; value?: unknown }[] }>(path, signal);
  const values: TagValueJson[] = [];
  for (const v of body.tagValues ?? []) {
    if (typeof v.type === 'string' && typeof v.value === 'string') values.push({ type: v.type, value: v.value });
  }
  return values;
}

/** Lists the services that have sent spans. */
export async function fetchServices(signal?: AbortSignal): Promise<string[]> {
  return (await getJson<{ services: string[] }>('/api/v1/services', signal)).services;
}

/** Lists a service's operations (span names). */
export async function fetchOperations(service: string, signal?: AbortSignal): Promise<string[]> {
  const path = `/api/v1/services/${encodeURIComponent(service)}/operations`;
  return (await getJson<{ operations: string[] }>(path, signal)).operations;
}

/** Service-to-service edges in a time window (unix ms). */
export async function fetchDependencies(start: number, end: number, signal?: AbortSignal): Promise<DependencyJson[]> {
  const path = `/api/v1/dependencies?start=${start}&end=${end}`;
  return (await getJson<{ dependencies: DependencyJson[] }>(path, signal)).dependencies;
}

/** Per-operation latency and errors of one service in a time window (unix ms). */
export async function fetchServiceStats(
  service: string,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<OperationStatsJson[]> {
  const path = `/api/v1/services/${encodeURIComponent(service)}/stats?start=${start}&end=${end}`;
  return (await getJson<{ operations: OperationStatsJson[] }>(path, signal)).operations;
}
