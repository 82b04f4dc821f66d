/**
 * TraceQL candidates in the DuckDB store: the traces with enough spans meeting each requirement
 * (query/span-store.ts `TraceCandidateQuery`), newest first. Span predicates become SQL on the
 * `spans` table where it holds the field (attributes: their slot column, the rest list, and the
 * resources holding them), true where it does not; the engine checks every candidate exactly.
 * Reads the newest window first and widens it while too few traces were found; one requirement
 * with an indexed attribute equality reads only the minutes the attribute index names.
 */
import { unixNanos } from '@ariadne/core';
import { LIST, listValue, UBIGINT, UHUGEINT, UINTEGER, VARCHAR } from '@duckdb/node-api';
import type {
  SpanCompareOp,
  SpanField,
  SpanPredicate,
  SpanValue,
  TraceCandidate,
  TraceCandidateQuery,
} from '../../query/span-store.ts';
import { attributeValueText, decodeAttribute } from '../attribute-codec.ts';
import { hashAttribute, minutesToRanges, type NanoRange } from '../attribute-index.ts';
import { SLOT_COLUMNS } from '../duckdb-schema.ts';
import {
  attributeEqualityTexts,
  jsonValuePrefix,
  oddServiceNameTexts,
  requiredEqualities,
  simplifyPredicate,
} from '../span-predicate.ts';
import type { SearchContext, StoredTimeRange } from './search.ts';
import { bigIntToHex, hexToBigInt, maxBig, minBig, NANOS_PER_MINUTE, Params } from './sql.ts';

const FIRST_WINDOW = 10n * NANOS_PER_MINUTE;
const WINDOW_GROWTH = 6n;
const MAX_LIMIT = 10_000;
const U64_MAX = 0xffffffffffffffffn;

/** Candidates for `query` (see `TraceCandidateQuery`); `stored` is the range of span starts held. */
export async function findTraceCandidates(
  ctx: SearchContext,
  query: TraceCandidateQuery,
  stored: StoredTimeRange | undefined,
): Promise<TraceCandidate[]> {
  if (stored === undefined) return [];
  const limit = Math.max(1, Math.min(Math.floor(query.limit), MAX_LIMIT));
  let lo = stored.minStartNs;
  let hi = stored.maxStartNs + 1n;
  if (query.startUnixNano !== undefined && query.startUnixNano > lo) lo = query.startUnixNano;
  if (query.endUnixNano !== undefined && query.endUnixNano < hi) hi = query.endUnixNano;
  const after = query.after;
  if (after !== undefined && after.lastMatchUnixNano + 1n < hi) hi = after.lastMatchUnixNano + 1n;
  if (lo >= hi) return [];

  const requirements = query.requirements.map((r) => ({
    predicate: simplifyPredicate(r.predicate),
    minSpans: Math.max(1, Math.floor(r.minSpans)),
  }));
  const p = new Params();
  const conditions: string[] = [];
  for (const r of requirements) conditions.push(await predicateSql(ctx, r.predicate, p));
  const any = conditions.length === 0 ? 'TRUE' : conditions.map((c) => `(${c})`).join(' OR ');
  const having = requirements.map((r, i) => `count(*) FILTER (WHERE ${conditions[i]}) >= ${r.minSpans}`);
  if (after !== undefined)
    having.push(
      `(max(start_ns) < ${p.add(after.lastMatchUnixNano, UBIGINT)} OR trace_id > ${p.add(hexToBigInt(after.traceId), UHUGEINT)})`,
    );

  const select = async (ranges: readonly NanoRange[]): Promise<TraceCandidate[]> => {
    const q = new Params();
    q.values.push(...p.values);
    q.types.push(...p.types);
    const windows = ranges
      .map((r) => `(start_ns >= ${q.add(r.start, UBIGINT)} AND start_ns < ${q.add(r.end, UBIGINT)})`)
      .join(' OR ');
    const rows = await ctx.reads.rows(
      `SELECT trace_id, max(start_ns) AS last_ns FROM spans WHERE (${any}) AND (${windows})
       GROUP BY trace_id ${having.length > 0 ? `HAVING ${having.join(' AND ')}` : ''}
       ORDER BY last_ns DESC, trace_id LIMIT ${limit}`,
      q.values,
      q.types,
    );
    return rows.map((r) => ({
      traceId: bigIntToHex(r.trace_id as bigint, 32),
      lastMatchUnixNano: unixNanos(r.last_ns as bigint),
    }));
  };

  const equalities = requirements.length === 1 ? requiredEqualities(requirements[0].predicate) : [];
  if (equalities.length > 0) {
    const minutes = await indexedMinutes(
      ctx,
      equalities.map((e) => e.values.flatMap((v) => attributeEqualityTexts(e.key, v))),
    );
    if (minutes !== undefined) {
      const ranges = minutesToRanges([...minutes], 32)
        .map((r) => ({ start: maxBig(r.start, lo), end: minBig(r.end, hi) }))
        .filter((r) => r.start < r.end);
      return ranges.length === 0 ? [] : select(ranges);
    }
  }
  for (let width = FIRST_WINDOW; ; width *= WINDOW_GROWTH) {
    const from = maxBig(hi - width, lo);
    const found = await select([{ start: from, end: hi }]);
    if (found.length >= limit || from === lo) return found;
  }
}

