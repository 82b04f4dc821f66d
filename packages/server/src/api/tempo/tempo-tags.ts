import {
  type AttributeField,
  type IntrinsicField,
  parseTraceQL,
  TEMPO_INTRINSIC_TAGS,
  TEMPO_KIND_VALUES,
  TEMPO_STATUS_VALUES,
  type TempoTagValueJson,
  TraceQLError,
  type TraceQLQuery,
  tempoTagValue,
  tempoTagValueText,
} from '@ariadne/core';
import type { SpanField, SpanPredicate, SpanReader, TagScope, TimeRange } from '../../query/span-store.ts';
import { listTagNamesMatching } from '../../query/tags.ts';
import { planTraceQL } from '../../query/traceql-plan.ts';
import { shown, TempoRequestError } from './tempo-params.ts';
import { compileTempoTraceQL } from './tempo-search.ts';

/**
 * Tag names and values for autocompletion, as Tempo's `/api/search/tags`, `/api/v2/search/tags`
 * and `…/tag/{tag}/values` list them. Attribute names and values come from the store
 * (`listTagNames`, `listTagValues`); intrinsic names and the words of `status` and `kind` are
 * TraceQL's fixed lists, as in Tempo.
 */

/** The scopes `/api/search/tags` and `/api/v2/search/tags` take (Tempo's attribute scopes). */
const SCOPES = ['', 'none', 'span', 'resource', 'intrinsic', 'event', 'link', 'instrumentation', 'trace'];

/** Checks a `scope` parameter: one of Tempo's, or absent (all). */
export function parseTagScope(scope: string | undefined): string {
  const s = scope ?? '';
  if (!SCOPES.includes(s)) throw new TempoRequestError(`invalid scope: ${s}`);
  return s;
}

/** A scope and its tag names, as `/api/v2/search/tags` lists them. */
export interface TagScopeNames {
  readonly name: string;
  readonly tags: readonly string[];
}

/** A `q` narrowing tag names: the compiled query, and its text for error positions. */
export interface TagNamesQuery {
  readonly query: TraceQLQuery;
  readonly source: string;
}

/**
 * Tag names by scope: `resource` and `span` from the store (names seen in the window, at most
 * `limit` each), `intrinsic` from Tempo's fixed list; all three for no scope (or `none`). With
 * `matching` (`/api/v2/search/tags?q=`), the resource and span names are only those on spans the
 * query matches, as Tempo narrows them (query/tags.ts's `listTagNamesMatching`: a bounded search,
 * since the store lists names by scope only). Event, link, instrumentation and trace scopes have
 * no names Ariadne lists. Scopes without names are left out, as Tempo leaves them out.
 */
export async function listScopedTagNames(
  reader: SpanReader,
  scope: string,
  range: TimeRange,
  limit: number,
  matching?: TagNamesQuery,
): Promise<TagScopeNames[]> {
  const all = scope === '' || scope === 'none';
  const out: TagScopeNames[] = [];
  const wanted = (['resource', 'span'] as const satisfies readonly TagScope[]).filter((s) => all || scope === s);
  const narrowed =
    matching && wanted.length > 0
      ? await listTagNamesMatching(reader, matching.query, { ...range, limit, source: matching.source })
      : undefined;
  for (const s of wanted) {
    const tags = narrowed ? narrowed[s] : await reader.listTagNames(s, range, limit);
    if (tags.length > 0) out.push({ name: s, tags });
  }
  if (all || scope === 'intrinsic') out.push({ name: 'intrinsic', tags: TEMPO_INTRINSIC_TAGS });
  return out;
}

/**
 * Tag names as the old `/api/search/tags` lists them: one sorted list without scopes; the
 * intrinsics only when `scope=intrinsic` is asked for explicitly, as in Tempo.
 */
export async function listTagNamesV1(
  reader: SpanReader,
  scope: string,
  range: TimeRange,
  limit: number,
): Promise<string[]> {
  if (scope === 'intrinsic') return [...TEMPO_INTRINSIC_TAGS];
  const scopes = await listScopedTagNames(reader, scope, range, limit);
  const names = new Set(scopes.filter((s) => s.name !== 'intrinsic').flatMap((s) => s.tags));
  return [...names].sort().slice(0, limit);
}

/** Where a tag's values come from: a fixed list, or the store's values of a field. */
export type TagValuesSource =
  | { readonly kind: 'fixed'; readonly values: readonly TempoTagValueJson[] }
  | { readonly kind: 'store'; readonly field: SpanField };

const NONE: TagValuesSource = { kind: 'fixed', values: [] };
const keywords = (words: readonly string[]): TagValuesSource => ({
  kind: 'fixed',
  values: words.map((value) => ({ type: 'keyword', value })),
});

/**
 * Where the values of a TraceQL identifier come from (`/api/v2/search/tag/{tag}/values`; the tag
 * must parse as one, as Tempo requires: `resource.service.name`, `span.http.method`, `.foo`,
 * `name`, `status`). Attributes of a span, a resource or either (unscoped) and the span name and
 * status message come from the store; `status` and `kind` are keywords; `trace:rootService` and
 * `trace:rootName` list every service and span name (a superset: the store does not know roots);
 * durations, ids, events, links and instrumentation have none, as ids and durations have none
 * in Tempo.
 */
