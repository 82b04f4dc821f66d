import { ATTR_SEP, attributeKeyPrefix, attributeValueText } from './attribute-codec.ts';

/**
 * Where a store row keeps a span's attributes: in per-key "slot" columns, so that each column
 * holds one key's values and compresses to a few bits per span (most keys have a handful of
 * values), with the order restored from a layout string.
 *
 * Grafana Tempo's Parquet schema has dedicated columns for well-known attributes and a generic
 * key/value list for the rest; this is the same idea with the dedicated keys chosen from the data:
 * the first `MAX_SLOTS` distinct keys a store sees get a slot each, for good. Every other
 * attribute, and the second occurrence of a key within one span, goes to the `rest` list.
 *
 * A span's attributes become (each attribute already encoded by attribute-codec.ts, whose escaping
 * keeps `ATTR_SEP` out of every encoded attribute):
 * - `layout`: one character per attribute, in order: `A` + slot for a slotted one, `~` for the
 *   next one from `rest`. Spans of one operation share a layout, so the column is a dictionary of
 *   a few entries.
 * - one value per slot: the attribute's value part only (`attributeValueText`; the slot names
 *   the key), so most fit in DuckDB's 12-byte inline strings; NULL for an empty slot.
 * - `rest`: the other attributes, whole, in order.
 * As text (`encode`, and how reads receive them: SQL `concat_ws` skips NULLs): the values of the
 * filled slots in slot order joined by `ATTR_SEP` (the layout says which slots those are), and
 * rest joined by `ATTR_SEP`.
 *
 * Measured on the bench:query data (20 attributes a span): 33.6 bytes a span as one list column,
 * 17.8 in slots (BENCHMARKS.md, "Store at scale").
 */

/** Slot columns per span row. Layout characters stay below `~` (A + 31 = `` ` ``). */
export const MAX_SLOTS = 32;
/** Layout character codes: `SLOT_BASE + slot` for a slotted attribute, `REST_CODE` (`~`) for one from the rest list. */
const SLOT_BASE = 65;
const REST_CODE = 126;

/**
 * Places one attribute of a span whose key has column `slot` (-1: none): its value goes to that
 * slot if the slot is still empty in this span, otherwise the whole encoded attribute goes to
 * `rest`. Returns the attribute's layout character code.
 */
export function placeAttribute(
  slot: number,
  fields: (string | undefined)[],
  value: string,
  encoded: string,
  rest: string[],
): number {
  if (slot < 0 || fields[slot] !== undefined) {
    rest.push(encoded);
    return REST_CODE;
  }
  fields[slot] = value;
  return SLOT_BASE + slot;
}

/** The key of each slot, and the slot of each key; append-only. */
export class AttributeSlots {
  private readonly slotByKey = new Map<string, number>();
  private readonly keys: string[] = [];

  /** Restores the assignment stored earlier, as `[key, slot]` pairs. */
  constructor(stored: Iterable<readonly [string, number]> = []) {
    for (const [key, slot] of stored) {
      if (slot < 0 || slot >= MAX_SLOTS || this.keys[slot] !== undefined) {
        throw new Error(`corrupt store: attribute slot ${slot} for ${JSON.stringify(key)} is invalid or taken`);
      }
      this.keys[slot] = key;
      this.slotByKey.set(key, slot);
    }
    if (this.keys.length !== this.slotByKey.size) throw new Error('corrupt store: attribute slots have gaps');
  }

  /** Slots in use (slot numbers run from 0 to `count - 1`). */
  get count(): number {
    return this.keys.length;
  }

  slotOf(key: string): number | undefined {
    return this.slotByKey.get(key);
  }

  /** The key of a slot in use. */
  keyAt(slot: number): string {
    return this.keys[slot];
  }

  /** The stored-attribute prefix (`attributeKeyPrefix`) of each slot's key, by slot. */
  prefixes(): string[] {
    return this.keys.map(attributeKeyPrefix);
  }

  /** A batch's view: its own new slots stay out of the committed assignment until `commit`. */
  batch(): SlotBatch {
    return new SlotBatch(this);
  }

  /** Adds the keys a batch elsewhere assigned, from slot `first` on (which must be the next free one). */
  extend(keys: readonly string[], first: number): void {
    if (keys.length === 0) return;
    if (first !== this.keys.length)
      throw new Error(`attribute slots: batch assigned from slot ${first}, next is ${this.keys.length}`);
    for (const key of keys) {
      this.slotByKey.set(key, this.keys.length);
      this.keys.push(key);
    }
  }

  /** Makes the slots a batch assigned permanent (after the batch committed). */
  commit(batch: SlotBatch): void {
    for (const key of batch.newKeys) {
      if (this.slotByKey.has(key)) continue;
      this.slotByKey.set(key, this.keys.length);
      this.keys.push(key);
    }
  }
}

