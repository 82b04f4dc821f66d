import {
  type AnyValue,
  compileTraceQL,
  INTRINSIC_TYPES,
  type KeyValue,
  TraceQLError,
  type TraceQLQuery,
} from '@ariadne/core';
import type { SpanField, SpanPredicate, SpanReader, TagScope, TagValue, TimeRange } from './span-store.ts';
import { planTraceQL } from './traceql-plan.ts';
import { searchTraceQL } from './traceql-search.ts';

/**
 * Attribute names and values for query autocompletion, as Tempo's tag APIs answer them: by
 * scope (`span`, `resource`, `intrinsic`), and the values of one tag named as in TraceQL
 * (`resource.service.name`, `span.http.method`, `.order.id`, `name`, `status`), typed.
 */

/** The intrinsics a query can use, old spellings first (as Tempo lists them). */
export const INTRINSIC_TAGS: readonly string[] = [
  'duration',
  'kind',
  'name',
  'rootName',
  'rootServiceName',
  'status',
  'statusMessage',
  'traceDuration',
  ...Object.keys(INTRINSIC_TYPES).filter((n) => !n.startsWith('nestedSet')),
];

/** A tag value as the APIs render it: its TraceQL type and its text. */
export interface TagValueJson {
  readonly type: 'string' | 'int' | 'float' | 'bool' | 'keyword';
  readonly value: string;
}

const STATUS: readonly TagValueJson[] = ['error', 'ok', 'unset'].map((value) => ({ type: 'keyword', value }));
const KINDS: readonly TagValueJson[] = ['client', 'consumer', 'internal', 'producer', 'server', 'unspecified'].map(
  (value) => ({ type: 'keyword', value }),
);

/**
 * What a tag name refers to: a stored field, a fixed list of keywords, or nothing Ariadne lists
 * values of (ids, durations, events). Scoped names keep everything after the scope's dot.
 */
export function tagField(name: string): { field: SpanField } | { fixed: readonly TagValueJson[] } | undefined {
  switch (name) {
    case 'name':
    case 'span:name':
    case 'rootName':
    case 'trace:rootName':
      return { field: { kind: 'name' } };
    case 'statusMessage':
    case 'span:statusMessage':
      return { field: { kind: 'statusMessage' } };
    case 'rootServiceName':
    case 'trace:rootService':
    case 'resource.service.name':
      return { field: { kind: 'service' } };
    case 'status':
    case 'span:status':
      return { fixed: STATUS };
    case 'kind':
    case 'span:kind':
      return { fixed: KINDS };
  }
  for (const [prefix, scope] of [
    ['span.', 'span'],
    ['resource.', 'resource'],
    ['.', 'any'],
  ] as const)
    if (name.startsWith(prefix) && name.length > prefix.length)
      return { field: { kind: 'attribute', scope, key: name.slice(prefix.length) } };
  return undefined;
}

/** Attribute names of a scope seen in the window, or the intrinsics. */
export async function listTags(
  reader: SpanReader,
  scope: TagScope | 'intrinsic',
  range: TimeRange,
  limit: number,
): Promise<string[]> {
  if (scope === 'intrinsic') return [...INTRINSIC_TAGS];
  return reader.listTagNames(scope, range, limit);
}

/**
 * The values of a tag in the window, typed; with `query` (TraceQL, possibly unfinished, as an
 * editor sends it while the user types) only values on spans its span conditions could select.
 * A query that does not compile filters nothing.
 */
export async function listTagValuesJson(
  reader: SpanReader,
  name: string,
  options: TimeRange & { readonly query?: string; readonly limit: number },
): Promise<TagValueJson[]> {
  const target = tagField(name);
  if (target === undefined) return [];
  if ('fixed' in target) return [...target.fixed];
  const values = await reader.listTagValues({
    field: target.field,
    where: options.query === undefined ? undefined : queryPredicate(options.query),
    startUnixNano: options.startUnixNano,
    endUnixNano: options.endUnixNano,
    limit: options.limit,
  });
  return values.map(tagValueJson);
}

function queryPredicate(query: string): SpanPredicate | undefined {
  try {
    const requirements = planTraceQL(compileTraceQL(query));
    return requirements.length === 1 ? requirements[0].predicate : undefined;
  } catch (error) {
    if (error instanceof TraceQLError) return undefined;
    throw error;
  }
}

function tagValueJson(v: TagValue): TagValueJson {
  return { type: v.type, value: String(v.value) };
}

/** Matching traces whose spans `listTagNamesMatching` reads, at most. */
export const TAG_NAMES_MATCHING_TRACES = 100;
/** Candidate traces `listTagNamesMatching` evaluates, at most. */
export const TAG_NAMES_MATCHING_EVALUATED = 1_000;

/** Whether an attribute value is one TraceQL can search (a scalar, or an array), as the stores list names. */
function searchable(v: AnyValue): boolean {
  return v.type === 'string' || v.type === 'int' || v.type === 'double' || v.type === 'bool' || v.type === 'array';
}

/**
 * The span and resource attribute names on the spans a TraceQL query matches in the window,
 * each sorted and cut to `limit`: what Tempo's `/api/v2/search/tags?q=` lists. The store lists
 * names by scope only (`listTagNames`), so the query is run as a search and the matched spans'
 * attributes read; bounded, it reads the spans of at most {@link TAG_NAMES_MATCHING_TRACES}
 * matching traces, newest first, after evaluating at most {@link TAG_NAMES_MATCHING_EVALUATED}
 * candidates, so names seen only on older spans can be missing. Names of values TraceQL cannot
 * search (bytes, maps) are left out, as the stores leave them out.
 */
export async function listTagNamesMatching(
  reader: SpanReader,
  query: TraceQLQuery,
  options: TimeRange & { readonly limit: number; readonly source?: string },
): Promise<Record<TagScope, string[]>> {
  const result = await searchTraceQL(reader, query, {
    startUnixNano: options.startUnixNano,
    endUnixNano: options.endUnixNano,
    limit: TAG_NAMES_MATCHING_TRACES,
    maxTracesEvaluated: TAG_NAMES_MATCHING_EVALUATED,
    source: options.source,
  });
  const span = new Set<string>();
  const resource = new Set<string>();
  const add = (names: Set<string>, attributes: readonly KeyValue[]) => {
    for (const a of attributes) if (searchable(a.value)) names.add(a.key);
  };
  for (const hit of result.traces)
    for (const set of hit.match.spansets)
      for (const s of set.spans) {
        add(span, s.attributes);
        add(resource, s.resource.attributes);
      }
  const sorted = (names: Set<string>) => [...names].sort().slice(0, Math.max(0, options.limit));
  return { span: sorted(span), resource: sorted(resource) };
}
