import {
  analyzeErrors,
  ancestorChain,
  buildTrace,
  type CriticalPath,
  criticalPath,
  type ErrorAnalysis,
  type Span,
  spansFromOtlpJson,
  type Trace,
  timeByService,
  traceDependencies,
} from '@ariadne/core';
import type { TraceView, TraceWarning } from './trace-view.ts';

/**
 * Turns a trace as OTLP JSON `TracesData` (the API's `?format=otlp`, half the size of the
 * span-per-object answer since resources are not repeated) into the trace page's view model.
 * Every decision about the trace (tree repair, clock skew, critical path, time per service, how
 * errors ended) is made by `@ariadne/core`; this only re-indexes its answers in display order for
 * the waterfall. Throws on a body that is not OTLP JSON or holds no spans.
 */
export function analyzeTrace(traceId: string, tracesData: unknown): TraceView {
  const input: Span[] = spansFromOtlpJson(tracesData);
  if (input.length === 0) throw new Error(`trace ${traceId} has no spans`);
  const trace = buildTrace(input);
  const path = criticalPath(trace);
  const errors = analyzeErrors(trace);
  return toView(traceId, trace, path, errors);
}

function toView(traceId: string, trace: Trace, path: CriticalPath, errors: ErrorAnalysis): TraceView {
  const n = trace.size;
  const order = trace.preorder;
  const pos = new Int32Array(n);
  for (let k = 0; k < n; k++) pos[order[k]] = k;
  const spans: Span[] = new Array(n);
  const parent = new Int32Array(n);
  const depth = new Int32Array(n);
  const childCount = new Int32Array(n);
  const start = new Float64Array(n);
  const duration = new Float64Array(n);
  const serviceIndex = new Int32Array(n);
  const error = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const i = order[k];
    spans[k] = trace.spans[i];
    parent[k] = trace.parent[i] < 0 ? -1 : pos[trace.parent[i]];
    depth[k] = trace.depth[i];
    childCount[k] = trace.childStart[i + 1] - trace.childStart[i];
    start[k] = trace.start[i];
    duration[k] = trace.end[i] - trace.start[i];
    serviceIndex[k] = trace.serviceOf[i];
    error[k] = errors.isError[i];
  }
  // In preorder a subtree is contiguous: it ends where the next span at the same or lower depth starts.
  const subtreeEnd = new Int32Array(n);
  const stack: number[] = [];
  for (let k = 0; k < n; k++) {
    while (stack.length > 0 && depth[stack[stack.length - 1]] >= depth[k]) subtreeEnd[stack.pop()!] = k;
    stack.push(k);
  }
  for (const k of stack) subtreeEnd[k] = n;
  const indexOf = (spanId: string): number => {
    const i = trace.indexOfSpanId.get(spanId);
    return i === undefined ? -1 : pos[i];
  };
  const warnings: TraceWarning[] = trace.warnings.map((w) => ({
    code: w.code,
    message: w.message,
    index: w.spanIndex >= 0 ? pos[w.spanIndex] : undefined,
  }));
  return {
    traceId,
    spans,
    rootIndex: trace.rootIndex < 0 ? -1 : pos[trace.rootIndex],
    parent,
    depth,
    childCount,
    subtreeEnd,
    start,
    duration,
    error,
    serviceIndex,
    services: trace.services,
    indexOf,
    traceStart: trace.startUnixNano,
    traceDuration: Number(trace.endUnixNano - trace.startUnixNano),
    criticalPath: sectionsBySpan(path, pos),
    errors: errors.errors.map((e) => ({
      index: pos[e.spanIndex],
      outcome: e.outcome,
      rootCause: e.rootCause,
      reason: e.reason,
      chain: ancestorChain(trace, e.spanIndex).map((i) => pos[i]),
    })),
    warnings,
    timeByService: timeByService(trace, path).byService.map((t) => ({
      service: t.service,
      selfNanos: Number(t.selfNanos),
      criticalPathNanos: Number(t.criticalPathNanos),
    })),
    dependencies: traceDependencies(trace, errors.isError).edges.map((d) => ({
      parent: d.caller,
      child: d.callee,
      callCount: d.callCount,
      errorCount: d.errorCount,
    })),
  };
}

function sectionsBySpan(path: CriticalPath, pos: Int32Array): Map<number, [number, number][]> {
  const out = new Map<number, [number, number][]>();
  for (let k = 0; k < path.count; k++) {
    if (path.end[k] <= path.start[k]) continue;
    const index = pos[path.span[k]];
    let list = out.get(index);
    if (!list) {
      list = [];
      out.set(index, list);
    }
    list.push([path.start[k], path.end[k]]);
  }
  return out;
}
