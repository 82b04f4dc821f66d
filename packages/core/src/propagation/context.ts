import type { TraceState } from './trace-state.ts';

/**
 * The propagation context: an immutable value that carries what crosses a process boundary,
 * an optional remote or local {@link SpanContext} and the W3C Baggage entries. It is the
 * `Context` of OpenTelemetry's `TextMapPropagator` shape, cut down to what propagation needs:
 * no arbitrary keys, no active-context machinery, no async storage.
 */
export interface PropagationContext {
  readonly spanContext?: SpanContext;
  readonly baggage?: Baggage;
}

/**
 * Identity of a span as it travels in `traceparent`/`tracestate`. Ids are lowercase hex
 * (32 characters for the trace id, 16 for the span id). `traceFlags` is the 8-bit trace-flags
 * field; see {@link TraceFlags}. `isRemote` is true when the span context was extracted from a
 * carrier. It does not hold timing, attributes or a parent span id: a span context only says
 * where in a trace we are.
 */
export interface SpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly traceState?: TraceState;
  readonly isRemote?: boolean;
}

/**
 * Bits of the W3C trace-flags field known to Trace Context Level 2
 * (https://www.w3.org/TR/trace-context-2/#trace-flags, §3.2.2.5): `SAMPLED` (0x01, §3.2.2.5.1)
 * and `RANDOM` (0x02, the random-trace-id flag, §3.2.2.5.2). `KNOWN` masks both; every other bit
 * is reserved and sent as zero (§3.2.2.5.3 Other Flags).
 */
export const TraceFlags = { NONE: 0x00, SAMPLED: 0x01, RANDOM: 0x02, KNOWN: 0x03 } as const;

/**
 * One W3C Baggage list-member: the decoded value (percent-decoding already undone) and its
 * properties as an opaque metadata string (for example `property1;k=v`), exactly as OpenTelemetry
 * keeps them. Metadata is neither decoded nor interpreted.
 */
export interface BaggageEntry {
  readonly value: string;
  readonly metadata?: string;
}

/**
 * W3C Baggage as a map from key to entry, in header order. Keys are unique here: a key repeated
 * in a header keeps the value of its last occurrence (the Baggage spec lets implementations
 * deduplicate, https://www.w3.org/TR/baggage/#mutating-baggage).
 */
export type Baggage = ReadonlyMap<string, BaggageEntry>;

/** The empty context: no span context, no baggage. Frozen, shared. */
export const ROOT_CONTEXT: PropagationContext = Object.freeze({});

/** A copy of `context` carrying `spanContext` (or none when `undefined`); `context` is unchanged. */
export function withSpanContext(context: PropagationContext, spanContext: SpanContext | undefined): PropagationContext {
  const next: { spanContext?: SpanContext; baggage?: Baggage } = { ...context };
  if (spanContext === undefined) delete next.spanContext;
  else next.spanContext = Object.freeze({ ...spanContext });
  return Object.freeze(next);
}

/** A copy of `context` carrying `baggage` (or none when `undefined`); `context` is unchanged. */
export function withBaggage(context: PropagationContext, baggage: Baggage | undefined): PropagationContext {
  const next: { spanContext?: SpanContext; baggage?: Baggage } = { ...context };
  if (baggage === undefined) delete next.baggage;
  else next.baggage = baggage;
  return Object.freeze(next);
}
