import { type UnixNanos, unixNanos, ZIPKIN_REMOTE_NAME_ATTRIBUTES, zipkinTraceId } from '@ariadne/core';

/**
 * Zipkin's query parameters, checked and translated as Zipkin's `QueryRequest` and
 * `ZipkinQueryApiV2` do (spec: /work/shared/specs/compat-apis.md §3.2): times in milliseconds
 * (`endTs`, `lookback`), durations in microseconds, `""` and `all` for any span name,
 * `annotationQuery` split on ` and `. Pure: no HTTP, no store.
 */

/** A parameter Zipkin would refuse: 400 with this message as text. */
export class ZipkinRequestError extends Error {
  override readonly name = 'ZipkinRequestError';
}

/** Zipkin's default `zipkin.query.lookback`: one day, in milliseconds. */
export const DEFAULT_LOOKBACK_MS = 86_400_000;
/** Zipkin's default `limit` of a trace search. */
export const DEFAULT_TRACE_LIMIT = 10;
/** The most traces one search returns. */
export const MAX_TRACE_LIMIT = 1000;

function shown(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** A Java `long` parameter: an optionally signed decimal integer (range checks follow). */
export function parseLong(text: string, name: string): number {
  if (!/^-?\d{1,16}$/.test(text)) throw new ZipkinRequestError(`${name}: expected an integer, got ${shown(text)}`);
  return Number(text);
}

/** One `annotationQuery` term: a tag `key=value`, or a bare word (`value` empty). */
export interface AnnotationTerm {
  readonly key: string;
  readonly value: string;
}

/**
 * Parses `annotationQuery` as Zipkin does: terms separated by ` and `; `key=value` (split at the
 * first `=`, both sides trimmed) wants that tag, a bare word an annotation with that value or a
 * tag with that key. Empty terms are skipped; a later term for the same key replaces an earlier.
 */
export function parseAnnotationQuery(text: string): AnnotationTerm[] {
  const terms = new Map<string, string>();
  for (const part of text.split(' and ')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    if (key === '') continue;
    terms.set(key, eq < 0 ? '' : part.slice(eq + 1).trim());
  }
  return [...terms].map(([key, value]) => ({ key, value }));
}

/** A Zipkin trace search (`GET /api/v2/traces`), checked. */
export interface ZipkinTraceQuery {
  readonly serviceName?: string;
  readonly remoteServiceName?: string;
  readonly spanName?: string;
  readonly annotationQuery: readonly AnnotationTerm[];
  readonly minDurationMicros?: number;
  readonly maxDurationMicros?: number;
  /** The window, from `endTs − lookback` to `endTs` inclusive. */
  readonly startUnixNano: UnixNanos;
  readonly endUnixNano: UnixNanos;
  readonly limit: number;
}

const TRACE_PARAMS = new Set([
  'serviceName',
  'remoteServiceName',
  'spanName',
  'annotationQuery',
  'minDuration',
  'maxDuration',
  'endTs',
  'lookback',
  'limit',
]);

/** The window `[endTs − lookback, endTs]` in milliseconds, as a half-open nanosecond range. */
export function millisWindow(endTs: number, lookback: number): { startUnixNano: UnixNanos; endUnixNano: UnixNanos } {
  const end = BigInt(endTs) * 1_000_000n;
  const start = end - BigInt(lookback) * 1_000_000n;
  // Inclusive of the end's microsecond, as Zipkin compares microseconds.
  return { startUnixNano: unixNanos(start < 0n ? 0n : start), endUnixNano: unixNanos(end + 1000n) };
}

/**
 * Checks a trace search's parameters as Zipkin's `QueryRequest` does: `minDuration` > 0,
 * `maxDuration` only with `minDuration` and not below it, `endTs`, `lookback` and `limit` > 0
 * (and `limit` at most `MAX_TRACE_LIMIT`). `serviceName` and `remoteServiceName` may be empty
 * (any); `spanName` may also be `all`. Unknown parameters are ignored, as Zipkin does.
 */
export function parseTraceQuery(
  query: Readonly<Record<string, string | undefined>>,
  defaults: { readonly nowMillis: number; readonly lookbackMillis: number },
): ZipkinTraceQuery {
  const get = (name: string) => (TRACE_PARAMS.has(name) ? query[name] : undefined);
  const optional = (name: string, any: readonly string[] = ['']) => {
    const value = get(name);
    return value === undefined || any.includes(value) ? undefined : value;
  };
  const long = (name: string) => {
    const value = get(name);
    return value === undefined || value === '' ? undefined : parseLong(value, name);
  };
  const minDurationMicros = long('minDuration');
  const maxDurationMicros = long('maxDuration');
  if (minDurationMicros !== undefined) {
    if (minDurationMicros <= 0) throw new ZipkinRequestError('minDuration <= 0');
    if (maxDurationMicros !== undefined && maxDurationMicros < minDurationMicros) {
      throw new ZipkinRequestError('maxDuration < minDuration');
    }
  } else if (maxDurationMicros !== undefined) {
    throw new ZipkinRequestError('maxDuration is only valid with minDuration');
  }
  const endTs = long('endTs') ?? defaults.nowMillis;
  if (endTs <= 0) throw new ZipkinRequestError('endTs <= 0');
  const lookback = long('lookback') ?? defaults.lookbackMillis;
  if (lookback <= 0) throw new ZipkinRequestError('lookback <= 0');
  const limit = long('limit') ?? DEFAULT_TRACE_LIMIT;
  if (limit <= 0) throw new ZipkinRequestError('limit <= 0');
  if (limit > MAX_TRACE_LIMIT) throw new ZipkinRequestError(`limit > ${MAX_TRACE_LIMIT}`);
  return {
    serviceName: optional('serviceName'),
    remoteServiceName: optional('remoteServiceName', ['', 'all']),
    spanName: optional('spanName', ['', 'all']),
    annotationQuery: parseAnnotationQuery(get('annotationQuery') ?? ''),
    minDurationMicros,
    maxDurationMicros,
    ...millisWindow(endTs, lookback),
    limit,
  };
}

/** A TraceQL string literal. */
function literal(text: string): string {
  return JSON.stringify(text);
}

/** An unscoped TraceQL attribute (span or resource), quoted. */
function attribute(key: string): string {
  return `."${key.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A tag condition: the text, or the same number or boolean as OTLP typed it. */
function tagEquals(key: string, value: string): string {
  const options = [`${attribute(key)} = ${literal(value)}`];
  if (/^-?\d{1,18}$/.test(value)) options.push(`${attribute(key)} = ${value}`);
  else if (/^-?\d+\.\d+$/.test(value) && Number.isFinite(Number(value))) options.push(`${attribute(key)} = ${value}`);
  else if (value === 'true' || value === 'false') options.push(`${attribute(key)} = ${value}`);
  if (key === 'error') options.push(`(status = error && statusMessage = ${literal(value)})`);
  return options.length === 1 ? options[0] : `(${options.join(' || ')})`;
}

function annotationCondition(term: AnnotationTerm): string {
  if (term.value !== '') return tagEquals(term.key, term.value);
  const options = [`event:name = ${literal(term.key)}`, `${attribute(term.key)} != nil`];
  // An ERROR status reads back as an `error` tag.
  if (term.key === 'error') options.push('status = error');
  return `(${options.join(' || ')})`;
}

/** Where a span's remote endpoint name comes from besides `peer.service` (core's mapping's keys). */
export const REMOTE_NAME_ATTRIBUTES: readonly string[] = ZIPKIN_REMOTE_NAME_ATTRIBUTES;

/**
 * The span condition of `remoteServiceName`: `peer.service` (where a Zipkin remote endpoint's name
 * is kept) is `name`, or a CLIENT or PRODUCER span has `name` in one of `REMOTE_NAME_ATTRIBUTES`,
 * so that a name `/remoteServices` lists finds the spans it was listed for. Looser than the
 * mapping, which takes the first of these present: a span with `peer.service` "cart" and
 * `server.address` "cart.internal" is found by both names.
 */
export function remoteNameCondition(name: string): string {
  const value = literal(name);
  const host = REMOTE_NAME_ATTRIBUTES.map((key) => `span."${key}" = ${value}`).join(' || ');
  return `(span."peer.service" = ${value} || ((kind = client || kind = producer) && (${host})))`;
}

/**
 * The TraceQL query that finds what a Zipkin search asks for: one spanset per condition, each
 * also on the queried service, joined with `&&`. As in Zipkin, the conditions may be met by
 * different spans of that service; the durations by one span.
 * ```
 * serviceName=api spanName=get annotationQuery="retried and http.status_code=500"
 *   { resource.service.name = "api" && name = "get" }
 *   && { resource.service.name = "api" && (event:name = "retried" || ."retried" != nil) }
 *   && { resource.service.name = "api" && (."http.status_code" = "500" || ."http.status_code" = 500) }
 * ```
 * `remoteServiceName` matches what a remote endpoint's name is read from (`remoteNameCondition`).
 */
export function zipkinTraceQL(query: ZipkinTraceQuery): string {
  const conditions: string[] = [];
  if (query.spanName !== undefined) conditions.push(`name = ${literal(query.spanName)}`);
  if (query.remoteServiceName !== undefined) conditions.push(remoteNameCondition(query.remoteServiceName));
  for (const term of query.annotationQuery) conditions.push(annotationCondition(term));
  if (query.minDurationMicros !== undefined) {
    const max = query.maxDurationMicros === undefined ? '' : ` && duration <= ${query.maxDurationMicros}us`;
    conditions.push(`duration >= ${query.minDurationMicros}us${max}`);
  }
  const service = query.serviceName === undefined ? undefined : `resource.service.name = ${literal(query.serviceName)}`;
  if (conditions.length === 0) return service === undefined ? '{ }' : `{ ${service} }`;
  return conditions.map((c) => (service === undefined ? `{ ${c} }` : `{ ${service} && ${c} }`)).join(' && ');
}

/**
 * A trace id from a path or list, as Zipkin's `Span.normalizeTraceId` reads it (trimmed, 1 to 32
 * hex digits, either case, not all zeros): the 32-digit id Ariadne stores it under, and the form
 * Zipkin prints (16 digits when the upper half is zero).
 */
export function parseZipkinTraceId(text: string): { stored: string; zipkin: string } {
  const id = text.trim();
  if (!/^[0-9a-fA-F]{1,32}$/.test(id)) {
    throw new ZipkinRequestError(`traceId should be a 1 to 32 character hex string, got ${shown(id)}`);
  }
  if (/^0+$/.test(id)) throw new ZipkinRequestError('traceId is all zeros');
  const stored = id.toLowerCase().padStart(32, '0');
  return { stored, zipkin: zipkinTraceId(id.length > 16 ? stored : stored.slice(16)) };
}
