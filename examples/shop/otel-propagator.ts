import type { Baggage, BaggageEntry, PropagationContext, SpanContext } from '@ariadne/core';
import {
  type TextMapPropagator as AriadnePropagator,
  createBaggagePropagator,
  createCompositePropagator,
  createTraceContextPropagator,
  parseTraceState,
  ROOT_CONTEXT,
  TraceFlags,
} from '@ariadne/core';
import {
  baggageEntryMetadataFromString,
  type Context,
  createContextKey,
  isSpanContextValid,
  type BaggageEntry as OtelBaggageEntry,
  type SpanContext as OtelSpanContext,
  propagation,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';

/**
 * Lets OpenTelemetry JS inject and extract with Ariadne's W3C propagators (packages/core) instead
 * of its own: this adapter implements OpenTelemetry's `TextMapPropagator` and translates between
 * OpenTelemetry's `Context` (span context, baggage) and Ariadne's `PropagationContext`. The
 * getters and setters have the same shape on both sides, so carriers pass through untouched.
 *
 * The random-trace-id flag (Trace Context Level 2, §3.2.2.5.2): OpenTelemetry's SDK keeps only
 * the sampled bit when it starts a child span, so the adapter carries the flag itself. `extract`
 * remembers the received flag in the context; `inject` sends it again for that trace id (set or
 * unset, exactly as received). For a trace started in this process it sets the flag only when
 * told that local trace ids are random (`randomTraceIds`, true when the tracer provider uses
 * core's `generateTraceId`). It does not handle other context keys than span context and baggage.
 */

/** Options of {@link createOtelPropagator}. */
export interface OtelPropagatorOptions {
  /** The Ariadne propagator to run; default: W3C Trace Context then W3C Baggage. */
  readonly propagator?: AriadnePropagator<unknown>;
  /** True when traces started in this process have fully random trace ids (default false). */
  readonly randomTraceIds?: boolean;
}

interface ReceivedTrace {
  readonly traceId: string;
  readonly random: boolean;
}

const RECEIVED_TRACE = createContextKey('ariadne.shop.received-trace');

/** The default Ariadne propagator: W3C Trace Context (Level 2) and W3C Baggage. */
export function createW3cPropagator(): AriadnePropagator<unknown> {
  return createCompositePropagator<unknown>([createTraceContextPropagator(), createBaggagePropagator()]);
}

/** An OpenTelemetry `TextMapPropagator` that delegates to an Ariadne propagator (see the module comment). */
export function createOtelPropagator(options: OtelPropagatorOptions = {}): TextMapPropagator {
  const inner = options.propagator ?? createW3cPropagator();
  const randomTraceIds = options.randomTraceIds ?? false;
  return {
    inject(context: Context, carrier: unknown, setter: TextMapSetter) {
      inner.inject(toAriadne(context, randomTraceIds), carrier, setter);
    },
    extract(context: Context, carrier: unknown, getter: TextMapGetter) {
      return fromAriadne(context, inner.extract(ROOT_CONTEXT, carrier, getter));
    },
    fields: () => [...inner.fields()],
  };
}

function randomFlag(context: Context, sc: OtelSpanContext, local: boolean): number {
  const received = context.getValue(RECEIVED_TRACE) as ReceivedTrace | undefined;
  if (received !== undefined && received.traceId === sc.traceId) return received.random ? TraceFlags.RANDOM : 0;
  if (sc.traceFlags & TraceFlags.RANDOM) return TraceFlags.RANDOM;
  return !sc.isRemote && local ? TraceFlags.RANDOM : 0;
}

function toAriadne(context: Context, randomTraceIds: boolean): PropagationContext {
  const out: { spanContext?: SpanContext; baggage?: Baggage } = {};
  const sc = trace.getSpanContext(context);
  if (sc !== undefined && isSpanContextValid(sc)) {
    const traceState = sc.traceState === undefined ? undefined : parseTraceState(sc.traceState.serialize());
    out.spanContext = {
      traceId: sc.traceId,
      spanId: sc.spanId,
      traceFlags: (sc.traceFlags & TraceFlags.SAMPLED) | randomFlag(context, sc, randomTraceIds),
      ...(traceState === undefined ? {} : { traceState }),
    };
  }
  const bag = propagation.getBaggage(context);
  if (bag !== undefined) {
    const entries = new Map<string, BaggageEntry>();
    for (const [key, entry] of bag.getAllEntries()) {
      const metadata = entry.metadata?.toString();
      entries.set(key, metadata ? { value: entry.value, metadata } : { value: entry.value });
    }
    if (entries.size > 0) out.baggage = entries;
  }
  return out;
}

function fromAriadne(context: Context, extracted: PropagationContext): Context {
  let next = context;
  const sc = extracted.spanContext;
  if (sc !== undefined) {
    next = trace.setSpanContext(next, {
      traceId: sc.traceId,
      spanId: sc.spanId,
      traceFlags: sc.traceFlags,
      isRemote: true,
      // Ariadne's TraceState has OpenTelemetry's shape (get, set, unset, serialize).
      ...(sc.traceState === undefined ? {} : { traceState: sc.traceState }),
    });
    next = next.setValue(RECEIVED_TRACE, {
      traceId: sc.traceId,
      random: (sc.traceFlags & TraceFlags.RANDOM) !== 0,
    } satisfies ReceivedTrace);
  }
  if (extracted.baggage !== undefined) {
    const entries: Record<string, OtelBaggageEntry> = {};
    for (const [key, entry] of extracted.baggage) {
      entries[key] =
        entry.metadata === undefined
          ? { value: entry.value }
          : { value: entry.value, metadata: baggageEntryMetadataFromString(entry.metadata) };
    }
    next = propagation.setBaggage(next, propagation.createBaggage(entries));
  }
  return next;
}

/** The received baggage of `context` as span attributes `baggage.<key>` (what every shop service records). */
export function baggageAttributes(context: Context): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [key, entry] of propagation.getBaggage(context)?.getAllEntries() ?? []) {
    attributes[`baggage.${key}`] = entry.value;
  }
  return attributes;
}
