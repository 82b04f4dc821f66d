import { compileTraceQL, type Span, type UnixNanos } from '@ariadne/core';
import type { SpanReader } from '../../query/span-store.ts';
import { searchTraceQL } from '../../query/traceql-search.ts';

/**
 * Jaeger's trace search (`GET /api/traces`, `GET /api/v3/traces`) over the query interface: the
 * conditions become one TraceQL spanset filter, run by the TraceQL search (candidates from the
 * store, each trace read whole and evaluated exactly), and the matching traces are returned
 * whole, as Jaeger returns them.
 *
 * As in Jaeger's own stores, every condition must hold for one and the same span: its service
 * and operation, its duration within `[min, max]`, its start in the window, and every tag. A tag
 * `key=value` matches what Jaeger would show as that tag of the span (compared as text, so `200`
 * finds the int 200 and `true` the boolean): a span attribute, a process tag (resource
 * attribute), a log field (event attribute, or `event` for the event's name), a scope attribute,
 * a link attribute, or one of the tags the OTLP mapping adds (`span.kind`, `error`,
 * `otel.status_code`, `otel.status_description`, `otel.scope.name`, `otel.scope.version`).
 * Not searchable: `w3c.tracestate` and the `otel.dropped_*_count` tags, and arrays or maps by
 * their JSON text (an array matches when one element equals the value, as TraceQL compares).
 */

/** The most traces a search returns: the Jaeger UI's own default maximum (`search.maxLimit`). */
export const MAX_LIMIT = 1500;

/** A Jaeger search, its parameters parsed. */
export interface JaegerSearch {
  readonly service?: string;
  readonly operation?: string;
  readonly tags: ReadonlyMap<string, string>;
  /** Inclusive bounds of a matching span's duration; undefined: none. */
  readonly minDurationNanos?: bigint;
  readonly maxDurationNanos?: bigint;
  /** The window a matching span starts in, `[start, end)`. */
  readonly startUnixNano: UnixNanos;
  readonly endUnixNano: UnixNanos;
  /** Traces returned at most. */
  readonly limit: number;
}

/** A TraceQL string literal (Go escapes): any text, quoted for a query. */
export function quote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** An attribute of a scope, its name quoted (any key is allowed, dots and spaces included). */
function attribute(scope: string, key: string): string {
  return `${scope}."${key.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const KIND_NAMES = new Set(['internal', 'server', 'client', 'producer', 'consumer']);
const INT64 = /^-?\d{1,19}$/;
const FLOAT = /^-?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$/;

/** The literals a tag value compares equal to: its text, and the number or boolean it spells. */
function literals(value: string): string[] {
  const out = [quote(value)];
  if (INT64.test(value) && BigInt(value) <= 2n ** 63n - 1n && BigInt(value) >= -(2n ** 63n) + 1n) {
    out.push(value);
  } else if (FLOAT.test(value) && Number.isFinite(Number(value))) {
    // A TraceQL float literal always has a fraction or an exponent.
    const n = String(Number(value));
    out.push(/[.e]/.test(n) ? n : `${n}.0`);
  }
  if (value === 'true' || value === 'false') out.push(value);
  return out;
}

/** One tag condition: the alternatives by which a span shows `key=value` in Jaeger. */
function tagCondition(key: string, value: string): string {
  const alternatives: string[] = [];
  const scopes = ['span', 'event', 'link', 'instrumentation'];
  // `service.name` is the process's name, never one of its tags.
  if (key !== 'service.name') scopes.push('resource');
  for (const scope of scopes)
    for (const literal of literals(value)) alternatives.push(`${attribute(scope, key)} = ${literal}`);
  if (key === 'span.kind' && KIND_NAMES.has(value)) alternatives.push(`kind = ${value}`);
  if (key === 'error' && value === 'true') alternatives.push('status = error');
  if (key === 'otel.status_code' && value === 'ERROR') alternatives.push('status = error');
  if (key === 'otel.status_code' && value === 'OK') alternatives.push('status = ok');
  if (key === 'otel.status_description') alternatives.push(`statusMessage = ${quote(value)}`);
  if (key === 'otel.scope.name' || key === 'otel.library.name')
    alternatives.push(`instrumentation:name = ${quote(value)}`);
  if (key === 'otel.scope.version' || key === 'otel.library.version') {
    alternatives.push(`instrumentation:version = ${quote(value)}`);
  }
  if (key === 'event') alternatives.push(`event:name = ${quote(value)}`);
  return `(${alternatives.join(' || ')})`;
}

/** The TraceQL query of a Jaeger search (its time window and limit aside). */
export function jaegerSearchToTraceQL(search: JaegerSearch): string {
  const conditions: string[] = [];
  if (search.service) conditions.push(`resource.service.name = ${quote(search.service)}`);
  if (search.operation) conditions.push(`name = ${quote(search.operation)}`);
  if (search.minDurationNanos) conditions.push(`duration >= ${search.minDurationNanos}ns`);
  if (search.maxDurationNanos) conditions.push(`duration <= ${search.maxDurationNanos}ns`);
  for (const [key, value] of search.tags) conditions.push(tagCondition(key, value));
  return conditions.length === 0 ? '{ }' : `{ ${conditions.join(' && ')} }`;
}

/** Runs a Jaeger search: the spans of each matching trace, newest trace first. */
export async function findJaegerTraces(reader: SpanReader, search: JaegerSearch): Promise<Span[][]> {
  const source = jaegerSearchToTraceQL(search);
  const result = await searchTraceQL(reader, compileTraceQL(source), {
    startUnixNano: search.startUnixNano,
    endUnixNano: search.endUnixNano,
    limit: search.limit,
    source,
  });
  return result.traces.map((hit) => [...hit.spans]);
}
