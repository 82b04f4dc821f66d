import { compileTraceQL, formSearchToTraceQL } from '@ariadne/core';
import type { SpanReader, TraceQuery, TraceSummary } from './span-store.ts';
import { searchTraceSummaries } from './traceql-search.ts';

/**
 * The search form (`/api/v1/search`'s form parameters, the CLI's flags, the bench's searches) run
 * as the TraceQL query it stands for: one search path. The form becomes one spanset filter
 * (core's `formSearchToTraceQL`: every condition on one span, an attribute matched by its text),
 * and the TraceQL search pages the store's candidates and evaluates each trace exactly. Returns
 * the summaries of the newest `query.limit` matching traces, newest first by their latest span
 * matching in the window, with the TraceQL query that ran.
 */
export async function searchForm(
  reader: SpanReader,
  query: TraceQuery,
): Promise<{ traces: TraceSummary[]; traceQL: string; truncated: boolean }> {
  const traceQL = formSearchToTraceQL({
    service: query.service,
    operation: query.operation,
    status: query.status,
    minDurationNanos: query.minDurationNanos,
    maxDurationNanos: query.maxDurationNanos,
    attributes: query.attributes,
  });
  const result = await searchTraceSummaries(reader, compileTraceQL(traceQL), {
    startUnixNano: query.startUnixNano,
    endUnixNano: query.endUnixNano,
    limit: query.limit,
    source: traceQL,
  });
  return { ...result, traceQL };
}

/** The summaries {@link searchForm} finds, for callers that need nothing else. */
export async function searchFormSummaries(reader: SpanReader, query: TraceQuery): Promise<TraceSummary[]> {
  return (await searchForm(reader, query)).traces;
}
