import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sortIndicesByKey } from './sort-indices.ts';
import { seededRandom } from './test-support.ts';

/** The definition: a stable comparator sort of the indices. */
function reference(keys: ArrayLike<number>): number[] {
  return Array.from({ length: keys.length }, (_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
}

describe('sortIndicesByKey', () => {
  const random = seededRandom(7);
  // Few distinct keys (many ties, so stability shows), then keys spread over 32 and 53 bits.
  const cases: [string, number, number][] = [
    ['ties', 5_000, 50],
    ['32-bit', 5_000, 2 ** 32],
    ['53-bit', 5_000, 2 ** 53],
    ['short', 100, 2 ** 40],
  ];
  for (const [label, n, range] of cases) {
    const values = Array.from({ length: n }, () => Math.floor(random() * range));
    it(`orders float64 keys like a stable comparator sort (${label})`, () => {
      assert.deepEqual(Array.from(sortIndicesByKey(Float64Array.from(values))), reference(values));
    });
    if (range <= 2 ** 32) {
      it(`orders 32-bit keys like a stable comparator sort (${label})`, () => {
        assert.deepEqual(Array.from(sortIndicesByKey(Uint32Array.from(values))), reference(values));
      });
    }
  }
});
