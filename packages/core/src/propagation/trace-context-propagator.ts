import type { PropagationContext, SpanContext } from './context.ts';
import { TraceFlags, withSpanContext } from './context.ts';
import { isValidSpanId, isValidTraceId } from './ids.ts';
import type { TextMapGetter, TextMapPropagator, TextMapSetter } from './text-map.ts';
import type { TraceState } from './trace-state.ts';
import { parseTraceState } from './trace-state.ts';
import { formatTraceparent, parseTraceparent } from './traceparent.ts';

/** Header name of the W3C traceparent field (lowercase, as §3.2.1 says to send it). */
export const TRACEPARENT_HEADER = 'traceparent';
/** Header name of the W3C tracestate field. */
export const TRACESTATE_HEADER = 'tracestate';

/**
 * The span context a carrier holds, or `undefined` when the receiver must restart the trace.
 * Exported for callers without a propagator; the propagator uses it.
 *
 * - no `traceparent`, an invalid one (see `parseTraceparent`), or more than one `traceparent`
 *   field (the W3C test suite treats a duplicated traceparent as invalid) → `undefined`, and
 *   `tracestate` is not even read: "If the vendor failed to parse traceparent, it MUST NOT
 *   attempt to parse tracestate" (§3.3), and on restart vendors SHOULD clean up tracestate
 *   (§3.4 "Restart trace");
 * - otherwise the trace id, the parent id as span id, the flags the current version knows
 *   (sampled and random-trace-id, also from a higher version: the processing model parses the
 *   flags "supported by the current version" and §3.2.2.5.2 requires the random flag to be
 *   propagated as received), `isRemote: true`, and the trace state if `tracestate` is valid;
 *   an invalid `tracestate` is dropped without affecting `traceparent` (§3.3).
 */
export function spanContextFromHeaders(
  traceparent: string | readonly string[] | undefined,
  tracestate: string | readonly string[] | undefined,
): SpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const values = typeof traceparent === 'string' ? [traceparent] : traceparent;
  if (values.length !== 1) return undefined;
  const parsed = parseTraceparent(values[0]);
  if (parsed === undefined) return undefined;
  const traceState: TraceState | undefined = tracestate === undefined ? undefined : parseTraceState(tracestate);
  return Object.freeze({
    traceId: parsed.traceId,
    spanId: parsed.parentId,
    traceFlags: parsed.traceFlags & TraceFlags.KNOWN,
    isRemote: true,
    ...(traceState === undefined || traceState.size === 0 ? {} : { traceState }),
  });
}

/**
 * The W3C Trace Context Level 2 propagator (https://www.w3.org/TR/trace-context-2/), in the
 * shape of OpenTelemetry's `W3CTraceContextPropagator` but with the current tracestate grammar.
 *
 * `extract` returns the context with the carrier's remote span context (see
 * {@link spanContextFromHeaders}); when the carrier has no valid traceparent it returns the
 * context unchanged, so the caller starts a new trace, without any of the received tracestate.
 *
 * `inject` writes `traceparent` (version 00, known flags only) from the context's span
 * context, and `tracestate` if it is not empty (§3.3.2: SHOULD avoid sending empty ones),
 * truncated to 512 characters (§3.3.3.1). It injects the span context as it is: to continue a
 * trace, pass a child span context with a new span id (`createChildSpanContext`), which the
 * receiver sees as its parent-id (§3.4). It writes nothing without a valid span context.
 */
export function createTraceContextPropagator<Carrier = unknown>(): TextMapPropagator<Carrier> {
  const fields = Object.freeze([TRACEPARENT_HEADER, TRACESTATE_HEADER]);
  return Object.freeze({
    inject(context: PropagationContext, carrier: Carrier, setter: TextMapSetter<Carrier>) {
      const sc = context.spanContext;
      if (sc === undefined || !isValidTraceId(sc.traceId) || !isValidSpanId(sc.spanId)) return;
      setter.set(carrier, TRACEPARENT_HEADER, formatTraceparent(sc));
      const state = sc.traceState?.serialize() ?? '';
      if (state !== '') setter.set(carrier, TRACESTATE_HEADER, state);
    },
    extract(context: PropagationContext, carrier: Carrier, getter: TextMapGetter<Carrier>) {
      const sc = spanContextFromHeaders(
        getter.get(carrier, TRACEPARENT_HEADER),
        getter.get(carrier, TRACESTATE_HEADER),
      );
      return sc === undefined ? context : withSpanContext(context, sc);
    },
    fields: () => fields,
  });
}
