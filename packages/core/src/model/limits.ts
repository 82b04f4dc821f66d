import type { InstrumentationScope, KeyValue, Resource, Span, SpanEvent, SpanLink } from './span.ts';

/**
 * What Ariadne keeps of one span at most: beyond, items are dropped at ingest and counted in the
 * span's OTLP `dropped_*_count` fields, as the OpenTelemetry SDKs do with their span limits
 * (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` and the others, 128 by default). Without a bound, one span
 * with a million attributes held up every other client's spans for seconds (issue 16); no SDK
 * with default limits comes near these.
 */
export const SPAN_LIMITS = {
  /** Attributes of a span, event, link, resource or scope. */
  attributes: 1024,
  /** Events of a span. */
  events: 1024,
  /** Links of a span. */
  links: 1024,
} as const;

/** Adds `n` to a dropped count, saturating at the largest uint32 (the OTLP field's type). */
export function addDropped(count: number, n: number): number {
  return Math.min(count + n, 0xffffffff);
}

/**
 * Resources and scopes already limited, so that spans sharing one object share its limited copy
 * (stores recognise a resource by its object): one per decoder run, held by its caller.
 */
export type LimitedHeads = WeakMap<Resource | InstrumentationScope, Resource | InstrumentationScope>;

/** A resource or scope within the limits, and how many attributes were dropped from it just now. */
function limitHead<T extends Resource | InstrumentationScope>(
  head: T,
  limitedHeads: LimitedHeads,
): { readonly head: T; readonly dropped: number } {
  if (head.attributes.length <= SPAN_LIMITS.attributes) return { head, dropped: 0 };
  const known = limitedHeads.get(head) as T | undefined;
  if (known !== undefined) return { head: known, dropped: 0 };
  const dropped = head.attributes.length - SPAN_LIMITS.attributes;
  const limited = {
    ...head,
    attributes: head.attributes.slice(0, SPAN_LIMITS.attributes),
    droppedAttributesCount: addDropped(head.droppedAttributesCount, dropped),
  };
  limitedHeads.set(head, limited);
  return { head: limited, dropped };
}

function limitAttributed<T extends SpanEvent | SpanLink>(item: T): T {
  if (item.attributes.length <= SPAN_LIMITS.attributes) return item;
  return {
    ...item,
    attributes: item.attributes.slice(0, SPAN_LIMITS.attributes),
    droppedAttributesCount: addDropped(item.droppedAttributesCount, item.attributes.length - SPAN_LIMITS.attributes),
  };
}

function over(list: readonly { readonly attributes: readonly KeyValue[] }[]): number {
  let n = 0;
  for (const item of list)
    if (item.attributes.length > SPAN_LIMITS.attributes) n += item.attributes.length - SPAN_LIMITS.attributes;
  return n;
}

/**
 * The span within `SPAN_LIMITS` (itself when it already is, the common case, checked in a few
 * comparisons), and how many of the span's own attributes, events and links (with theirs) were
 * dropped. Attributes dropped from its resource or scope are counted in their dropped counts,
 * not the span's, and in `droppedFromHeads` once: when `heads` first limits them.
 */
export function limitSpan(
  span: Span,
  heads: LimitedHeads = new WeakMap(),
): { readonly span: Span; readonly dropped: number; readonly droppedFromHeads: number } {
  const droppedHere =
    Math.max(0, span.attributes.length - SPAN_LIMITS.attributes) +
    Math.max(0, span.events.length - SPAN_LIMITS.events) +
    Math.max(0, span.links.length - SPAN_LIMITS.links) +
    over(span.events.length > SPAN_LIMITS.events ? span.events.slice(0, SPAN_LIMITS.events) : span.events) +
    over(span.links.length > SPAN_LIMITS.links ? span.links.slice(0, SPAN_LIMITS.links) : span.links);
  const limitedResource = limitHead(span.resource, heads);
  const limitedScope = limitHead(span.scope, heads);
  const resource = limitedResource.head;
  const scope = limitedScope.head;
  const droppedFromHeads = limitedResource.dropped + limitedScope.dropped;
  if (droppedHere === 0 && resource === span.resource && scope === span.scope) {
    return { span, dropped: 0, droppedFromHeads };
  }
  const events = span.events.slice(0, SPAN_LIMITS.events).map(limitAttributed);
  const links = span.links.slice(0, SPAN_LIMITS.links).map(limitAttributed);
  return {
    span: {
      ...span,
      attributes: span.attributes.slice(0, SPAN_LIMITS.attributes),
      droppedAttributesCount: addDropped(
        span.droppedAttributesCount,
        Math.max(0, span.attributes.length - SPAN_LIMITS.attributes),
      ),
      events,
      droppedEventsCount: addDropped(span.droppedEventsCount, Math.max(0, span.events.length - SPAN_LIMITS.events)),
      links,
      droppedLinksCount: addDropped(span.droppedLinksCount, Math.max(0, span.links.length - SPAN_LIMITS.links)),
      resource,
      scope,
    },
    dropped: droppedHere,
    droppedFromHeads,
  };
}