export function tagValuesSourceV2(tag: string): TagValuesSource {
  const field = parseTagIdentifier(tag);
  if (field.kind === 'attribute') {
    if (field.parent) return NONE;
    if (field.scope === 'resource' && field.name === 'service.name')
      return { kind: 'store', field: { kind: 'service' } };
    if (field.scope === 'span' || field.scope === 'resource') {
      return { kind: 'store', field: { kind: 'attribute', scope: field.scope, key: field.name } };
    }
    if (field.scope === 'none') return { kind: 'store', field: { kind: 'attribute', scope: 'any', key: field.name } };
    return NONE;
  }
  switch (field.name) {
    case 'span:name':
    case 'trace:rootName':
      return { kind: 'store', field: { kind: 'name' } };
    case 'trace:rootService':
      return { kind: 'store', field: { kind: 'service' } };
    case 'span:statusMessage':
      return { kind: 'store', field: { kind: 'statusMessage' } };
    case 'span:status':
      return keywords(TEMPO_STATUS_VALUES);
    case 'span:kind':
      return keywords(TEMPO_KIND_VALUES);
    default:
      return NONE;
  }
}

/**
 * Where the values of an old-style tag come from (`/api/search/tag/{tag}/values`): a plain
 * attribute name looked up on spans and resources, with Tempo's virtual tags `status.code`
 * (`unset`, `ok`, `error`) and `error` (`true`), and the names its tag search understands
 * (`service.name`, `name` for the span name, `root.service.name`, `root.name`).
 */
export function tagValuesSourceV1(tag: string): TagValuesSource {
  if (tag === '') throw new TempoRequestError('please provide a non-empty tagName');
  switch (tag) {
    case 'status.code':
      return { kind: 'fixed', values: ['unset', 'ok', 'error'].map((value) => ({ type: 'string', value })) };
    case 'error':
      return { kind: 'fixed', values: [{ type: 'string', value: 'true' }] };
    case 'service.name':
    case 'root.service.name':
      return { kind: 'store', field: { kind: 'service' } };
    case 'name':
    case 'root.name':
      return { kind: 'store', field: { kind: 'name' } };
    default:
      return { kind: 'store', field: { kind: 'attribute', scope: 'any', key: tag } };
  }
}

/**
 * The condition a `q` parameter puts on the spans whose values are listed: what the query's first
 * requirement asks of a span (traceql-plan.ts), `{}` or a query that requires nothing giving
 * none. An invalid query is a 400.
 */
export function tagValuesWhere(q: string | undefined): SpanPredicate | undefined {
  if (q === undefined || q.trim() === '') return undefined;
  return planTraceQL(compileTempoTraceQL(q))[0]?.predicate;
}

/** Lists the values of a source, typed (v2). */
export async function listTagValuesTyped(
  reader: SpanReader,
  source: TagValuesSource,
  where: SpanPredicate | undefined,
  range: TimeRange,
  limit: number,
): Promise<TempoTagValueJson[]> {
  if (source.kind === 'fixed') return source.values.slice(0, limit);
  const values = await reader.listTagValues({ field: source.field, where, ...range, limit });
  return values.map(tempoTagValue);
}

/** Lists the values of a source as text, without repeats (v1: an int 5 and a string "5" are one). */
export async function listTagValuesText(
  reader: SpanReader,
  source: TagValuesSource,
  range: TimeRange,
  limit: number,
): Promise<string[]> {
  if (source.kind === 'fixed') return source.values.map((v) => v.value).slice(0, limit);
  const values = await reader.listTagValues({ field: source.field, ...range, limit });
  return [...new Set(values.map(tempoTagValueText))];
}

/**
 * Reads a tag name as a TraceQL field, as Tempo's `traceql.ParseIdentifier` does: the text must be
 * exactly one attribute (`span.x`, `resource.x`, `.x`, `event.x` …) or intrinsic (`name`,
 * `span:status`, `trace:rootService` …). Parsed as the field of `{ <tag> = nil }`, and refused
 * unless the field spans the whole tag (so that `x } || { y` is not read as a query).
 */
function parseTagIdentifier(tag: string): AttributeField | IntrinsicField {
  const invalid = (why: string) =>
    new TempoRequestError(
      `please provide a valid tagName: ${shown(tag)} is not an intrinsic or a scoped attribute${why}`,
    );
  if (tag === '') throw new TempoRequestError('please provide a non-empty tagName');
  const prefix = '{ ';
  let parsed: ReturnType<typeof parseTraceQL>;
  try {
    parsed = parseTraceQL(`${prefix}${tag} = nil }`);
  } catch (error) {
    if (error instanceof TraceQLError) throw invalid(` (${error.reason})`);
    throw error;
  }
  const body = parsed.body;
  const stage = body.kind === 'pipeline' && body.stages.length === 1 ? body.stages[0] : undefined;
  const expr = stage?.kind === 'spansetFilter' ? stage.expr : undefined;
  const field = expr?.kind === 'binary' && expr.op === '=' && expr.rhs.kind === 'nil' ? expr.lhs : undefined;
  if (
    parsed.hints.length > 0 ||
    field === undefined ||
    (field.kind !== 'attribute' && field.kind !== 'intrinsic') ||
    field.start !== prefix.length ||
    field.end !== prefix.length + tag.length
  ) {
    throw invalid('');
  }
  return field;
}
