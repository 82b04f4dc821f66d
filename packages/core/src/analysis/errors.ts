import { findAttribute, type Span, SpanKind, StatusCode, stringAttribute } from '../model/span.ts';
import { ancestorChain, type Trace } from './build-trace.ts';
import { releaseScratch, type Scratch, takeScratch } from './scratch.ts';

/**
 * Errors and how each one ended. A failure either reached the top of the trace (propagated), was
 * retried successfully (recovered), or vanished (swallowed: somebody caught it and the caller
 * never knew, the lost order):
 * ```
 * |--------------GET /checkout (ok)--------------|
 *   |--reserve (ERROR)--|                           swallowed: no retry, caller ok
 *                         |--charge (ERROR)--|      recovered: a later "charge" succeeded
 *                                              |--charge (ok)--|
 * ```
 * A root cause is an error span with no error below it; its chain runs from it up to its root.
 */

/** How an error ended. */
export type ErrorOutcome = 'propagated' | 'recovered' | 'swallowed';

/** One span in error. */
export interface SpanError {
  readonly spanIndex: number;
  readonly spanId: string;
  readonly service: string;
  readonly name: string;
  readonly outcome: ErrorOutcome;
  /** True when no descendant of the span is in error. */
  readonly rootCause: boolean;
  /** Why the span counts as an error: the status message, the exception, or the HTTP status. */
  readonly reason: string;
}

/** A root cause with its chain of span indices, the cause first and its root last. */
export interface RootCause {
  readonly spanIndex: number;
  readonly chain: readonly number[];
}

/** The errors of a trace, in waterfall (preorder) order. */
export interface ErrorAnalysis {
  readonly errors: readonly SpanError[];
  readonly rootCauses: readonly RootCause[];
  /** 1 for each span in error, indexed like `Trace.spans`. */
  readonly isError: Uint8Array;
  /** True when any error was swallowed: the trace deserves a look even if its root is fine. */
  readonly hasSwallowed: boolean;
}

/**
 * True when a span is in error: status ERROR; or, when the status is UNSET, a SERVER span with
 * an HTTP status (`http.response.status_code` or the older `http.status_code`, int or string)
 * of 500 or more, or a span with an `exception` event. A status of OK is never an error, and a
 * 4xx is the client's fault, not the server's.
 */
export function isErrorSpan(span: Span): boolean {
  if (span.status.code === StatusCode.ERROR) return true;
  if (span.status.code === StatusCode.OK) return false;
  if (span.kind === SpanKind.SERVER) {
    const code = httpStatus(span);
    if (code !== undefined && code >= 500) return true;
  }
  for (const event of span.events) if (event.name === 'exception') return true;
  return false;
}

/** A short human reason for an error span (status message, exception, HTTP status), or ''. */
export function errorReason(span: Span): string {
  if (span.status.message) return span.status.message;
  for (const event of span.events) {
    if (event.name !== 'exception') continue;
    const type = stringAttribute(event.attributes, 'exception.type');
    const message = stringAttribute(event.attributes, 'exception.message');
    return [type, message].filter(Boolean).join(': ') || 'exception';
  }
  const code = httpStatus(span);
  if (code !== undefined && code >= 400) return `HTTP ${code}`;
  const tag = stringAttribute(span.attributes, 'error');
  return tag && tag !== 'true' ? tag : '';
}

function httpStatus(span: Span): number | undefined {
  const value =
    findAttribute(span.attributes, 'http.response.status_code') ?? findAttribute(span.attributes, 'http.status_code');
  if (value === undefined) return undefined;
  if (value.type === 'int') return Number(value.value);
  if (value.type === 'double') return value.value;
  if (value.type === 'string' && /^\d{3}$/.test(value.value)) return Number(value.value);
  return undefined;
}

/**
 * Finds the spans in error and classifies each:
 * - recovered: the span, or an ancestor in its unbroken chain of errors, has a later sibling
 *   (started after it) with the same name that is not in error: a retry succeeded. This wins
 *   over propagated: a failed root does not make a successfully retried call its cause;
 * - propagated: otherwise, when the span and every ancestor up to its root are in error;
 * - swallowed: neither; the failure stopped at a caller that reported success.
 * The root of an orphan subtree counts as a root. Asynchronous children are judged like any
 * other: a failed consumer under a successful producer is swallowed unless it was retried.
 * Linear in the trace size, plus the length of the root-cause chains.
 */
