import {
  analyzeTrace,
  ancestorChain,
  findAttribute,
  type Span,
  stringAttribute,
  type TraceAnalysis,
} from '@ariadne/core';
import { renderTraceReport } from '../../packages/server/src/cli/analyze.ts';

/** The operation that saves an order, and its service. */
export const SAVE_OPERATION = 'save_order';
/** The attribute that numbers write attempts. */
export const ATTEMPT_ATTRIBUTE = 'retry.attempt';
/** Every service a complete order trace passes through. */
export const SHOP_SERVICES = ['frontend', 'payment', 'inventory', 'order'] as const;

/** An order the customer was told succeeded, though it was never saved: what the analysis says about it. */
export interface LostOrder {
  readonly orderId: string;
  readonly traceId: string;
  /** Service and name of the span whose error was swallowed (`order`, `save_order`). */
  readonly service: string;
  readonly operation: string;
  /** Write attempts under it, all failed. */
  readonly attempts: number;
  /** Why it failed, from its status. */
  readonly reason: string;
  /** Service of the trace's root, which answered the customer. */
  readonly rootService: string;
  /** `success` when the root span is not in error; otherwise its HTTP status or `error`. */
  readonly rootAnswer: string;
  /** `name (service)` from the root cause (the last failed attempt) up to the root. */
  readonly chain: readonly string[];
  /** The trace has one root and spans of all four services: later spans will not change the verdict. */
  readonly complete: boolean;
  /** The sentence that says it all: `order save_order failed after 3 attempts; frontend answered success`. */
  readonly summary: string;
}

/**
 * True when the spans form one whole order trace: spans of all four shop services, one root,
 * and no span whose parent is missing. Spans arrive from four processes in batches, so a trace
 * read too early may lack a part; judging it then could give a wrong verdict.
 */
export function isCompleteOrderTrace(spans: readonly Span[]): boolean {
  const ids = new Set(spans.map((s) => s.spanId));
  const services = new Set(spans.map((s) => s.serviceName));
  const roots = spans.filter((s) => s.parentSpanId === '').length;
  return (
    roots === 1 &&
    spans.every((s) => s.parentSpanId === '' || ids.has(s.parentSpanId)) &&
    SHOP_SERVICES.every((name) => services.has(name))
  );
}

function httpStatus(span: Span): string | undefined {
  const value = findAttribute(span.attributes, 'http.response.status_code');
  if (value?.type === 'int') return String(value.value);
  return undefined;
}

/**
 * Looks in the spans of one trace for a lost order: a `save_order` span in error whose error
 * analysis calls *swallowed* (no retry succeeded, and its caller reported success). Returns
 * `undefined` when there is none, also for traces whose save failed but whose failure reached
 * the customer (propagated) or was retried successfully (recovered). It relies on
 * `analyzeTrace` from core for the verdict and adds only the shop's vocabulary.
 */
export function findLostOrder(
  spans: readonly Span[],
  analysis: TraceAnalysis = analyzeTrace(spans),
): LostOrder | undefined {
  const { trace, errors } = analysis;
  const error = errors.errors.find((e) => e.name === SAVE_OPERATION && e.outcome === 'swallowed');
  if (error === undefined) return undefined;
  const index = error.spanIndex;
  const span = trace.spans[index];
  const attemptIndices: number[] = [];
  for (let k = trace.childStart[index]; k < trace.childStart[index + 1]; k++) {
    const child = trace.children[k];
    if (findAttribute(trace.spans[child].attributes, ATTEMPT_ATTRIBUTE) !== undefined) attemptIndices.push(child);
  }
  const lastAttempt = attemptIndices.at(-1);
  const chain = ancestorChain(trace, lastAttempt ?? index).map((i) => {
    const s = trace.spans[i];
    const attempt = findAttribute(s.attributes, ATTEMPT_ATTRIBUTE);
    const label = attempt?.type === 'int' ? `${s.name} #${attempt.value}` : s.name;
    return `${label} (${s.serviceName})`;
  });
  const root = trace.spans[trace.rootIndex];
  const rootAnswer = errors.isError[trace.rootIndex] ? (httpStatus(root) ?? 'error') : 'success';
  const complete = isCompleteOrderTrace(spans);
  const attempts = attemptIndices.length;
  return {
    orderId: stringAttribute(span.attributes, 'order.id') ?? '',
    traceId: trace.traceId,
    service: span.serviceName,
    operation: span.name,
    attempts,
    reason: error.reason,
    rootService: root.serviceName,
    rootAnswer,
    chain,
    complete,
    summary:
      `${span.serviceName} ${span.name} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}; ` +
      `${root.serviceName} answered ${rootAnswer}`,
  };
}

/** Options of {@link renderLostOrderReport}. */
export interface LostOrderReportOptions {
  /** Base URL of Ariadne's web UI and API, e.g. http://127.0.0.1:4320. */
  readonly apiUrl: string;
  /** Line width of the waterfall (default 100). */
  readonly width?: number;
  /** What the customer was told, if known (the frontend's JSON answer). */
  readonly answer?: string;
  /** Log lines of the services that carry this trace id. */
  readonly logLines?: readonly string[];
}

/**
 * The terminal report of a lost order: the order and trace ids, what happened in one sentence,
 * the chain of the swallowed error, the URL of the trace in the web UI and the commands that
 * find it again; then the report of `ariadne trace` (waterfall with the critical path, time per
 * service, every error with its outcome and chain); then the services' log lines of the trace.
 */
export function renderLostOrderReport(
  spans: readonly Span[],
  lost: LostOrder,
  options: LostOrderReportOptions,
): string {
  const width = options.width ?? 100;
  const rule = (title: string) => `── ${title} ${'─'.repeat(Math.max(3, Math.min(width, 100) - title.length - 4))}`;
  const lines = [
    rule(`LOST ORDER ${lost.orderId}`),
    `  order id        ${lost.orderId}`,
    `  trace id        ${lost.traceId}`,
  ];
  if (options.answer !== undefined) lines.push(`  customer got    ${options.answer}`);
  lines.push(
    `  what happened   ${lost.summary}`,
    `  swallowed error ${lost.service} ${lost.operation}: ${lost.reason}`,
    `  chain           ${lost.chain.join('\n                  <- ')}`,
    `  open in the UI  ${options.apiUrl}/trace/${lost.traceId}`,
    `  find it again   ariadne search --attr order.id=${lost.orderId}`,
    `                  curl '${options.apiUrl}/api/v1/search?attr=order.id=${lost.orderId}'`,
    `                  ariadne trace ${lost.traceId}`,
    '',
    renderTraceReport(spans, { width }).trimEnd(),
  );
  if (options.logLines !== undefined && options.logLines.length > 0) {
    lines.push('', `Logs with trace_id=${lost.traceId}`);
    for (const line of options.logLines) lines.push(`  ${line}`);
  }
  lines.push(rule('end of report'));
  return `${lines.join('\n')}\n`;
}
