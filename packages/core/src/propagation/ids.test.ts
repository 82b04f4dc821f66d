import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceFlags } from './context.ts';
import { createChildSpanContext, generateSpanId, generateTraceId, isValidSpanId, isValidTraceId } from './ids.ts';
import { parseTraceState } from './trace-state.ts';

describe('id generation', () => {
  it('generates valid, distinct lowercase trace ids and span ids (§3.2.2.3, §3.2.2.4)', () => {
    const traceIds = new Set(Array.from({ length: 200 }, generateTraceId));
    const spanIds = new Set(Array.from({ length: 200 }, generateSpanId));
    assert.equal(traceIds.size, 200);
    assert.equal(spanIds.size, 200);
    for (const id of traceIds) assert.ok(isValidTraceId(id), id);
    for (const id of spanIds) assert.ok(isValidSpanId(id), id);
  });

  it('rejects uppercase, wrong lengths and all-zero ids', () => {
    assert.equal(isValidTraceId('4BF92F3577B34DA6A3CE929D0E0E4736'), false);
    assert.equal(isValidTraceId('0'.repeat(32)), false);
    assert.equal(isValidTraceId('4bf92f3577b34da6a3ce929d0e0e473'), false);
    assert.equal(isValidSpanId('00F067AA0BA902B7'), false);
    assert.equal(isValidSpanId('0'.repeat(16)), false);
    assert.equal(isValidSpanId('00f067aa0ba902b7'), true);
  });
});

describe('createChildSpanContext', () => {
  it('starts a new trace with the random-trace-id flag set when there is no parent (§3.2.2.5.2)', () => {
    const root = createChildSpanContext(undefined);
    assert.ok(isValidTraceId(root.traceId));
    assert.equal(root.traceFlags, TraceFlags.RANDOM | TraceFlags.SAMPLED);
    assert.equal(createChildSpanContext(undefined, { sampled: false }).traceFlags, TraceFlags.RANDOM);
    assert.equal(root.traceState, undefined);
  });

  it('keeps trace id, trace state and the random flag as received, with a new span id (§3.2.2.5.2, §3.4)', () => {
    const parent = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 0x02,
      traceState: parseTraceState('congo=t61rcWkgMzE'),
      isRemote: true,
    };
    const child = createChildSpanContext(parent);
    assert.equal(child.traceId, parent.traceId);
    assert.notEqual(child.spanId, parent.spanId);
    assert.equal(child.traceFlags, 0x02);
    assert.equal(child.traceState, parent.traceState);
    assert.equal(child.isRemote, false);
    assert.equal(createChildSpanContext({ ...parent, traceFlags: 0x01 }).traceFlags, 0x01);
    assert.equal(createChildSpanContext({ ...parent, traceFlags: 0x03 }, { sampled: false }).traceFlags, 0x02);
  });
});