/**
 * The minutes that can hold a span with one text of every list, from the attribute index; undefined
 * when some list cannot narrow (a frequent value, a value some resource holds: the index has span
 * attributes only, or a key some resource or span holds as an array).
 */
async function indexedMinutes(
  ctx: SearchContext,
  textLists: readonly (readonly string[])[],
): Promise<Set<number> | undefined> {
  let minutes: Set<number> | undefined;
  for (const texts of textLists) {
    if (texts.length === 0) return new Set();
    const hashes = texts.map(hashAttribute);
    if (hashes.some((h) => ctx.frequent.has(h))) continue;
    const [inResources] = await ctx.reads.columns(
      // Resource attributes are not indexed; nor is a key some resource holds as an array or map.
      'SELECT count(*) FROM resources WHERE list_has_any(attrs, $1) OR len(list_filter(attrs, x -> starts_with(x, $2))) > 0',
      [listValue([...texts]), jsonValuePrefix(keyOf(texts[0]))],
      [LIST(VARCHAR), VARCHAR],
    );
    if (Number(inResources[0]) > 0) continue;
    const found = new Set(
      (
        await ctx.reads.columns(
          `SELECT DISTINCT minute FROM attr_index WHERE h IN (${hashes.map((_, i) => `$${i + 1}`).join(', ')})`,
          hashes,
          hashes.map(() => UINTEGER),
        )
      )[0] as number[],
    );
    minutes = minutes === undefined ? found : new Set([...minutes].filter((m) => found.has(m)));
  }
  return minutes;
}

/** The key of a stored attribute text (up to its separator), unescaped. */
function keyOf(text: string): string {
  return decodeAttribute(text).key;
}

const SQL_OPS: Record<SpanCompareOp, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** A span predicate as a condition on `spans` rows, with its parameters added to `p`. */
export async function predicateSql(ctx: SearchContext, pred: SpanPredicate, p: Params): Promise<string> {
  switch (pred.kind) {
    case 'all':
      return 'TRUE';
    case 'and':
    case 'or': {
      if (pred.args.length === 0) return pred.kind === 'and' ? 'TRUE' : 'FALSE';
      const parts: string[] = [];
      for (const a of pred.args) parts.push(await predicateSql(ctx, a, p));
      return `(${parts.join(pred.kind === 'and' ? ' AND ' : ' OR ')})`;
    }
    case 'compare':
      return compareSql(ctx, pred.field, pred.op, pred.value, p);
  }
}

