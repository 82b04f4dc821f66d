import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CompletionSpot, completionSpotAt, INTRINSIC_FIELDS } from './traceql-complete.ts';

/** The spot at the `‸` in `marked` (removed before the text is scanned). */
function spot(marked: string): CompletionSpot | undefined {
  const pos = marked.indexOf('‸');
  assert.ok(pos >= 0, 'mark the cursor with ‸');
  return completionSpotAt(marked.replace('‸', ''), pos);
}

describe('completionSpotAt', () => {
  it('offers a spanset at the start and after spanset operators', () => {
    assert.deepEqual(spot('‸'), { kind: 'spanset', from: 0 });
    assert.deepEqual(spot('{ a = 1 } >> ‸'), { kind: 'spanset', from: 13 });
    assert.deepEqual(spot('({ a = 1 } && ‸'), { kind: 'spanset', from: 14 });
  });

  it('offers fields after {, &&, || and (', () => {
    assert.deepEqual(spot('{ ‸'), { kind: 'field', from: 2 });
    assert.deepEqual(spot('{‸'), { kind: 'field', from: 1 });
    assert.deepEqual(spot('{ a = 1 && ‸ }'), { kind: 'field', from: 11 });
    assert.deepEqual(spot('{ (a = 1 || ‸'), { kind: 'field', from: 12 });
    assert.deepEqual(spot('{ !‸'), { kind: 'field', from: 3 });
  });

  it('replaces the word being typed, from its start', () => {
    assert.deepEqual(spot('{ reso‸'), { kind: 'field', from: 2 });
    assert.deepEqual(spot('{ stat‸ }'), { kind: 'field', from: 2 });
    assert.deepEqual(spot('{ span:na‸'), { kind: 'field', from: 2 });
  });

  it('offers attribute names after a scope, from where the name starts', () => {
    assert.deepEqual(spot('{ resource.‸'), { kind: 'attribute', scope: 'resource', from: 11 });
    assert.deepEqual(spot('{ resource.serv‸'), { kind: 'attribute', scope: 'resource', from: 11 });
    assert.deepEqual(spot('{ span.http.me‸ = 1 }'), { kind: 'attribute', scope: 'span', from: 7 });
    assert.deepEqual(spot('{ .‸'), { kind: 'attribute', scope: 'none', from: 3 });
    assert.deepEqual(spot('{ a = 1 && event.‸'), { kind: 'attribute', scope: 'event', from: 17 });
    assert.deepEqual(spot('{ instrumentation.x‸'), { kind: 'attribute', scope: 'instrumentation', from: 18 });
  });

  it('offers operators after a field', () => {
    assert.deepEqual(spot('{ resource.service.name ‸'), {
      kind: 'operator',
      from: 24,
      field: 'resource.service.name',
    });
    assert.deepEqual(spot('{ duration ‸'), { kind: 'operator', from: 11, field: 'duration' });
    assert.deepEqual(spot('{ span:kind ‸'), { kind: 'operator', from: 12, field: 'span:kind' });
  });

  it('offers values after field and operator, inside an open string too', () => {
    assert.deepEqual(spot('{ status = ‸'), { kind: 'value', from: 11, field: 'status' });
    assert.deepEqual(spot('{ status=‸'), { kind: 'value', from: 9, field: 'status' });
    assert.deepEqual(spot('{ status = err‸ }'), { kind: 'value', from: 11, field: 'status' });
    assert.deepEqual(spot('{ resource.service.name = "fro‸'), {
      kind: 'value',
      from: 26,
      field: 'resource.service.name',
    });
    assert.deepEqual(spot('{ .order.id != "a \\" b‸'), { kind: 'value', from: 15, field: '.order.id' });
    assert.deepEqual(spot('{ span.n >= 2‸'), { kind: 'value', from: 12, field: 'span.n' });
    assert.deepEqual(spot('{ span."a b" = ‸'), { kind: 'value', from: 15, field: 'span."a b"' });
  });

  it('narrows values by the conditions joined to the field by &&', () => {
    assert.deepEqual(spot('{ resource.service.name = "order" && span.db.system = "p‸ }'), {
      kind: 'value',
      from: 54,
      field: 'span.db.system',
      where: '{ resource.service.name = "order" }',
    });
    assert.deepEqual(spot('{ a = 1 || b = 2 && name = ‸'), {
      kind: 'value',
      from: 27,
      field: 'name',
      where: '{ a = 1 || b = 2 }',
    });
    assert.deepEqual(spot('{ a } >> { b = 1 && .c = ‸'), { kind: 'value', from: 25, field: '.c', where: '{ b = 1 }' });
    // Not when the condition is an alternative, or the conditions before are grouped or negated.
    assert.deepEqual(spot('{ a = 1 || name = ‸'), { kind: 'value', from: 18, field: 'name' });
    assert.deepEqual(spot('{ (a = 1) && name = ‸'), { kind: 'value', from: 20, field: 'name' });
    assert.deepEqual(spot('{ !a && name = ‸'), { kind: 'value', from: 15, field: 'name' });
  });

  it('offers && || } after a condition, and spanset operators after a spanset', () => {
    assert.deepEqual(spot('{ status = error ‸'), { kind: 'connective', from: 17 });
    assert.deepEqual(spot('{ name = "x" ‸'), { kind: 'connective', from: 13 });
    assert.deepEqual(spot('{ status = error } ‸'), { kind: 'afterSpanset', from: 19 });
    assert.deepEqual(spot('{ status = error } | ‸'), { kind: 'pipeline', from: 21 });
    assert.deepEqual(spot('{ status = error } | cou‸'), { kind: 'pipeline', from: 21 });
  });

  it('offers fields inside by() and select(), not inside other parentheses', () => {
    assert.deepEqual(spot('{ } | by(‸'), { kind: 'field', from: 9 });
    assert.deepEqual(spot('{ } | select(span.a, ‸'), { kind: 'field', from: 21 });
    assert.deepEqual(spot('{ } | select(resource.‸'), { kind: 'attribute', scope: 'resource', from: 22 });
  });

  it('offers nothing in a comment, after a finished string or in a number outside a value', () => {
    assert.equal(spot('{ a = 1 } // com‸'), undefined);
    assert.equal(spot('{ a = "x"‸'), undefined);
    assert.equal(spot('{ a = 1 } | count() > 2‸'), undefined);
    assert.equal(spot('/* open ‸'), undefined);
    assert.equal(spot('.x‸'), undefined);
  });

  it('knows old and colon spellings of intrinsics with their types', () => {
    assert.equal(INTRINSIC_FIELDS.status, 'status');
    assert.equal(INTRINSIC_FIELDS['span:status'], 'status');
    assert.equal(INTRINSIC_FIELDS.rootServiceName, 'string');
    assert.equal(INTRINSIC_FIELDS['trace:duration'], 'duration');
  });
});
