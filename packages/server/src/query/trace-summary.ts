import { type Span, StatusCode } from '@ariadne/core';
import type { TraceSummary } from './span-store.ts';

/**
 * Summarises one trace from all its spans, the same way stores summarise search results: the root
 * is the earliest span without a parent (or the earliest span when the root is missing), the
 * duration runs from the earliest start to the latest end, and errors are spans with status ERROR.
 * Returns undefined for no spans.
 */
export function summarizeTrace(spans: readonly Span[]): TraceSummary | undefined {
  if (spans.length === 0) return undefined;
  let root: Span | undefined;
  let earliest = spans[0];
  let start = spans[0].startTimeUnixNano;
  let end = spans[0].endTimeUnixNano;
  let errorCount = 0;
  const services = new Set<string>();
  for (const span of spans) {
    if (span.startTimeUnixNano < earliest.startTimeUnixNano) earliest = span;
    if (span.parentSpanId === '' && (!root || span.startTimeUnixNano < root.startTimeUnixNano)) root = span;
    if (span.startTimeUnixNano < start) start = span.startTimeUnixNano;
    if (span.endTimeUnixNano > end) end = span.endTimeUnixNano;
    if (span.status.code === StatusCode.ERROR) errorCount++;
    services.add(span.serviceName);
  }
  const head = root ?? earliest;
  return {
    traceId: head.traceId,
    rootService: head.serviceName,
    rootName: head.name,
    startUnixNano: start,
    durationNanos: end - start,
    spanCount: spans.length,
    errorCount,
    services: [...services].sort(),
  };
}

/** A summary as JSON: nanosecond values as decimal strings. */
export function summaryToJson(summary: TraceSummary) {
  return {
    traceId: summary.traceId,
    rootService: summary.rootService,
    rootName: summary.rootName,
    startUnixNano: summary.startUnixNano.toString(),
    durationNanos: summary.durationNanos.toString(),
    spanCount: summary.spanCount,
    errorCount: summary.errorCount,
    services: summary.services,
  };
}