async function compareSql(
  ctx: SearchContext,
  field: SpanField,
  op: SpanCompareOp,
  value: SpanValue,
  p: Params,
): Promise<string> {
  switch (field.kind) {
    case 'name':
      return typeof value === 'string' ? `name ${SQL_OPS[op]} ${p.add(value, VARCHAR)}` : 'FALSE';
    case 'service': {
      const exact = typeof value === 'string' ? `service ${SQL_OPS[op]} ${p.add(value, VARCHAR)}` : 'FALSE';
      // A resource whose service.name is "", not a string or an array is stored as unknown_service,
      // which says nothing of what TraceQL compares: its spans stay candidates where they may match.
      const odd = oddServiceNameTexts(op, value);
      const matches = [
        ...odd.texts.map((_, i) => `x = $${i + 1}`),
        ...odd.prefixes.map((_, i) => `starts_with(x, $${odd.texts.length + i + 1})`),
      ];
      if (matches.length === 0) return exact;
      const texts = [...odd.texts, ...odd.prefixes];
      const [nos] = await ctx.reads.columns(
        `SELECT no FROM resources WHERE len(list_filter(attrs, x -> ${matches.join(' OR ')})) > 0`,
        texts,
        texts.map(() => VARCHAR),
      );
      if (nos.length === 0) return exact;
      return `(${exact} OR list_contains(${p.add(listValue(nos as number[]), LIST(UINTEGER))}, resource_no))`;
    }
    case 'statusMessage':
      return typeof value === 'string'
        ? `coalesce(status_message, '') ${SQL_OPS[op]} ${p.add(value, VARCHAR)}`
        : 'FALSE';
    case 'status':
    case 'kind': {
      if (typeof value !== 'bigint') return 'FALSE';
      if (op !== '=' && op !== '!=') return 'TRUE';
      const column = field.kind === 'status' ? 'status_code' : 'kind';
      if (value < 0n || value > 255n) return op === '=' ? 'FALSE' : 'TRUE';
      return `${column} ${SQL_OPS[op]} ${value}`;
    }
    case 'duration': {
      if (typeof value === 'bigint') {
        if (value < 0n) return op === '>' || op === '>=' || op === '!=' ? 'TRUE' : 'FALSE';
        if (value > U64_MAX) return op === '<' || op === '<=' || op === '!=' ? 'TRUE' : 'FALSE';
        return `duration_ns ${SQL_OPS[op]} ${p.add(value, UBIGINT)}`;
      }
      if (typeof value === 'number' && Number.isFinite(value))
        return `CAST(duration_ns AS DOUBLE) ${SQL_OPS[op]} ${value}`;
      return typeof value === 'number' ? 'TRUE' : 'FALSE';
    }
    case 'attribute': {
      if (op !== '=') return 'TRUE';
      const texts = attributeEqualityTexts(field.key, value);
      const json = jsonValuePrefix(field.key);
      const parts: string[] = [];
      if (field.scope !== 'resource') {
        const rest = p.add(listValue(texts), LIST(VARCHAR));
        const jsonParam = p.add(json, VARCHAR);
        parts.push(
          `list_has_any(attrs_rest, ${rest})`,
          `len(list_filter(attrs_rest, x -> starts_with(x, ${jsonParam}))) > 0`,
        );
        const slot = ctx.slots.slotOf(field.key);
        if (slot !== undefined) {
          const column = SLOT_COLUMNS[slot];
          if (texts.length > 0)
            parts.push(`${column} IN (${texts.map((t) => p.add(attributeValueText(t), VARCHAR)).join(', ')})`);
          parts.push(`starts_with(${column}, 'j')`);
        }
      }
      if (field.scope !== 'span') {
        const [nos] = await ctx.reads.columns(
          'SELECT no FROM resources WHERE list_has_any(attrs, $1) OR len(list_filter(attrs, x -> starts_with(x, $2))) > 0',
          [listValue(texts), json],
          [LIST(VARCHAR), VARCHAR],
        );
        if (nos.length > 0)
          parts.push(`list_contains(${p.add(listValue(nos as number[]), LIST(UINTEGER))}, resource_no)`);
      }
      return parts.length === 0 ? 'FALSE' : `(${parts.join(' OR ')})`;
    }
  }
}
