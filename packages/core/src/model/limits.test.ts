import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testSpan } from '../analysis/test-support.ts';
import { type LimitedHeads, limitSpan, SPAN_LIMITS } from './limits.ts';
import type { KeyValue, Resource, Span } from './span.ts';

const attrs = (n: number): KeyValue[] =>
  Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: { type: 'string', value: 'v' } }));

/** A test span (analysis/test-support.ts) with `resource` and `attributes`. */
function span(resource: Resource, attributes: KeyValue[] = []): Span {
  return { ...testSpan({ id: 'a', start: 0, end: 1, attributes }), resource };
}

describe('limitSpan', () => {
  it('returns a span within the limits itself, unchanged', () => {
    const s = span({ attributes: attrs(3), droppedAttributesCount: 0, schemaUrl: '' }, attrs(SPAN_LIMITS.attributes));
    const limited = limitSpan(s);
    assert.equal(limited.span, s);
    assert.equal(limited.dropped, 0);
  });

  it('gives spans sharing a resource over the limit one limited copy, counted on the resource', () => {
    const resource: Resource = {
      attributes: attrs(SPAN_LIMITS.attributes + 10),
      droppedAttributesCount: 1,
      schemaUrl: '',
    };
    const heads: LimitedHeads = new WeakMap();
    const a = limitSpan(span(resource), heads);
    const b = limitSpan(span(resource, attrs(SPAN_LIMITS.attributes + 1)), heads);
    assert.equal(a.span.resource, b.span.resource, 'one copy, so that stores see one resource');
    assert.equal(a.span.resource.attributes.length, SPAN_LIMITS.attributes);
    assert.equal(a.span.resource.droppedAttributesCount, 11);
    assert.equal(a.dropped, 0, "the resource's drops are counted on it, not the span's");
    assert.equal(a.droppedFromHeads, 10, 'and reported once, with the first span that shares it');
    assert.equal(b.dropped, 1);
    assert.equal(b.droppedFromHeads, 0);
    assert.equal(b.span.droppedAttributesCount, 1);
  });
});
