import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTraceQL } from '@ariadne/core';
import type { SpanPredicate, SpanRequirement } from './span-store.ts';
import { exactSpanPredicate, planTraceQL } from './traceql-plan.ts';

const plan = (q: string) => planTraceQL(compileTraceQL(q));
const all: SpanPredicate = { kind: 'all' };
const service = (name: string): SpanPredicate => ({
  kind: 'compare',
  field: { kind: 'service' },
  op: '=',
  value: name,
});
const error: SpanPredicate = { kind: 'compare', field: { kind: 'status' }, op: '=', value: 2n };
const req = (predicate: SpanPredicate, minSpans = 1): SpanRequirement => ({ predicate, minSpans });

describe('TraceQL plan: what a store must find', () => {
  it('turns span conditions into predicates, flipping a literal on the left', () => {
    assert.deepEqual(plan('{ resource.service.name = "order" && status = error }'), [
      req({ kind: 'and', args: [service('order'), error] }),
    ]);
    assert.deepEqual(plan('{ 500ms < duration }'), [
      req({ kind: 'compare', field: { kind: 'duration' }, op: '>', value: 500_000_000n }),
    ]);
    assert.deepEqual(plan('{ span.http.status_code >= 500 }'), [
      req({
        kind: 'compare',
        field: { kind: 'attribute', scope: 'span', key: 'http.status_code' },
        op: '>=',
        value: 500n,
      }),
    ]);
    assert.deepEqual(plan('{ .order.id = "ORD-1" || kind = server }'), [
      req({
        kind: 'or',
        args: [
          { kind: 'compare', field: { kind: 'attribute', scope: 'any', key: 'order.id' }, op: '=', value: 'ORD-1' },
          { kind: 'compare', field: { kind: 'kind' }, op: '=', value: 2n },
        ],
      }),
    ]);
  });

  it('leaves out what a span predicate cannot say, never narrowing too far', () => {
    for (const q of [
      '{ }',
      '{ name =~ "GET .*" }',
      '{ span.a = nil }',
      '{ .a + 1 > 2 }',
      '{ !(status = error) }',
      '{ event.exception.message = "x" }',
      '{ trace:rootService = "a" }',
      '{ status = error || name =~ "x" }',
    ])
      assert.deepEqual(plan(q), [req(all)], q);
    assert.deepEqual(plan('{ status = error && name =~ "x" }'), [req(error)]);
  });

  it('needs both sides of && and structural operators, either side of ||, the right of negated ones', () => {
    assert.deepEqual(plan('{ resource.service.name = "frontend" } >> { status = error }'), [
      req(service('frontend')),
      req(error),
    ]);
    assert.deepEqual(plan('{ resource.service.name = "a" } && { resource.service.name = "b" }'), [
      req(service('a')),
      req(service('b')),
    ]);
    assert.deepEqual(plan('{ resource.service.name = "a" } || { status = error }'), [
      req({ kind: 'or', args: [service('a'), error] }),
    ]);
    assert.deepEqual(plan('{ resource.service.name = "a" } !>> { status = error }'), [req(error)]);
    assert.deepEqual(plan('{ } >> { status = error }'), [req(error)]);
    assert.deepEqual(plan('({ status = error } | count() > 1) && ({ resource.service.name = "a" })'), [
      req(error, 2),
      req(service('a')),
    ]);
  });

  it('counts the spans a count() stage needs, and narrows by later filter stages', () => {
    assert.deepEqual(plan('{ status = error } | count() > 2'), [req(error, 3)]);
    assert.deepEqual(plan('{ status = error } | count() >= 2'), [req(error, 2)]);
    assert.deepEqual(plan('{ status = error } | count() < 2'), [req(error)]);
    assert.deepEqual(plan('{ status = error } | by(resource.service.name) | count() > 2'), [req(error)]);
    assert.deepEqual(plan('{ status = error } | count() > 2 | { resource.service.name = "a" }'), [
      req({ kind: 'and', args: [error, service('a')] }),
    ]);
    assert.deepEqual(plan('{ status = error } | { resource.service.name = "a" } | count() > 1'), [
      req({ kind: 'and', args: [error, service('a')] }, 2),
    ]);
  });
});

describe('TraceQL plan: queries the store answers exactly', () => {
  const exact = (q: string) => exactSpanPredicate(compileTraceQL(q));

  it('takes one spanset filter on service, name, status and duration', () => {
    assert.deepEqual(exact('{ resource.service.name = "order" && status = error }'), {
      kind: 'and',
      args: [service('order'), error],
    });
    assert.deepEqual(exact('{}'), all);
    for (const q of [
      '{ name != "GET /health" || 2s <= duration }',
      '{ span:status != ok && duration < 1ms }',
      '{ (resource.service.name = "a" || resource.service.name = "b") && name = "x" }',
    ])
      assert.ok(exact(q) !== undefined, q);
  });

  it('refuses attributes, kinds, regexes, string order, nil, pipelines and spanset operators', () => {
    for (const q of [
      '{ .order.id = "x" }',
      '{ span.order.id = "x" }',
      '{ resource.service.name != "x" }',
      '{ kind = server }',
      '{ name =~ "GET.*" }',
      '{ name > "a" }',
      '{ statusMessage = "x" }',
      '{ duration > 1 }',
      '{ resource.service.name = "a" && .x = nil }',
      '{ status = error } | count() > 2',
      '{ status = error } | by(name)',
      '{ name = "a" } >> { status = error }',
      '{ name = "a" } && { status = error }',
      '{ trace:duration > 1s }',
    ])
      assert.equal(exact(q), undefined, q);
  });
});
