import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSpanId, generateTraceId } from '@ariadne/core';
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  type TextMapPropagator,
  trace,
} from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { baggageAttributes, createOtelPropagator } from './otel-propagator.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

const tracer = new BasicTracerProvider({ idGenerator: { generateTraceId, generateSpanId } }).getTracer('test');

/** What an instrumented service does: extract, start a child span, inject into the next call. */
function passThrough(propagator: TextMapPropagator, incoming: Record<string, string>): Record<string, string> {
  const extracted = propagator.extract(ROOT_CONTEXT, incoming, defaultTextMapGetter);
  const span = tracer.startSpan('server', {}, extracted);
  const outgoing: Record<string, string> = {};
  propagator.inject(trace.setSpan(extracted, span), outgoing, defaultTextMapSetter);
  span.end();
  return outgoing;
}

describe('createOtelPropagator', () => {
  const propagator = createOtelPropagator({ randomTraceIds: true });

  it('continues the trace through an SDK span with a new parent id, keeping tracestate and baggage', () => {
    const out = passThrough(propagator, {
      traceparent: `00-${TRACE_ID}-${PARENT_ID}-03`,
      tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
      baggage: 'user_tier=premium,region=us-east;zone=a',
    });
    const [version, traceId, parentId, flags] = out.traceparent.split('-');
    assert.equal(version, '00');
    assert.equal(traceId, TRACE_ID);
    assert.notEqual(parentId, PARENT_ID);
    assert.match(parentId, /^[0-9a-f]{16}$/);
    // The SDK keeps only the sampled bit; the adapter puts the received random flag back.
    assert.equal(flags, '03');
    assert.equal(out.tracestate, 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    assert.equal(out.baggage, 'user_tier=premium,region=us-east;zone=a');
  });

  it('keeps the random-trace-id flag unset when it came unset (Level 2 §3.2.2.5.2)', () => {
    const out = passThrough(propagator, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    assert.match(out.traceparent, /-01$/);
  });

  it('sets the random flag on a trace it starts with random ids, and only when told they are random', () => {
    const span = tracer.startSpan('root', {}, ROOT_CONTEXT);
    const random: Record<string, string> = {};
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), random, defaultTextMapSetter);
    assert.match(random.traceparent, new RegExp(`^00-${span.spanContext().traceId}-${span.spanContext().spanId}-03$`));
    const plain: Record<string, string> = {};
    createOtelPropagator().inject(trace.setSpan(ROOT_CONTEXT, span), plain, defaultTextMapSetter);
    assert.match(plain.traceparent, /-01$/);
    span.end();
  });

  it('restarts on an invalid traceparent and drops the tracestate with it, but keeps baggage', () => {
    for (const traceparent of [
      `ff-${TRACE_ID}-${PARENT_ID}-01`,
      `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`,
      `00-00000000000000000000000000000000-${PARENT_ID}-01`,
    ]) {
      const context = propagator.extract(
        ROOT_CONTEXT,
        { traceparent, tracestate: 'rojo=1', baggage: 'k=v' },
        defaultTextMapGetter,
      );
      assert.equal(trace.getSpanContext(context), undefined, traceparent);
      assert.equal(propagation.getBaggage(context)?.getEntry('k')?.value, 'v');
      const out = passThrough(propagator, { traceparent, tracestate: 'rojo=1' });
      assert.equal(out.tracestate, undefined);
      assert.notEqual(out.traceparent.split('-')[1], TRACE_ID);
    }
  });

  it('uses the current tracestate key grammar, which OpenTelemetry JS still rejects', () => {
    // Level 2: any key may start with a digit, and "@" is an ordinary key character, so there is
    // no 14-character limit after it. OpenTelemetry JS's Level 1 validator rejects both keys.
    const tracestate = '1vendor=x,tenant@a-system-name-longer-than-14=y,other=z';
    const out = passThrough(propagator, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate });
    assert.equal(out.tracestate, tracestate);
  });

  it('percent-decodes baggage and records it as span attributes', () => {
    const context = propagator.extract(
      ROOT_CONTEXT,
      { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, baggage: 'city=S%C3%A3o%20Paulo,user_tier=premium' },
      defaultTextMapGetter,
    );
    assert.deepEqual(baggageAttributes(context), { 'baggage.city': 'São Paulo', 'baggage.user_tier': 'premium' });
    assert.equal(trace.getSpanContext(context)?.isRemote, true);
  });

  it('lists the fields of both W3C propagators', () => {
    assert.deepEqual(propagator.fields(), ['traceparent', 'tracestate', 'baggage']);
  });
});