export function analyzeErrors(trace: Trace): ErrorAnalysis {
  const n = trace.size;
  const { spans } = trace;
  const isError = new Uint8Array(n);
  let errorCount = 0;
  for (let i = 0; i < n; i++) {
    if (isErrorSpan(spans[i])) {
      isError[i] = 1;
      errorCount++;
    }
  }
  if (errorCount === 0) return { errors: [], rootCauses: [], isError, hasSwallowed: false };
  // Temporaries come from reused scratch memory (see `scratch.ts`).
  const scratch = takeScratch(n * 5);
  try {
    return classifyErrors(trace, isError, scratch);
  } finally {
    releaseScratch(scratch);
  }
}

function classifyErrors(trace: Trace, isError: Uint8Array, scratch: Scratch): ErrorAnalysis {
  const n = trace.size;
  const { spans, parent, preorder, childStart, children, start, operations, operationOf } = trace;

  // A retry: a later sibling of the same name that succeeded. Only parents of errors are scanned.
  // Span names are compared as small ids (interned through `Trace.operations`), and
  // `succeededUnder[name]` is the last parent under which a span of that name succeeded: one
  // array serves every scan, with no set of strings per parent.
  const nameIds = new Map<string, number>();
  const nameOfOperation = new Int32Array(operations.length);
  for (let o = 0; o < operations.length; o++) {
    const name = operations[o].name;
    let id = nameIds.get(name);
    if (id === undefined) {
      id = nameIds.size;
      nameIds.set(name, id);
    }
    nameOfOperation[o] = id;
  }
  const succeededUnder = new Int32Array(nameIds.size).fill(-1);
  const retried = scratch.uint8(n);
  const scanned = scratch.uint8(n);
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    if (!isError[i] || p < 0 || scanned[p]) continue;
    scanned[p] = 1;
    let k = childStart[p + 1] - 1;
    while (k >= childStart[p]) {
      // Siblings that start together are concurrent, not retries of each other.
      let g = k;
      while (g - 1 >= childStart[p] && start[children[g - 1]] === start[children[k]]) g--;
      for (let j = g; j <= k; j++) {
        const c = children[j];
        if (isError[c] && succeededUnder[nameOfOperation[operationOf[c]]] === p) retried[c] = 1;
      }
      for (let j = g; j <= k; j++) {
        const c = children[j];
        if (!isError[c]) succeededUnder[nameOfOperation[operationOf[c]]] = p;
      }
      k = g - 1;
    }
  }

  // Ancestors of errors, by walking up from each error until an ancestor already marked (whose
  // ancestors are then marked too): each span is marked once, and only error chains are read.
  const errorBelow = scratch.uint8(n);
  for (let i = 0; i < n; i++) {
    if (!isError[i]) continue;
    for (let p = parent[i]; p >= 0 && !errorBelow[p]; p = parent[p]) errorBelow[p] = 1;
  }

  // In preorder, parents come first: whether the chain of errors reaches the root, and whether
  // it was retried, are known for the parent.
  const toRoot = scratch.uint8(n);
  const recovered = scratch.uint8(n);
  const errors: SpanError[] = [];
  const rootCauses: RootCause[] = [];
  let hasSwallowed = false;
  for (let k = 0; k < n; k++) {
    const i = preorder[k];
    if (!isError[i]) continue;
    const p = parent[i];
    toRoot[i] = p < 0 || toRoot[p] ? 1 : 0;
    recovered[i] = retried[i] || (p >= 0 && isError[p] && recovered[p]) ? 1 : 0;
    const outcome: ErrorOutcome = recovered[i] ? 'recovered' : toRoot[i] ? 'propagated' : 'swallowed';
    if (outcome === 'swallowed') hasSwallowed = true;
    const rootCause = !errorBelow[i];
    const span = spans[i];
    errors.push({
      spanIndex: i,
      spanId: span.spanId,
      service: span.serviceName,
      name: span.name,
      outcome,
      rootCause,
      reason: errorReason(span),
    });
    if (rootCause) rootCauses.push({ spanIndex: i, chain: ancestorChain(trace, i) });
  }
  return { errors, rootCauses, isError, hasSwallowed };
}
