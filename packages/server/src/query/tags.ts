import { compileTraceQL, INTRINSIC_TYPES, TraceQLError } from '@ariadne/core';
import type { SpanField, SpanPredicate, SpanReader, TagScope, TagValue, TimeRange } from './span-store.ts';
import { planTraceQL } from './traceql-plan.ts';

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
