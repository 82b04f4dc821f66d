import { anyValueToText, type KeyValue, type Span } from '@ariadne/core';

/**
 * The view model of one trace: what the trace page draws, in flat typed arrays so that a
 * 100,000-span trace stays cheap to lay out. All numbers of time are nanoseconds relative to the
 * trace start, as floats (exact enough for drawing; exact values stay in `spans`).
 *
 * It is filled from `@ariadne/core`'s analysis (see `trace-analysis.ts`); nothing here decides
 * what the critical path is or how an error ended.
 */
export interface TraceView {
  readonly traceId: string;
  /** Spans in display order (depth-first, children by start). Index = row identity. */
  readonly spans: readonly Span[];
  /** The main root (the earliest true root), or -1 for an empty trace. */
  readonly rootIndex: number;
  /** Index of each span's parent in `spans`, or -1 for a root (including orphans). */
  readonly parent: Int32Array;
  /** Depth in the tree, 0 for roots. */
  readonly depth: Int32Array;
  /** Number of direct children. */
  readonly childCount: Int32Array;
  /** Index one past the last descendant: the subtree of `i` is `i..subtreeEnd[i]-1`. */
  readonly subtreeEnd: Int32Array;
  /** Start offset from the trace start. */
  readonly start: Float64Array;
  /** Duration (never negative). */
  readonly duration: Float64Array;
  /** 1 if the span is in error. */
  readonly error: Uint8Array;
  /** Index of each span's service in `services`. */
  readonly serviceIndex: Int32Array;
  /** Services in order of first appearance in the tree. */
  readonly services: readonly string[];
  /** Index of the span with this id, or -1. */
  readonly indexOf: (spanId: string) => number;
  /** Absolute start of the trace. */
  readonly traceStart: bigint;
  /** Length of the trace from the first start to the last end. */
  readonly traceDuration: number;
  /** Critical-path sections, as [start, end] offsets, per span index. */
  readonly criticalPath: ReadonlyMap<number, readonly (readonly [number, number])[]>;
  /** Errors with how they ended. */
  readonly errors: readonly TraceError[];
  /** Warnings about the whole trace (clock skew adjustments, missing parents, duplicates). */
  readonly warnings: readonly TraceWarning[];
  /** Self time and critical-path time per service, largest critical-path share first. */
  readonly timeByService: readonly ServiceTime[];
  /** Service-to-service calls within this trace. */
  readonly dependencies: readonly TraceDependency[];
}

/** An error span and how its failure ended. */
export interface TraceError {
  readonly index: number;
  readonly outcome: 'propagated' | 'recovered' | 'swallowed';
  /** Span indices from the failing span up to its root, the span first. */
  readonly chain: readonly number[];
  /** True when no descendant of this span is in error (it is where the failure started). */
  readonly rootCause: boolean;
  /** Why the span counts as an error (status message, exception, HTTP status), or ''. */
  readonly reason: string;
}

/** A warning; `index` names the span it concerns, if any. */
export interface TraceWarning {
  /** A machine-readable kind, such as `clock-skew` or `missing-parent`. */
  readonly code: string;
  readonly message: string;
  readonly index?: number;
}

/** Self and critical-path time of one service. */
export interface ServiceTime {
  readonly service: string;
  readonly selfNanos: number;
  readonly criticalPathNanos: number;
}

/** Calls from one service to another within a trace. */
export interface TraceDependency {
  readonly parent: string;
  readonly child: string;
  readonly callCount: number;
  readonly errorCount: number;
}

/**
 * Returns the rows that are visible when the spans in `collapsed` hide their descendants, in
 * display order. Linear in the number of visible rows plus collapsed subtrees skipped.
 */
export function visibleRows(view: TraceView, collapsed: ReadonlySet<number>): Int32Array {
  const n = view.spans.length;
  const out = new Int32Array(n);
  let count = 0;
  let i = 0;
  while (i < n) {
    out[count++] = i;
    i = collapsed.has(i) ? view.subtreeEnd[i] : i + 1;
  }
  return out.subarray(0, count);
}

/** Indices of the ancestors of `index`, nearest first. */
export function ancestorsOf(view: TraceView, index: number): number[] {
  const out: number[] = [];
  for (let p = view.parent[index]; p >= 0; p = view.parent[p]) out.push(p);
  return out;
}

/**
 * Finds spans matching a find-in-trace query: each whitespace-separated term must match the
 * span's name, service, id, or one of its attributes; a `key=value` term matches an attribute
 * with that key whose text value contains the value. Case-insensitive.
 */
export function findSpans(view: TraceView, query: string): number[] {
  const terms = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return [];
  const out: number[] = [];
  for (let i = 0; i < view.spans.length; i++) {
    const span = view.spans[i];
    let all = true;
    for (const term of terms) {
      if (!termMatches(span, term)) {
        all = false;
        break;
      }
    }
    if (all) out.push(i);
  }
  return out;
}

function attributeMatches(attributes: readonly KeyValue[], key: string, value: string): boolean {
  for (const kv of attributes) {
    if (kv.key.toLowerCase() === key && anyValueToText(kv.value).toLowerCase().includes(value)) return true;
  }
  return false;
}

function termMatches(span: Span, term: string): boolean {
  const eq = term.indexOf('=');
  if (eq > 0) {
    const key = term.slice(0, eq);
    const value = term.slice(eq + 1);
    return attributeMatches(span.attributes, key, value) || attributeMatches(span.resource.attributes, key, value);
  }
  if (span.name.toLowerCase().includes(term)) return true;
  if (span.serviceName.toLowerCase().includes(term)) return true;
  if (span.spanId === term) return true;
  for (const kv of span.attributes) {
    if (kv.key.toLowerCase().includes(term)) return true;
    if (kv.value.type === 'string' && kv.value.value.toLowerCase().includes(term)) return true;
  }
  return false;
}
