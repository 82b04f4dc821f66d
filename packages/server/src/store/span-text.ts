import { type InstrumentationScope, type Resource, type SpanEvent, type SpanLink, unixNanos } from '@ariadne/core';
import {
  ATTR_SEP,
  attributesFromJsonText,
  attributesToJsonText,
  decodeAttribute,
  encodeAttributeList,
} from './attribute-codec.ts';

/**
 * The text forms in which stores keep the parts of a span that are read back whole, never searched:
 * resources, scopes, events and links. Each `…Body`/`…ToText` has its inverse here.
 */

/** A resource as stored in `resources.body` (read back by the store). */
export function resourceBody(resource: Resource): string {
  return JSON.stringify({
    attributes: JSON.parse(attributesToJsonText(resource.attributes)),
    droppedAttributesCount: resource.droppedAttributesCount,
    schemaUrl: resource.schemaUrl,
  });
}

/** A scope as stored in `scopes.body`. */
export function scopeBody(scope: InstrumentationScope): string {
  return JSON.stringify({
    name: scope.name,
    version: scope.version,
    attributes: JSON.parse(attributesToJsonText(scope.attributes)),
    droppedAttributesCount: scope.droppedAttributesCount,
    schemaUrl: scope.schemaUrl,
  });
}

/** A span's events as stored in `spans.events`. */
export function eventsToText(events: readonly SpanEvent[]): string {
  return JSON.stringify(
    events.map((e) => [e.timeUnixNano.toString(), e.name, encodeAttributeList(e.attributes), e.droppedAttributesCount]),
  );
}

/** A span's links as stored in `spans.links`. */
export function linksToText(links: readonly SpanLink[]): string {
  return JSON.stringify(
    links.map((l) => [
      l.traceId,
      l.spanId,
      l.traceState,
      encodeAttributeList(l.attributes),
      l.droppedAttributesCount,
      l.flags,
    ]),
  );
}

/** Inverse of `resourceBody`. */
export function resourceFromBody(body: string): Resource {
  const o = JSON.parse(body) as { attributes: unknown; droppedAttributesCount: number; schemaUrl: string };
  return {
    attributes: attributesFromJsonText(JSON.stringify(o.attributes)),
    droppedAttributesCount: o.droppedAttributesCount,
    schemaUrl: o.schemaUrl,
  };
}

/** Inverse of `scopeBody`. */
export function scopeFromBody(body: string): InstrumentationScope {
  const o = JSON.parse(body) as {
    name: string;
    version: string;
    attributes: unknown;
    droppedAttributesCount: number;
    schemaUrl: string;
  };
  return {
    name: o.name,
    version: o.version,
    attributes: attributesFromJsonText(JSON.stringify(o.attributes)),
    droppedAttributesCount: o.droppedAttributesCount,
    schemaUrl: o.schemaUrl,
  };
}

/** Inverse of `eventsToText`. */
export function eventsFromText(text: string): SpanEvent[] {
  return (JSON.parse(text) as [string, string, string, number][]).map(([time, name, attrs, dropped]) => ({
    timeUnixNano: unixNanos(BigInt(time)),
    name,
    attributes: attrs === '' ? [] : attrs.split(ATTR_SEP).map(decodeAttribute),
    droppedAttributesCount: dropped,
  }));
}

/** Inverse of `linksToText`. */
export function linksFromText(text: string): SpanLink[] {
  return (JSON.parse(text) as [string, string, string, string, number, number][]).map(
    ([traceId, spanId, traceState, attrs, dropped, flags]) => ({
      traceId,
      spanId,
      traceState,
      attributes: attrs === '' ? [] : attrs.split(ATTR_SEP).map(decodeAttribute),
      droppedAttributesCount: dropped,
      flags,
    }),
  );
}
