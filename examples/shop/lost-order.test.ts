import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { analyzeTrace, type Span, spanFromApiJson } from '@ariadne/core';
import { findLostOrder, isCompleteOrderTrace, renderLostOrderReport } from './lost-order.ts';

/**
 * Real traces of the shop, as Ariadne's API returned them after a run of `npm start -- --once`:
 * an order lost after 3 timed-out writes, an order saved at the third attempt, and a plain one.
 */
function fixture(name: string): Span[] {
  const body = JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8'));
  return body.spans.map((s: unknown, i: number) => spanFromApiJson(s, `spans[${i}]`));
}

const lostSpans = fixture('lost-order-trace');
const recoveredSpans = fixture('recovered-order-trace');
const completedSpans = fixture('completed-order-trace');

describe('the analysis of shop traces', () => {
  it('calls the errors of a lost order swallowed: none of the 3 attempts is a recovered retry', () => {
    const { trace, errors } = analyzeTrace(lostSpans);
    assert.equal(errors.hasSwallowed, true);
    const save = errors.errors.find((e) => e.name === 'save_order');
    assert.equal(save?.outcome, 'swallowed');
    assert.equal(save?.service, 'order');
    const attempts = errors.errors.filter((e) => e.name === 'INSERT orders');
    assert.equal(attempts.length, 3);
    assert.deepEqual(
      attempts.map((e) => e.outcome),
      ['swallowed', 'swallowed', 'swallowed'],
    );
    // The root answered the customer without error.
    assert.equal(errors.isError[trace.rootIndex], 0);
    assert.equal(trace.spans[trace.rootIndex].serviceName, 'frontend');
  });

  it('calls failed attempts before a successful one recovered, and nothing swallowed', () => {
    const { errors } = analyzeTrace(recoveredSpans);
    assert.ok(errors.errors.length >= 1);
    assert.ok(errors.errors.every((e) => e.name === 'INSERT orders' && e.outcome === 'recovered'));
    assert.equal(errors.hasSwallowed, false);
    assert.equal(findLostOrder(recoveredSpans), undefined);
  });

  it('finds no error in an order saved at the first attempt', () => {
    assert.equal(analyzeTrace(completedSpans).errors.errors.length, 0);
    assert.equal(findLostOrder(completedSpans), undefined);
  });
});

describe('findLostOrder', () => {
  it('names the order, the failure and what the customer was told', () => {
    const lost = findLostOrder(lostSpans);
    assert.ok(lost);
    assert.match(lost.orderId, /^ORD-[0-9A-Z]{10}$/);
    assert.equal(lost.traceId, lostSpans[0].traceId);
    assert.equal(lost.summary, 'order save_order failed after 3 attempts; frontend answered success');
    assert.equal(lost.attempts, 3);
    assert.equal(lost.rootAnswer, 'success');
    assert.match(lost.reason, /failed after 3 attempts: lock wait timeout/);
    assert.equal(lost.complete, true);
  });

  it('gives the chain from the last failed attempt up through the four services to the root', () => {
    assert.deepEqual(findLostOrder(lostSpans)?.chain, [
      'INSERT orders #3 (order)',
      'save_order (order)',
      'POST /orders (order)',
      'POST (inventory)',
      'update_inventory (inventory)',
      'POST /reservations (inventory)',
      'POST (frontend)',
      'place_order (frontend)',
      'POST /orders (frontend)',
    ]);
  });
});

describe('isCompleteOrderTrace', () => {
  it('accepts a whole trace and rejects one whose frontend spans have not arrived yet', () => {
    assert.equal(isCompleteOrderTrace(lostSpans), true);
    assert.equal(isCompleteOrderTrace(lostSpans.filter((s) => s.serviceName !== 'frontend')), false);
  });

  it('rejects a trace with a span whose parent is missing', () => {
    const withoutReservation = lostSpans.filter((s) => s.name !== 'POST /reservations');
    assert.equal(isCompleteOrderTrace(withoutReservation), false);
  });
});

describe('renderLostOrderReport', () => {
  it('prints the ids, the sentence, the chain, the UI link, the trace report and the logs', () => {
    const lost = findLostOrder(lostSpans)!;
    const text = renderLostOrderReport(lostSpans, lost, {
      apiUrl: 'http://127.0.0.1:4320',
      answer: `{"status":"success","orderId":"${lost.orderId}"}`,
      logLines: [`level=error service=order trace_id=${lost.traceId} msg="giving up on order"`],
    });
    assert.match(text, new RegExp(`LOST ORDER ${lost.orderId}`));
    assert.match(text, new RegExp(`trace id +${lost.traceId}`));
    assert.match(text, /what happened +order save_order failed after 3 attempts; frontend answered success/);
    assert.match(text, /chain +INSERT orders #3 \(order\)\n +<- save_order \(order\)/);
    assert.ok(text.includes(`http://127.0.0.1:4320/trace/${lost.traceId}`));
    assert.ok(text.includes(`ariadne search --attr order.id=${lost.orderId}`));
    assert.match(text, /legend: = span, # on the critical path, ! error/);
    assert.match(text, /Time per service\n/);
    assert.match(text, /swallowed +order save_order/);
    assert.match(text, /msg="giving up on order"/);
  });
});
