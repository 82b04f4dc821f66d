import type { ApiSpanJson } from '@ariadne/core';

/**
 * The query API client. Every call goes to the same origin that served the app and returns
 * parsed JSON, or throws `ApiError` with the server's `{error, message}`.
 */

/** An error answer from the API, or a network failure (status 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
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
    try {
      const body = (await response.json()) as { error?: string; message?: string };
      if (body.error) code = body.error;
      if (body.message) message = body.message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, code, message);
  }
  return (await response.json()) as T;
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
