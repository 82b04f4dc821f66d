import { type Span, unixNanos } from '@ariadne/core';
import { decodeAttribute, encodeAttribute } from '../attribute-codec.ts';
import {
  eventsFromText,
  eventsToText,
  linksFromText,
  linksToText,
  resourceBody,
  resourceFromBody,
  scopeBody,
  scopeFromBody,
} from '../span-text.ts';

/**
 * Spans to the JSONEachRow lines of the ClickHouse tables and back: pure, no I/O. 64-bit
 * integers travel as decimal strings (ClickHouse reads and writes them so in JSON formats);
 * attributes are the encoded strings of attribute-codec.ts, so an attribute filter is one
 * `hasAny` over candidates.
 */

export const NANOS_PER_DAY = 86_400_000_000_000n;

export const SPAN_COLUMNS = [
  'trace_id',
  'span_id',
  'parent_span_id',
  'start_ns',
  'duration_ns',
  'service',
  'name',
  'kind',
  'status_code',
  'status_message',
  'trace_state',
  'flags',
  'attributes',
  'dropped_attributes',
  'events',
  'dropped_events',
  'links',
  'dropped_links',
  'resource',
  'scope',
] as const;

export const INDEX_COLUMNS = [
  'service',
  'name',
  'start_ns',
  'duration_ns',
  'status_code',
  'trace_id',
  'span_id',
  'parent_span_id',
  'attrs',
] as const;

export const OPERATION_COLUMNS = ['day', 'service', 'name'] as const;

/** The rows of one write, as JSONEachRow text per table. */
export interface SpanRows {
  readonly spans: string;
  readonly index: string;
  readonly operations: string;
}

/** One write's rows: every span into `spans` and `span_index`, each day's (service, name) pairs once. */
export function spanRows(spans: readonly Span[]): SpanRows {
  let spanLines = '';
  let indexLines = '';
  const operations = new Set<string>();
  let operationLines = '';
  const resourceCache = new Map<object, { body: string; attrs: string[] }>();
  const scopeCache = new Map<object, string>();
  for (const span of spans) {
    let resource = resourceCache.get(span.resource);
    if (resource === undefined) {
      resource = { body: resourceBody(span.resource), attrs: span.resource.attributes.map(encodeAttribute) };
      resourceCache.set(span.resource, resource);
    }
    let scope = scopeCache.get(span.scope);
    if (scope === undefined) {
      scope = scopeBody(span.scope);
      scopeCache.set(span.scope, scope);
    }
    const start = span.startTimeUnixNano.toString();
    const duration = (span.endTimeUnixNano - span.startTimeUnixNano).toString();
    const attributes = span.attributes.map(encodeAttribute);
    spanLines += `${JSON.stringify({
      trace_id: span.traceId,
      span_id: span.spanId,
      parent_span_id: span.parentSpanId,
      start_ns: start,
      duration_ns: duration,
      service: span.serviceName,
      name: span.name,
      kind: span.kind,
      status_code: span.status.code,
      status_message: span.status.message,
      trace_state: span.traceState,
      flags: span.flags,
      attributes,
      dropped_attributes: span.droppedAttributesCount,
      events: span.events.length === 0 ? '' : eventsToText(span.events),
      dropped_events: span.droppedEventsCount,
      links: span.links.length === 0 ? '' : linksToText(span.links),
      dropped_links: span.droppedLinksCount,
      resource: resource.body,
      scope,
    })}\n`;
    indexLines += `${JSON.stringify({
      service: span.serviceName,
      name: span.name,
      start_ns: start,
      duration_ns: duration,
      status_code: span.status.code,
      trace_id: span.traceId,
      span_id: span.spanId,
      parent_span_id: span.parentSpanId,
      attrs: resource.attrs.length === 0 ? attributes : attributes.concat(resource.attrs),
    })}\n`;
    const day = Number(span.startTimeUnixNano / NANOS_PER_DAY);
    const key = JSON.stringify([day, span.serviceName, span.name]);
    if (!operations.has(key)) {
      operations.add(key);
      operationLines += `${JSON.stringify({ day, service: span.serviceName, name: span.name })}\n`;
    }
  }
  return { spans: spanLines, index: indexLines, operations: operationLines };
}

/** A row of `spans` as ClickHouse returns it in JSONEachRow. */
export interface StoredSpanRow {
  readonly trace_id: string;
  readonly span_id: string;
  readonly parent_span_id: string;
  readonly start_ns: string;
  readonly duration_ns: string;
  readonly service: string;
  readonly name: string;
  readonly kind: number;
  readonly status_code: number;
  readonly status_message: string;
  readonly trace_state: string;
  readonly flags: number;
  readonly attributes: string[];
  readonly dropped_attributes: number;
  readonly events: string;
  readonly dropped_events: number;
  readonly links: string;
  readonly dropped_links: number;
  readonly resource: string;
  readonly scope: string;
}

/**
 * The spans of stored rows, ordered by start (then span id), each span once even if a retried
 * insert stored it twice. Resources, scopes and attributes shared by many spans are decoded once.
 */
export function spansFromRows(rows: readonly StoredSpanRow[]): Span[] {
  const resources = new Map<string, Span['resource']>();
  const scopes = new Map<string, Span['scope']>();
  const attributes = new Map<string, Span['attributes'][number]>();
  const seen = new Set<string>();
  const spans: Span[] = [];
  for (const row of rows) {
    if (seen.has(row.span_id)) continue;
    seen.add(row.span_id);
    let resource = resources.get(row.resource);
    if (resource === undefined) {
      resource = resourceFromBody(row.resource);
      resources.set(row.resource, resource);
    }
    let scope = scopes.get(row.scope);
    if (scope === undefined) {
      scope = scopeFromBody(row.scope);
      scopes.set(row.scope, scope);
    }
    const start = BigInt(row.start_ns);
    spans.push({
      traceId: row.trace_id,
      spanId: row.span_id,
      parentSpanId: row.parent_span_id,
      traceState: row.trace_state,
      flags: Number(row.flags),
      name: row.name,
      kind: Number(row.kind),
      startTimeUnixNano: unixNanos(start),
      endTimeUnixNano: unixNanos(start + BigInt(row.duration_ns)),
      attributes: row.attributes.map((text) => {
        let kv = attributes.get(text);
        if (kv === undefined) {
          kv = decodeAttribute(text);
          attributes.set(text, kv);
        }
        return kv;
      }),
      droppedAttributesCount: Number(row.dropped_attributes),
      events: row.events === '' ? [] : eventsFromText(row.events),
      droppedEventsCount: Number(row.dropped_events),
      links: row.links === '' ? [] : linksFromText(row.links),
      droppedLinksCount: Number(row.dropped_links),
      status: { code: Number(row.status_code), message: row.status_message },
      serviceName: row.service,
      resource,
      scope,
    });
  }
  spans.sort((a, b) =>
    a.startTimeUnixNano < b.startTimeUnixNano
      ? -1
      : a.startTimeUnixNano > b.startTimeUnixNano
        ? 1
        : a.spanId < b.spanId
          ? -1
          : a.spanId > b.spanId
            ? 1
            : 0,
  );
  return spans;
}
