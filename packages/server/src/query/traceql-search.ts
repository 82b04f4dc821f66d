import { createTraceQLEvaluator, type Span, type TraceQLQuery, type TraceQLTraceMatch } from '@ariadne/core';
import type { SpanReader, TimeRange, TraceCandidate, TraceSummary } from './span-store.ts';
import { summarizeTrace } from './trace-summary.ts';
import { exactSpanPredicate, planTraceQL } from './traceql-plan.ts';

/** Options of a TraceQL search. */
export interface TraceQLSearchOptions extends TimeRange {
  /** Traces returned at most, newest first. */
  readonly limit: number;
  /** The query text, for error positions. */
  readonly source?: string;
  /**
   * Candidate traces evaluated before the search stops with what it found (default 20,000); it
   * stops after the page of candidates that reaches it.
   */
  readonly maxTracesEvaluated?: number;
}

/** A trace that matched, with its summary, spans and how it matched. */
export interface TraceQLHit {
  readonly summary: TraceSummary;
  readonly spans: readonly Span[];
  readonly match: TraceQLTraceMatch;
}

/** What a TraceQL search found. */
export interface TraceQLSearchResult {
  readonly traces: readonly TraceQLHit[];
  /** Candidate traces read and evaluated. */
  readonly tracesInspected: number;
  /** True when the search stopped at `maxTracesEvaluated` before running out of candidates. */
  readonly truncated: boolean;
}

const DEFAULT_MAX_EVALUATED = 20_000;
/** The fewest candidate traces read at once (a few round trips more at most, when few match). */
const MIN_READ_SLICE = 10;

/**
 * Runs a validated TraceQL query over a store: the store names candidate traces from what the
 * query requires of their spans (traceql-plan.ts), newest first, page after page; each candidate
 * is read whole and evaluated exactly (core's evaluator), until `limit` traces matched or the
 * candidates ran out. Results are newest first by their latest span meeting the query's span
 * conditions. A trace's spans are read whole, also those outside the window: the window selects
 * traces by the spans that meet the query's conditions.
 */
export async function searchTraceQL(
  reader: SpanReader,
  query: TraceQLQuery,
  options: TraceQLSearchOptions,
): Promise<TraceQLSearchResult> {
  const evaluator = createTraceQLEvaluator(query, { source: options.source });
  const requirements = planTraceQL(query);
  const limit = Math.max(1, Math.floor(options.limit));
  const maxEvaluated = options.maxTracesEvaluated ?? DEFAULT_MAX_EVALUATED;
  // The first page: with one requirement the store usually expressed the whole query, so about
  // `limit` candidates are enough; with several (`&&`, structural operators) the store cannot
  // check how the spans relate, so more candidates fail and twice as many are read at once. Each
  // further page doubles, up to 1,000.
  let page = Math.min(1_000, requirements.length > 1 ? Math.max(50, limit * 2) : limit);
  const seen = new Set<string>();
  const traces: TraceQLHit[] = [];
  let after: TraceCandidate | undefined;
  let inspected = 0;
  for (;;) {
    const candidates = await reader.findTraceCandidates({
      requirements,
      startUnixNano: options.startUnixNano,
      endUnixNano: options.endUnixNano,
      limit: page,
      after,
    });
    // A store may name a trace again on a later page (a duplicate row); it is evaluated once.
    const fresh = candidates.filter((c) => !seen.has(c.traceId));
    for (const c of fresh) seen.add(c.traceId);
    // Traces are read in slices of as many as are still missing: when most candidates match, the
    // search stops after reading `limit` traces, not the whole page.
    for (let next = 0; next < fresh.length; ) {
      const slice = fresh.slice(next, next + Math.max(MIN_READ_SLICE, limit - traces.length));
      next += slice.length;
      const spansById = await reader.getTraces(slice.map((c) => c.traceId));
      for (const c of slice) {
        const spans = spansById.get(c.traceId) ?? [];
        inspected++;
        if (spans.length === 0) continue;
        const match = evaluator.evaluate(spans);
        const summary = summarizeTrace(spans);
        if (match === undefined || summary === undefined) continue;
        traces.push({ summary, spans, match });
        if (traces.length >= limit) return { traces, tracesInspected: inspected, truncated: false };
      }
    }
    if (candidates.length < page) return { traces, tracesInspected: inspected, truncated: false };
    page = Math.min(1_000, page * 2);
    if (inspected >= maxEvaluated) return { traces, tracesInspected: inspected, truncated: true };
    after = candidates[candidates.length - 1];
  }
}

/**
 * A TraceQL search that returns summaries only (the form search): the same traces, in the same
 * order, as {@link searchTraceQL}. A query the store answers exactly (`exactSpanPredicate`: one
 * spanset filter on service, name, status and duration) takes a short way: the store's
 * candidates are the matches, and their summaries come from the store without reading spans
 * back. Any other query runs the whole search.
 */
export async function searchTraceSummaries(
  reader: SpanReader,
  query: TraceQLQuery,
  options: TraceQLSearchOptions,
): Promise<{ traces: TraceSummary[]; truncated: boolean }> {
  const predicate = exactSpanPredicate(query);
  if (predicate === undefined) {
    const result = await searchTraceQL(reader, query, options);
    return { traces: result.traces.map((hit) => hit.summary), truncated: result.truncated };
  }
  const candidates = await reader.findTraceCandidates({
    requirements: [{ predicate, minSpans: 1 }],
    startUnixNano: options.startUnixNano,
    endUnixNano: options.endUnixNano,
    limit: Math.max(1, Math.floor(options.limit)),
  });
  const summaries = candidates.length > 0 ? await reader.summarizeTraces(candidates.map((c) => c.traceId)) : new Map();
  return { traces: candidates.flatMap((c) => summaries.get(c.traceId) ?? []), truncated: false };
}
