import type { AnyValue } from '@ariadne/core';
import type { SpanCompareOp, SpanPredicate, SpanValue, TagValue } from '../query/span-store.ts';
import { attributeKeyPrefix, encodeAttribute } from './attribute-codec.ts';

/**
 * Helpers the stores share to turn span predicates (query/span-store.ts) into their SQL: the
 * stored attribute texts a typed equality matches, and the simplifications every store applies.
 * Pure; what a store cannot express it treats as true (the engine checks candidates exactly).
 */

/**
 * The stored texts (attribute-codec.ts) of attribute `key` equal to `value` as TraceQL compares:
 * a string only a string attribute, a number an int or double attribute of the same value, a
 * boolean a bool attribute. Array and map values are stored as JSON (`j…`): see
 * {@link jsonValuePrefix}.
 */
export function attributeEqualityTexts(key: string, value: SpanValue): string[] {
  const text = (v: AnyValue) => encodeAttribute({ key, value: v });
  switch (typeof value) {
    case 'string':
      return [text({ type: 'string', value })];
    case 'boolean':
      return [text({ type: 'bool', value })];
    case 'bigint': {
      const out = [text({ type: 'int', value })];
      const d = Number(value);
      if (BigInt(d) === value) out.push(text({ type: 'double', value: d }));
      // -0 and 0 are equal numbers but distinct stored texts.
      if (value === 0n) out.push(text({ type: 'double', value: -0 }));
      return out;
    }
    case 'number': {
      if (Number.isNaN(value)) return [];
      // -0 and 0 are equal numbers but distinct stored texts.
      const out = [text({ type: 'double', value }), ...(value === 0 ? [text({ type: 'double', value: -value })] : [])];
      if (Number.isInteger(value)) out.push(text({ type: 'int', value: BigInt(value) }));
      return out;
    }
  }
}

/**
 * Resources whose `service.name` is not a non-empty string have their spans stored under the
 * service `unknown_service` (core `serviceNameOf`), but TraceQL's `resource.service.name` reads
 * the attribute itself: `""`, a number, a bool or an array there may meet `op value` where
 * `unknown_service` does not. The stored resource attribute texts (attribute-codec.ts) of those
 * that may: `texts` exactly (`""`, when `"" op value` holds), or starting with one of `prefixes`
 * (arrays, for a string value; also ints, doubles and bools for another value). Maps and bytes
 * are not searchable, so never listed: for a string value the `service` column stays exact but
 * for resources holding an array there.
 */
export function oddServiceNameTexts(op: SpanCompareOp, value: SpanValue): { texts: string[]; prefixes: string[] } {
  const prefix = attributeKeyPrefix('service.name');
  // attribute-codec.ts stores an array as `j` and its OTLP JSON, `{"arrayValue":…}`.
  const arrays = `${prefix}j{"arrayValue"`;
  if (typeof value !== 'string') return { texts: [], prefixes: [`${prefix}i`, `${prefix}d`, `${prefix}b`, arrays] };
  const emptyMeets =
    op === '<=' || ((op === '=' || op === '>=') && value === '') || ((op === '!=' || op === '<') && value !== '');
  return { texts: emptyMeets ? [`${prefix}s`] : [], prefixes: [arrays] };
}

/** The stored prefix of attribute `key` holding an array or map (JSON), which `=` may match. */
export function jsonValuePrefix(key: string): string {
  return `${attributeKeyPrefix(key)}j`;
}

/** `p` with `all` folded away: `and` drops it, `or` becomes it; an empty `and` is `all`. */
export function simplifyPredicate(p: SpanPredicate): SpanPredicate {
  if (p.kind === 'compare' || p.kind === 'all') return p;
  const args = p.args.map(simplifyPredicate);
  if (p.kind === 'and') {
    const kept = args.filter((a) => a.kind !== 'all');
    return kept.length === 0 ? { kind: 'all' } : kept.length === 1 ? kept[0] : { kind: 'and', args: kept };
  }
  if (args.length === 0 || args.some((a) => a.kind === 'all')) return { kind: 'all' };
  return args.length === 1 ? args[0] : { kind: 'or', args };
}

/**
 * Attribute equalities that every span meeting `p` satisfies: for each, the key and the values one
 * of which it equals. The comparisons of its top-level `and`, and of an `or` whose every branch
 * requires the same key (`(.code = "500" || .code = 500)`, as the search form writes a value that
 * spells a number): what an attribute index can narrow a search with.
 */
export function requiredEqualities(p: SpanPredicate): { key: string; values: SpanValue[] }[] {
  if (p.kind === 'compare')
    return p.field.kind === 'attribute' && p.op === '=' ? [{ key: p.field.key, values: [p.value] }] : [];
  if (p.kind === 'and') return p.args.flatMap(requiredEqualities);
  if (p.kind === 'or' && p.args.length > 0) {
    const branches = p.args.map(requiredEqualities);
    const out: { key: string; values: SpanValue[] }[] = [];
    for (const { key } of branches[0]) {
      if (out.some((e) => e.key === key)) continue;
      const values: SpanValue[] = [];
      for (const branch of branches) {
        const own = branch.filter((e) => e.key === key);
        if (own.length === 0) {
          values.length = 0;
          break;
        }
        // A branch requiring the key twice needs both: either one's values bound it.
        values.push(...own[0].values);
      }
      if (values.length > 0) out.push({ key, values });
    }
    return out;
  }
  return [];
}

/**
 * The searchable values of attributes as TraceQL sees them, sorted (strings, ints, floats,
 * booleans; each by value) and distinct, at most `limit`: scalars as they are, an array's
 * scalar elements, nothing of bytes, maps and empty values.
 */
export function tagValuesOf(values: Iterable<AnyValue>, limit: number): TagValue[] {
  const seen = new Map<string, TagValue>();
  const add = (v: AnyValue) => {
    let tag: TagValue | undefined;
    if (v.type === 'string') tag = { type: 'string', value: v.value };
    else if (v.type === 'int') tag = { type: 'int', value: v.value };
    else if (v.type === 'double') tag = { type: 'float', value: v.value };
    else if (v.type === 'bool') tag = { type: 'bool', value: v.value };
    else if (v.type === 'array') for (const e of v.value) add(e);
    if (tag !== undefined) seen.set(`${tag.type}:${String(tag.value)}`, tag);
  };
  for (const v of values) add(v);
  const order = { string: 0, int: 1, float: 2, bool: 3 } as const;
  return [...seen.values()]
    .sort((a, b) =>
      a.type !== b.type ? order[a.type] - order[b.type] : a.value < b.value ? -1 : a.value > b.value ? 1 : 0,
    )
    .slice(0, Math.max(0, limit));
}

/** Whether an attribute value is one TraceQL can search (a scalar, or an array). */
export function isSearchableValue(v: AnyValue): boolean {
  return v.type === 'string' || v.type === 'int' || v.type === 'double' || v.type === 'bool' || v.type === 'array';
}
