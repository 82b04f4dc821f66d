import type { Span } from '../model/span.ts';
import { ancestorChain, type BuildTraceOptions, buildTrace, type Trace, type TraceWarningCode } from './build-trace.ts';
import { type CriticalPath, criticalPath, criticalPathSections } from './critical-path.ts';
import { type Dependencies, traceDependencies } from './dependencies.ts';
import { analyzeErrors, type ErrorAnalysis, type ErrorOutcome } from './errors.ts';
import { type TimeBreakdown, timeByService } from './time-by-service.ts';

/**
 * All analyses of one trace in one call, and their JSON form (what `ariadne analyze --json`
 * prints, one object per trace).
 */

/** Every analysis of one trace. */
export interface TraceAnalysis {
  readonly trace: Trace;
  readonly criticalPath: CriticalPath;
  readonly time: TimeBreakdown;
  readonly errors: ErrorAnalysis;
  readonly dependencies: Dependencies;
}

/** The spans of one trace id, as grouped by `splitByTrace`. */
export interface TraceSpans {
  readonly traceId: string;
  readonly spans: readonly Span[];
}

/** Groups spans by trace id, traces in order of their first span. Does not repair anything. */
export function splitByTrace(spans: readonly Span[]): TraceSpans[] {
  const groups = new Map<string, Span[]>();
  for (const span of spans) {
    const group = groups.get(span.traceId);
    if (group) group.push(span);
    else groups.set(span.traceId, [span]);
  }
  return [...groups].map(([traceId, list]) => ({ traceId, spans: list }));
}

/** Builds the trace (see `buildTrace`) and runs the critical path, time, error and dependency analyses. */
export function analyzeTrace(spans: readonly Span[], options: BuildTraceOptions = {}): TraceAnalysis {
  const trace = buildTrace(spans, options);
  const path = criticalPath(trace);
  const errors = analyzeErrors(trace);
  return {
    trace,
    criticalPath: path,
    time: timeByService(trace, path),
    errors,
    dependencies: traceDependencies(trace, errors.isError),
  };
}

/** A critical-path section in JSON: unix nanoseconds as decimal strings. */
export interface CriticalPathSectionJson {
  readonly spanId: string;
  readonly startUnixNano: string;
  readonly endUnixNano: string;
}

/** One trace as `ariadne analyze --json` prints it. Nanoseconds are decimal strings. */
export interface TraceAnalysisJson {
  readonly traceId: string;
  readonly rootService: string;
  readonly rootName: string;
  readonly rootSpanId: string;
  /** From the earliest start to the latest end of any span. */
  readonly durationNanos: string;
  readonly spanCount: number;
  readonly errorCount: number;
  /** The critical path of the main root. */
  readonly criticalPath: readonly CriticalPathSectionJson[];
  /** The critical paths of the other roots (orphan subtrees, extra roots). */
  readonly otherCriticalPaths: readonly { rootSpanId: string; sections: readonly CriticalPathSectionJson[] }[];
  readonly timeByService: Readonly<Record<string, { selfNanos: string; criticalPathNanos: string; spanCount: number }>>;
  readonly timeByOperation: readonly {
    service: string;
    name: string;
    selfNanos: string;
    criticalPathNanos: string;
    spanCount: number;
  }[];
  readonly errors: readonly {
    spanId: string;
    service: string;
    name: string;
    outcome: ErrorOutcome;
    rootCause: boolean;
    reason: string;
    /** Span ids from this span up to its root. */
    chain: readonly string[];
  }[];
  readonly hasSwallowedErrors: boolean;
  readonly dependencies: readonly {
    caller: string;
    callee: string;
    callCount: number;
    errorCount: number;
    durationNanos: string;
  }[];
  readonly warnings: readonly { code: TraceWarningCode; spanId: string; message: string }[];
}

/** Converts an analysis to plain JSON-safe data (no bigints, no typed arrays). */
export function analysisToJson(analysis: TraceAnalysis): TraceAnalysisJson {
  const { trace } = analysis;
  const root = trace.rootIndex >= 0 ? trace.spans[trace.rootIndex] : undefined;
  const paths = criticalPathSections(trace, analysis.criticalPath).map((p) => ({
    rootSpanId: p.rootSpanId,
    rootIndex: p.rootIndex,
    sections: p.sections.map((s) => ({
      spanId: s.spanId,
      startUnixNano: s.startUnixNano.toString(),
      endUnixNano: s.endUnixNano.toString(),
    })),
  }));
  const timeByServiceJson: Record<string, { selfNanos: string; criticalPathNanos: string; spanCount: number }> = {};
  for (const t of analysis.time.byService) {
    timeByServiceJson[t.service] = {
      selfNanos: t.selfNanos.toString(),
      criticalPathNanos: t.criticalPathNanos.toString(),
      spanCount: t.spanCount,
    };
  }
  return {
    traceId: trace.traceId,
    rootService: root?.serviceName ?? '',
    rootName: root?.name ?? '',
    rootSpanId: root?.spanId ?? '',
    durationNanos: (trace.endUnixNano - trace.startUnixNano).toString(),
    spanCount: trace.size,
    errorCount: analysis.errors.errors.length,
    criticalPath: paths.find((p) => p.rootIndex === trace.rootIndex)?.sections ?? [],
    otherCriticalPaths: paths
      .filter((p) => p.rootIndex !== trace.rootIndex)
      .map((p) => ({ rootSpanId: p.rootSpanId, sections: p.sections })),
    timeByService: timeByServiceJson,
    timeByOperation: analysis.time.byOperation.map((t) => ({
      service: t.service,
      name: t.name,
      selfNanos: t.selfNanos.toString(),
      criticalPathNanos: t.criticalPathNanos.toString(),
      spanCount: t.spanCount,
    })),
    errors: analysis.errors.errors.map((e) => ({
      spanId: e.spanId,
      service: e.service,
      name: e.name,
      outcome: e.outcome,
      rootCause: e.rootCause,
      reason: e.reason,
      chain: ancestorChain(trace, e.spanIndex).map((i) => trace.spans[i].spanId),
    })),
    hasSwallowedErrors: analysis.errors.hasSwallowed,
    dependencies: analysis.dependencies.edges.map((e) => ({
      caller: e.caller,
      callee: e.callee,
      callCount: e.callCount,
      errorCount: e.errorCount,
      durationNanos: e.durationNanos.toString(),
    })),
    warnings: trace.warnings.map((w) => ({ code: w.code, spanId: w.spanId, message: w.message })),
  };
}
