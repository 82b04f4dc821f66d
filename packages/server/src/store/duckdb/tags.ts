/**
 * Attribute names and values for autocompletion in the DuckDB store (query/span-store.ts
 * `listTagNames`, `listTagValues`): from the spans starting in a window, span attributes from
 * their slot columns and rest lists, resource attributes from the resources those spans use.
 */
import type { AnyValue } from '@ariadne/core';
import { VARCHAR } from '@duckdb/node-api';
import type { TagScope, TagValue, TagValuesQuery, TimeRange } from '../../query/span-store.ts';
import { attributeKeyPrefix, decodeAttribute, decodeAttributeKey } from '../attribute-codec.ts';
import { SLOT_COLUMNS } from '../duckdb-schema.ts';
import { isSearchableValue, simplifyPredicate, tagValuesOf } from '../span-predicate.ts';
import { predicateSql } from './candidates.ts';
import type { SearchContext } from './search.ts';
import { addRange, Params } from './sql.ts';

const MAX_LIMIT = 10_000;
/** Distinct stored texts read for a value list at most (before typing and sorting). */
const MAX_TEXTS = 100_000;

/** The resources' attribute lists of spans in the window that meet `where` (SQL, with `p`). */
async function resourceAttributes(ctx: SearchContext, where: string, p: Params): Promise<string[][]> {
  const rows = await ctx.reads.rows(
    `SELECT r.attrs FROM resources r SEMI JOIN (SELECT DISTINCT resource_no FROM spans WHERE ${where}) s
       ON r.no = s.resource_no`,
    p.values,
    p.types,
  );
  return rows.map((r) => (r.attrs as { items: string[] }).items);
}

/** See `SpanReader.listTagNames`. */
export async function listTagNames(
  ctx: SearchContext,
  scope: TagScope,
  range: TimeRange,
  limit: number,
): Promise<string[]> {
  const n = Math.max(1, Math.min(Math.floor(limit), MAX_LIMIT));
  const p = new Params();
  const window: string[] = [];
  addRange(range, 'start_ns', window, p);
  const where = window.length > 0 ? window.join(' AND ') : 'TRUE';
  const names = new Set<string>();
  if (scope === 'resource') {
    for (const attrs of await resourceAttributes(ctx, where, p))
      for (const text of attrs) {
        const kv = decodeAttribute(text);
        if (isSearchableValue(kv.value)) names.add(kv.key);
      }
  } else {
    // A slot's key, when some span in the window has a searchable value in it.
    const slots = Array.from({ length: ctx.slots.count }, (_, i) => i);
    if (slots.length > 0) {
      const [row] = await ctx.reads.rows(
        `SELECT ${slots.map((i) => `count(*) FILTER (WHERE ${SLOT_COLUMNS[i]} IS NOT NULL AND (NOT starts_with(${SLOT_COLUMNS[i]}, 'j') OR starts_with(${SLOT_COLUMNS[i]}, 'j{"arrayValue"'))) AS c${i}`).join(', ')}
         FROM spans WHERE ${where}`,
        p.values,
        p.types,
      );
      for (const i of slots) if (Number(row[`c${i}`]) > 0) names.add(ctx.slots.keyAt(i));
    }
    const rest = await ctx.reads.rows(
      `SELECT DISTINCT split_part(x, chr(30), 1) AS k FROM (SELECT unnest(attrs_rest) AS x FROM spans WHERE ${where})
       WHERE NOT starts_with(split_part(x, chr(30), 2), 'j') OR starts_with(split_part(x, chr(30), 2), 'j{"arrayValue"')`,
      p.values,
      p.types,
    );
    for (const r of rest) names.add(decodeAttributeKey(r.k as string));
  }
  return [...names].sort().slice(0, n);
}

/** See `SpanReader.listTagValues`. */
export async function listTagValues(ctx: SearchContext, query: TagValuesQuery): Promise<TagValue[]> {
  const n = Math.max(1, Math.min(Math.floor(query.limit), MAX_LIMIT));
  const p = new Params();
  const conditions: string[] = [];
  addRange(query, 'start_ns', conditions, p);
  if (query.where !== undefined) conditions.push(await predicateSql(ctx, simplifyPredicate(query.where), p));
  const where = conditions.length > 0 ? conditions.join(' AND ') : 'TRUE';
  const field = query.field;
  if (field.kind === 'service' || field.kind === 'name' || field.kind === 'statusMessage') {
    const column = field.kind === 'statusMessage' ? 'status_message' : field.kind;
    const rows = await ctx.reads.rows(
      `SELECT DISTINCT ${column} AS v FROM spans WHERE ${where} AND ${column} IS NOT NULL AND ${column} <> '' ORDER BY v LIMIT ${n}`,
      p.values,
      p.types,
    );
    return rows.map((r) => ({ type: 'string', value: r.v as string }));
  }
  if (field.kind !== 'attribute') return [];
  const values: AnyValue[] = [];
  const prefix = attributeKeyPrefix(field.key);
  if (field.scope !== 'span') {
    for (const attrs of await resourceAttributes(ctx, where, p))
      for (const text of attrs) if (text.startsWith(prefix)) values.push(decodeAttribute(text).value);
  }
  if (field.scope !== 'resource') {
    const slot = ctx.slots.slotOf(field.key);
    const prefixParam = p.add(prefix, VARCHAR);
    const fromSlot =
      slot === undefined
        ? ''
        : `SELECT DISTINCT ${prefixParam} || ${SLOT_COLUMNS[slot]} AS t FROM spans WHERE ${where} AND ${SLOT_COLUMNS[slot]} IS NOT NULL UNION `;
    const rows = await ctx.reads.rows(
      `${fromSlot}SELECT DISTINCT x AS t FROM (SELECT unnest(attrs_rest) AS x FROM spans WHERE ${where})
       WHERE starts_with(x, ${prefixParam}) LIMIT ${MAX_TEXTS}`,
      p.values,
      p.types,
    );
    for (const r of rows) values.push(decodeAttribute(r.t as string).value);
  }
  return tagValuesOf(values, n);
}
