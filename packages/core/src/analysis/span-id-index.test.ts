import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSpanId, SpanIdIndex, SpanIdLookup } from './span-id-index.ts';

describe('SpanIdIndex', () => {
  it('maps hex ids and any other string exactly, like a Map', () => {
    const index = new SpanIdIndex(2);
    const ids = [
      '00f067aa0ba902b7',
      'ffffffffffffffff',
      '0000000000000000',
      'ABCDEF0123456789',
      'short',
      '',
      'é0f067aa0ba902b7',
    ];
    for (const [i, id] of ids.entries()) assert.equal(index.add(id, i), -1);
    for (const [i, id] of ids.entries()) assert.equal(index.get(id), i);
    assert.equal(index.size, ids.length);
    assert.equal(index.get('00F067AA0BA902B7'), undefined, 'upper case is another id');
    assert.equal(index.get('00f067aa0ba902b8'), undefined);
    assert.deepEqual(new Map([...index]), new Map(ids.map((id, i) => [id, i])));
  });

  it('keeps the first index of a repeated id and grows past its expected size', () => {
    const index = new SpanIdIndex(1);
    for (let i = 0; i < 5000; i++) assert.equal(index.add(i.toString(16).padStart(16, '0'), i), -1);
    assert.equal(index.add('0000000000000007', 99), 7);
    index.set('0000000000000007', 99);
    assert.equal(index.get('0000000000000007'), 99);
    assert.equal(index.get('0000000000001387'), 4999);
    // As after dropping spans: every index moves.
    index.remap(new Int32Array(5000).map((_, i) => i * 2));
    assert.equal(index.get('0000000000000003'), 6);
    assert.equal(index.get('0000000000000007'), 198);
  });

  it('parses only 16 lowercase hex digits', () => {
    const hi = new Int32Array(1);
    const lo = new Int32Array(1);
    assert.equal(parseSpanId('80000000000000ff', hi, lo, 0), true);
    assert.deepEqual([hi[0] >>> 0, lo[0] >>> 0], [0x80000000, 0xff]);
    for (const id of [
      '80000000000000fg',
      '80000000000000f',
      '80000000000000ff0',
      '8000000000000 ff',
      '800000000000000\u0130',
    ]) {
      assert.equal(parseSpanId(id, hi, lo, 0), false, id);
    }
  });
});

describe('SpanIdLookup', () => {
  it('maps each span id to its position, built at the first lookup', () => {
    const lookup = new SpanIdLookup([{ spanId: 'b7ad6b7169203331' }, { spanId: 'x' }]);
    assert.equal(lookup.get('x'), 1);
    assert.equal(lookup.get('b7ad6b7169203331'), 0);
    assert.equal(lookup.has('y'), false);
    assert.equal(lookup.size, 2);
  });
});
