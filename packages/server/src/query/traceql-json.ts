import { formatGoDuration, type Span, type TraceQLValue } from '@ariadne/core';
import { summaryToJson } from './trace-summary.ts';
import type { TraceQLHit } from './traceql-search.ts';

/**
 * A TraceQL value as JSON, as Tempo renders fields in search results: strings, booleans and
 * numbers as themselves (an int beyond 2^53 as its decimal text), durations as Go duration text
 * (`1.5s`), status and kind as their words, arrays as arrays, nil as null.
 */
export function traceQLValueJson(value: TraceQLValue): unknown {
  switch (value.type) {
    case 'nil':
      return null;
    case 'int':
      return Number.isSafeInteger(Number(value.value)) ? Number(value.value) : value.value.toString();
    case 'float':
      return Number.isFinite(value.value) ? value.value : String(value.value);
    case 'duration':
      return formatGoDuration(value.value as bigint);
    case 'array':
      return value.value.map(traceQLValueJson);
    default:
      return value.value;
  }
}

/**
 * One matching trace as the search API returns it: its summary, and its matched spansets with
 * at most `spansPerSpanset` spans each (the earliest), `matched` being the spanset's size before
 * the cut; each span with the fields the query read or selected.
 */
export function traceQLHitJson(hit: TraceQLHit, spansPerSpanset: number) {
  const spanJson = (span: Span) => ({
    spanId: span.spanId,
    name: span.name,
    service: span.serviceName,
    startUnixNano: span.startTimeUnixNano.toString(),
    durationNanos: (span.endTimeUnixNano - span.startTimeUnixNano).toString(),
    attributes: hit.match.fieldsOf(span).map((f) => ({ key: f.key, field: f.field, value: traceQLValueJson(f.value) })),
  });
  return {
    ...summaryToJson(hit.summary),
    spanSets: hit.match.spansets.map((set) => ({
      spans: set.spans.slice(0, spansPerSpanset).map(spanJson),
      matched: set.matched,
      attributes: set.attributes.map((a) => ({ name: a.name, value: traceQLValueJson(a.value) })),
    })),
  };
}
