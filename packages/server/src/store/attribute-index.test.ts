import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '@ariadne/core';
import { FrequentValueTracker, hashAttribute, IndexPairs, minuteOf, minutesToRanges } from './attribute-index.ts';

const MINUTE = 60_000_000_000n;

describe('attribute index helpers', () => {
  it('keeps each distinct (hash, minute) pair once, through growth, for hashes of all 32 bits', () => {
    const rand = seededRandom(3);
    const pairs = new IndexPairs(4);
    const expected = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      // Few hashes and minutes, so most adds repeat a pair; hashes above 2^31 included.
      const h = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, Math.floor(rand() * 2 ** 32)][Math.floor(rand() * 6)];
      const m = Math.floor(rand() * 40);
      pairs.add(h, m);
      expected.add(`${h}:${m}`);
    }
    const seen: string[] = [];
    pairs.forEach((h, m) => {
      seen.push(`${h}:${m}`);
    });
    assert.equal(pairs.size, expected.size);
    assert.deepEqual(new Set(seen), expected);
    assert.equal(seen.length, expected.size);
    assert.deepEqual(pairs.distinctHashes(), new Set([...expected].map((k) => Number(k.split(':')[0]))));
  });

  it('hashes to unsigned 32 bits, deterministically', () => {
    assert.equal(hashAttribute(''), 0x811c9dc5);
    assert.equal(hashAttribute('order.id\x1esORD-1'), hashAttribute('order.id\x1esORD-1'));
    assert.notEqual(hashAttribute('order.id\x1esORD-1'), hashAttribute('order.id\x1esORD-2'));
    assert.ok(hashAttribute('주문 ✓') >= 0 && hashAttribute('주문 ✓') < 2 ** 32);
  });

  it('puts a timestamp in its minute exactly, even one nanosecond before the next', () => {
    assert.equal(minuteOf(29_333_333n * MINUTE), 29_333_333);
    assert.equal(minuteOf(29_333_334n * MINUTE - 1n), 29_333_333);
  });

  it('merges consecutive minutes, then the closest ranges, down to the limit', () => {
    const r = (a: number, b: number) => ({ start: BigInt(a) * MINUTE, end: BigInt(b) * MINUTE });
    assert.deepEqual(minutesToRanges([5, 3, 4, 10, 4], 10), [r(3, 6), r(10, 11)]);
    // Gaps: 3→10 is 5 minutes, 10→12 is 2: the closest pair merges first.
    assert.deepEqual(minutesToRanges([3, 10, 12], 2), [r(3, 4), r(10, 13)]);
    assert.deepEqual(minutesToRanges([3, 10, 12], 1), [r(3, 13)]);
    assert.deepEqual(minutesToRanges([], 4), []);
  });

  it('marks a value frequent once it was seen in threshold batches, and only when told it is committed', () => {
    const t = new FrequentValueTracker({ threshold: 3, sketchBits: 8 }, [7]);
    assert.equal(t.isFrequent(7), true);
    assert.deepEqual(t.observe([1, 2]), []);
    assert.deepEqual(t.observe([1]), []);
    assert.deepEqual(t.observe([1, 2]), [1]);
    assert.equal(t.isFrequent(1), false, 'not before the mark is committed');
    t.markFrequent([1]);
    assert.equal(t.isFrequent(1), true);
    assert.equal(t.isFrequent(2), false);
  });
});
