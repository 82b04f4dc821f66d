import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeyValue } from '@ariadne/core';
import { ATTR_SEP, attributeFilterCandidates, decodeAttribute, encodeAttribute } from './attribute-codec.ts';

describe('attribute codec', () => {
  it('round-trips every value type exactly, including separators inside keys and values', () => {
    const attributes: KeyValue[] = [
      { key: 'big', value: { type: 'int', value: 9223372036854775807n } },
      { key: 'neg', value: { type: 'int', value: -9223372036854775808n } },
      { key: 'pi', value: { type: 'double', value: Math.PI } },
      { key: 'minus-zero', value: { type: 'double', value: -0 } },
      { key: 'inf', value: { type: 'double', value: Number.NEGATIVE_INFINITY } },
      { key: 'flag', value: { type: 'bool', value: false } },
      { key: `evil${ATTR_SEP}\x1e\x1d0key`, value: { type: 'string', value: `a${ATTR_SEP}b\x1ec\x1d1` } },
      { key: 'bytes', value: { type: 'bytes', value: new Uint8Array([0, 255, 7]) } },
      {
        key: 'nested',
        value: { type: 'kvlist', value: [{ key: 'x', value: { type: 'array', value: [{ type: 'empty' }] } }] },
      },
      { key: '', value: { type: 'string', value: '' } },
    ];
    for (const kv of attributes) {
      const encoded = encodeAttribute(kv);
      assert.ok(!encoded.includes(ATTR_SEP), `separator escaped in ${kv.key}`);
      assert.deepEqual(decodeAttribute(encoded), kv);
    }
    const nan = decodeAttribute(encodeAttribute({ key: 'n', value: { type: 'double', value: Number.NaN } }));
    assert.ok(nan.value.type === 'double' && Number.isNaN(nan.value.value));
  });

  it('offers every typed form a search value can match', () => {
    const stored = [
      encodeAttribute({ key: 'http.status_code', value: { type: 'int', value: 500n } }),
      encodeAttribute({ key: 'ratio', value: { type: 'double', value: 0.5 } }),
      encodeAttribute({ key: 'ok', value: { type: 'bool', value: true } }),
      encodeAttribute({ key: 'order.id', value: { type: 'string', value: 'ORD-1' } }),
    ];
    assert.ok(attributeFilterCandidates('http.status_code', '500').includes(stored[0]));
    assert.ok(attributeFilterCandidates('ratio', '0.5').includes(stored[1]));
    assert.ok(attributeFilterCandidates('ok', 'true').includes(stored[2]));
    assert.ok(attributeFilterCandidates('order.id', 'ORD-1').includes(stored[3]));
    assert.ok(!attributeFilterCandidates('order.id', 'ORD-2').includes(stored[3]));
  });
});
