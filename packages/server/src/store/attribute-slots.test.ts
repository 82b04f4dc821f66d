import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '@ariadne/core';
import { ATTR_SEP } from './attribute-codec.ts';
import { AttributeSlots, attributesFromSlots, MAX_SLOTS } from './attribute-slots.ts';

/** An encoded attribute (attribute-codec.ts is tested on its own): key prefix, then value part. */
const enc = (key: string, value: string) => `${key}\x1es${value}`;

function roundTrip(slots: AttributeSlots, spans: [string, string][][]): void {
  const batch = slots.batch();
  const stored = spans.map((attrs) =>
    batch.encode(
      attrs.map(([k]) => k),
      attrs.map(([k, v]) => enc(k, v)),
    ),
  );
  slots.commit(batch);
  stored.forEach(([layout, slotText, rest], i) => {
    assert.deepEqual(
      attributesFromSlots(
        layout,
        slotText,
        rest,
        (slot, value) => slots.prefixes()[slot] + value,
        (text) => text,
      ),
      spans[i].map(([k, v]) => enc(k, v)),
    );
  });
}

describe('attribute slots', () => {
  it('puts each key in its own slot and restores the original order', () => {
    const slots = new AttributeSlots();
    const batch = slots.batch();
    const [layout, slotText, rest] = batch.encode(['b', 'a', 'c'], [enc('b', '1'), enc('a', '2'), enc('c', '3')]);
    assert.equal(layout, 'ABC');
    // Slots hold the value part only: the slot names the key.
    assert.equal(slotText, ['s1', 's2', 's3'].join(ATTR_SEP));
    assert.equal(rest, '');
    // Same keys in another order: same slots, different layout; a missing slot is empty.
    const [layout2, slotText2] = batch.encode(['c', 'b'], [enc('c', '9'), enc('b', '8')]);
    assert.equal(layout2, 'CA');
    // Only filled slots, in slot order (the layout says which).
    assert.equal(slotText2, ['s8', 's9'].join(ATTR_SEP));
    assert.deepEqual(batch.newKeys, ['b', 'a', 'c']);
    // Not committed yet: the store's assignment is unchanged (a rolled-back batch leaves no trace).
    assert.equal(slots.count, 0);
    slots.commit(batch);
    assert.equal(slots.slotOf('c'), 2);
  });

  it('sends a repeated key and keys beyond the last slot to the rest list, in order', () => {
    const slots = new AttributeSlots();
    const many: [string, string][] = Array.from({ length: MAX_SLOTS + 5 }, (_, i) => [`k${i}`, `v${i}`]);
    const withDuplicate: [string, string][] = [['k1', 'first'], ['x', '1'], ['k1', 'second'], ...many];
    roundTrip(slots, [withDuplicate, many, []]);
    assert.equal(slots.count, MAX_SLOTS);
    const [layout, , rest] = slots
      .batch()
      .encode(['k1', 'k1', 'late'], [enc('k1', 'a'), enc('k1', 'b'), enc('late', 'c')]);
    assert.equal(layout, 'A~~');
    assert.equal(rest, [enc('k1', 'b'), enc('late', 'c')].join(ATTR_SEP));
  });

  it('round-trips random spans and survives a restart of its assignment', () => {
    const random = seededRandom(7);
    const slots = new AttributeSlots();
    for (let round = 0; round < 20; round++) {
      const spans = Array.from({ length: 30 }, () =>
        Array.from({ length: Math.floor(random() * 12) }, (): [string, string] => [
          `key${Math.floor(random() * 50)}`,
          `${Math.floor(random() * 5)}`,
        ]),
      );
      roundTrip(slots, spans);
    }
    const restored = new AttributeSlots(
      Array.from({ length: slots.count }, (_, i) => {
        const key = [...Array(50).keys()].map((k) => `key${k}`).find((k) => slots.slotOf(k) === i);
        return [key as string, i] as const;
      }),
    );
    for (let k = 0; k < 50; k++) assert.equal(restored.slotOf(`key${k}`), slots.slotOf(`key${k}`));
  });

  it('rejects stored data that does not fit together', () => {
    assert.throws(
      () =>
        new AttributeSlots([
          ['a', 0],
          ['b', 0],
        ]),
      /slot 0/,
    );
    assert.throws(() => new AttributeSlots([['a', 1]]), /gaps/);
    const prefixes = ['a\x1e', 'b\x1e'];
    const fromSlot = (slot: number, value: string) =>
      prefixes[slot] === undefined ? undefined : prefixes[slot] + value;
    assert.deepEqual(
      attributesFromSlots('BA', `s1${ATTR_SEP}s2`, '', fromSlot, (t) => t),
      [enc('b', '2'), enc('a', '1')],
    );
    assert.throws(() => attributesFromSlots('AB', 's1', '', fromSlot, (t) => t), /does not match/);
    assert.throws(
      () => attributesFromSlots('C', `s1${ATTR_SEP}s2${ATTR_SEP}s3`, '', fromSlot, (t) => t),
      /does not match/,
    );
    assert.throws(
      () => attributesFromSlots('~', '', [enc('a', '1'), enc('b', '2')].join(ATTR_SEP), fromSlot, (t) => t),
      /left over/,
    );
  });
});