/** Encodes the attributes of one batch's spans, assigning free slots to new keys on first sight. */
export class SlotBatch {
  /** Keys given a slot by this batch, in slot order after the committed ones. */
  readonly newKeys: string[] = [];
  private readonly newSlots = new Map<string, number>();
  private readonly fields: (string | undefined)[] = [];

  constructor(private readonly slots: AttributeSlots) {}

  /** Slots in use once this batch commits. */
  get count(): number {
    return this.slots.count + this.newKeys.length;
  }

  /** The slot of a key, assigning the next free one on first sight; undefined once all are taken. */
  slotFor(key: string): number | undefined {
    const slot = this.slots.slotOf(key) ?? this.newSlots.get(key);
    if (slot !== undefined || this.count >= MAX_SLOTS) return slot;
    const assigned = this.count;
    this.newSlots.set(key, assigned);
    this.newKeys.push(key);
    return assigned;
  }

  /**
   * Places one span's attributes (`keys[i]` is the key of the attribute stored as `encoded[i]`):
   * returns the layout and the attributes for the rest list; the slot values are then read with
   * `takeSlot`, which must be called for every slot before the next span is placed.
   */
  place(keys: readonly string[], encoded: readonly string[]): [layout: string, rest: string[]] {
    let layout = '';
    const rest: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      const slot = this.slotFor(keys[i]) ?? -1;
      layout += String.fromCharCode(
        placeAttribute(slot, this.fields, attributeValueText(encoded[i]), encoded[i], rest),
      );
    }
    return [layout, rest];
  }

  /** The value part `place` put in a slot (null if none), clearing it for the next span. */
  takeSlot(slot: number): string | null {
    const value = this.fields[slot];
    if (value === undefined) return null;
    this.fields[slot] = undefined;
    return value;
  }

  /** One span's attributes as `[layout, slots, rest]` strings (see the top of this file). */
  encode(keys: readonly string[], encoded: readonly string[]): [string, string, string] {
    const [layout, rest] = this.place(keys, encoded);
    const values: string[] = [];
    for (let s = 0; s < this.count; s++) {
      const value = this.takeSlot(s);
      if (value !== null) values.push(value);
    }
    return [layout, values.join(ATTR_SEP), rest.join(ATTR_SEP)];
  }
}

/**
 * For each position of a layout, the index of its value among the span's filled slots (in slot
 * order), or -1 for an attribute from the rest list. Layouts repeat: keep plans in `plans`.
 */
function layoutPlan(layout: string, plans: Map<string, Int8Array>): Int8Array {
  let plan = plans.get(layout);
  if (plan !== undefined) return plan;
  plan = new Int8Array(layout.length);
  for (let i = 0; i < layout.length; i++) {
    const code = layout.charCodeAt(i);
    if (code === REST_CODE) {
      plan[i] = -1;
      continue;
    }
    if (code < SLOT_BASE || code >= SLOT_BASE + MAX_SLOTS) throw corruptLayout(layout);
    let below = 0;
    for (let j = 0; j < layout.length; j++) {
      const other = layout.charCodeAt(j);
      if (other === code && j !== i) throw corruptLayout(layout);
      if (other !== REST_CODE && other < code) below++;
    }
    plan[i] = below;
  }
  plans.set(layout, plan);
  return plan;
}

function corruptLayout(layout: string): Error {
  return new Error(`corrupt store: attribute layout ${JSON.stringify(layout)} does not match its values`);
}

/**
 * The attributes of one stored span, in their original order: the inverse of `SlotBatch.encode`.
 * `decodeSlot(slot, value)` turns a slot's value part into an attribute, `decode` a whole stored
 * attribute string (callers cache both: values repeat); `plans` caches parsed layouts.
 */
export function attributesFromSlots<T>(
  layout: string,
  slotText: string,
  restText: string,
  decodeSlot: (slot: number, value: string) => T | undefined,
  decode: (encoded: string) => T,
  plans: Map<string, Int8Array> = new Map(),
): T[] {
  if (layout === '') {
    if (slotText !== '' || restText !== '') throw new Error('corrupt store: attributes without a layout');
    return [];
  }
  const plan = layoutPlan(layout, plans);
  const slots = slotText === '' ? [] : slotText.split(ATTR_SEP);
  const rest = restText === '' ? [] : restText.split(ATTR_SEP);
  const out: T[] = new Array(layout.length);
  let next = 0;
  let filled = 0;
  for (let i = 0; i < layout.length; i++) {
    let value: T | undefined;
    const at = plan[i];
    if (at < 0) {
      const encoded = rest[next++];
      if (encoded !== undefined && encoded !== '') value = decode(encoded);
    } else {
      filled++;
      const text = slots[at];
      if (text !== undefined && text !== '') value = decodeSlot(layout.charCodeAt(i) - SLOT_BASE, text);
    }
    if (value === undefined) throw corruptLayout(layout);
    out[i] = value;
  }
  if (next !== rest.length || filled !== slots.length) {
    throw new Error('corrupt store: attributes left over after the layout');
  }
  return out;
}
