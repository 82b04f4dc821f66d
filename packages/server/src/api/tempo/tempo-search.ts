import {
  type AttributeField,
  compileTraceQL,
  durationNanos,
  type FieldExpression,
  type IntrinsicField,
  type IntrinsicName,
  printTraceQL,
  type SpansetExpression,
  type TempoTraceSearchMetadataJson,
  TraceQLError,
  type TraceQLQuery,
  tempoTraceSearchMetadata,
} from '@ariadne/core';
import type { SpanReader, TimeRange } from '../../query/span-store.ts';
import { searchTraceQL, type TraceQLSearchResult } from '../../query/traceql-search.ts';
import {
  MAX_UINT32,
  parseCount,
  parseGoDuration,
  parseLogfmtTags,
  parseUnixSeconds,
  secondsRange,
  shown,
  TempoRequestError,
} from './tempo-params.ts';

/**
 * Tempo's `GET /api/search`: a TraceQL search (`q`) or the older tag search (`tags`, logfmt),
 * both run by Ariadne's TraceQL engine over the query interface. Parameters and their checks
 * follow Tempo's `ParseSearchRequest`; see {@link parseTempoSearch}.
 */

/** A search request, checked. */
export interface TempoSearch {
  /** The query run: `q` as given, or the TraceQL the tags translate to. */
  readonly query: TraceQLQuery;
  readonly source: string;
  /** A tag search lists traces without spansets, as Tempo's did. */
  readonly tagSearch: boolean;
  readonly limit: number;
  readonly spansPerSpanset: number;
  readonly range: TimeRange;
}

const DEFAULT_LIMIT = 20;
/** Traces a search returns at most (as Ariadne's own search). */
export const MAX_SEARCH_LIMIT = 1000;
const DEFAULT_SPSS = 3;
const MAX_SPSS = 1000;

/** The parameters `/api/search` takes; without q, tags, start and end, any other one is a tag. */
const SEARCH_PARAMS = ['q', 'tags', 'minDuration', 'maxDuration', 'limit', 'spss', 'start', 'end'];

/**
 * Checks a search request as Tempo does: `q` and `tags` exclude each other; `start` and `end` are
 * unix seconds (uint32), and when either is set `end` must be after `start`; `limit` from 1
 * (default 20, at most 1,000); `spss` (spans listed per spanset, default 3); `minDuration` and
 * `maxDuration` are Go durations of the whole trace and belong to a tag search (with `q`, Tempo
 * ignores them: Ariadne refuses them and says to write `trace:duration` in the query). With none
 * of q, tags, start and end, other parameters are tags (Tempo's oldest form, which early Grafana
 * sent); otherwise an unknown parameter is refused.
 */
export function parseTempoSearch(params: Readonly<Record<string, string>>): TempoSearch {
  const { q, tags, start, end } = params;
  const legacy = q === undefined && tags === undefined && start === undefined && end === undefined;
  const unknown = Object.keys(params).filter((k) => !SEARCH_PARAMS.includes(k));
  if (!legacy && unknown.length > 0) {
    throw new TempoRequestError(
      `unknown parameter ${shown(unknown[0])}; /api/search takes ${SEARCH_PARAMS.join(', ')}`,
    );
  }
  if (q !== undefined && tags !== undefined) {
    throw new TempoRequestError("invalid request: can't specify tags and q in the same query");
  }
  const startSeconds = start === undefined ? 0 : parseUnixSeconds(start, 'start', MAX_UINT32);
  const endSeconds = end === undefined ? 0 : parseUnixSeconds(end, 'end', MAX_UINT32);
  if ((startSeconds !== 0 || endSeconds !== 0) && endSeconds <= startSeconds) {
    throw new TempoRequestError(
      `http parameter start must be before end. received start=${startSeconds} end=${endSeconds}`,
    );
  }
  const minDuration = params.minDuration === undefined ? 0n : parseGoDuration(params.minDuration, 'minDuration');
  const maxDuration = params.maxDuration === undefined ? 0n : parseGoDuration(params.maxDuration, 'maxDuration');
  if (minDuration !== 0n && maxDuration !== 0n && minDuration > maxDuration) {
    throw new TempoRequestError('invalid maxDuration: must be greater than minDuration');
  }
  const limit = params.limit === undefined ? DEFAULT_LIMIT : parseCount(params.limit, 'limit', 1, MAX_SEARCH_LIMIT);
  const spansPerSpanset = params.spss === undefined ? DEFAULT_SPSS : parseCount(params.spss, 'spss', 0, MAX_SPSS);
  const range =
    startSeconds === 0 && endSeconds === 0
      ? {}
      : secondsRange(startSeconds === 0 ? undefined : startSeconds, endSeconds);

  if (q !== undefined) {
    if (minDuration !== 0n || maxDuration !== 0n) {
      throw new TempoRequestError(
        'minDuration and maxDuration belong to a tags search; with q, write them in the query: { trace:duration >= 100ms }',
      );
    }
    // An empty q is no query (Tempo then lists recent traces): every trace.
    const source = q.trim() === '' ? '{}' : q;
    return { query: compileTempoTraceQL(source), source, tagSearch: false, limit, spansPerSpanset, range };
  }
  const tagMap = tags !== undefined ? parseLogfmtTags(tags) : new Map<string, string>();
  if (legacy) {
    for (const key of unknown) if (params[key] !== '') tagMap.set(key, params[key]);
  }
  const source = tagSearchTraceQL(tagMap, minDuration, maxDuration);
  return { query: compileTempoTraceQL(source), source, tagSearch: true, limit, spansPerSpanset, range };
}

/**
 * Compiles TraceQL for the Tempo API. A query that does not parse or validate is a 400 whose text
 * reads like Tempo's: `invalid TraceQL query: parse error at line 1, col 14: …`.
 */
export function compileTempoTraceQL(source: string): TraceQLQuery {
  try {
    return compileTraceQL(source);
  } catch (error) {
    if (error instanceof TraceQLError) throw tempoTraceQLError(error);
    throw error;
  }
}

/** A TraceQL error as Tempo words it. */
export function tempoTraceQLError(error: TraceQLError): TempoRequestError {
  return new TempoRequestError(
    error.code === 'syntax'
      ? `invalid TraceQL query: parse error at line ${error.line}, col ${error.col}: ${error.reason}`
      : `invalid TraceQL query: ${error.reason} (at line ${error.line}, col ${error.col})`,
  );
}

/** A search response (`tempopb.SearchResponse`). */
export interface TempoSearchResponseJson {
  readonly traces: readonly TempoTraceSearchMetadataJson[];
  readonly metrics: { readonly inspectedTraces?: number; readonly completedJobs: number; readonly totalJobs: number };
}

/** Runs a checked search over the query interface, newest traces first. */
export async function runTempoSearch(reader: SpanReader, search: TempoSearch): Promise<TempoSearchResponseJson> {
  let result: TraceQLSearchResult;
  try {
    result = await searchTraceQL(reader, search.query, { ...search.range, limit: search.limit, source: search.source });
  } catch (error) {
    if (error instanceof TraceQLError) throw tempoTraceQLError(error);
    throw error;
  }
  const options = { spansPerSpanset: search.spansPerSpanset };
  return {
    traces: result.traces.map((hit) =>
      tempoTraceSearchMetadata(hit.spans, search.tagSearch ? undefined : hit.match, options),
    ),
    metrics: {
      ...(result.tracesInspected > 0 ? { inspectedTraces: result.tracesInspected } : {}),
      completedJobs: 1,
      totalJobs: 1,
    },
  };
}

// ------------------------------------------------------------------------------------------------
// Tags to TraceQL

const AT = { start: 0, end: 0 } as const;

const intrinsic = (name: IntrinsicName): IntrinsicField => ({ kind: 'intrinsic', name, ...AT });
const attribute = (scope: AttributeField['scope'], name: string): AttributeField => ({
  kind: 'attribute',
  scope,
  parent: false,
  name,
  ...AT,
});
const binary = (
  lhs: FieldExpression,
  op: Extract<FieldExpression, { kind: 'binary' }>['op'],
  rhs: FieldExpression,
): FieldExpression => ({ kind: 'binary', op, lhs, rhs, ...AT });
const text = (value: string): FieldExpression => ({ kind: 'string', value, ...AT });

/**
 * The TraceQL of a tag search. Each tag is a condition some span of the trace must meet (the tags
 * may be met by different spans, as in Tempo's tag search); the durations bound the whole trace:
 *
 * ```
 * service.name=shop name="GET /" http.status_code=500 minDuration=100ms
 *   → { resource.service.name = "shop" } && { span:name = "GET /" }
 *     && { .http.status_code = "500" || .http.status_code = 500 } && { trace:duration >= 100ms }
 * ```
 *
 * `service.name` is the resource's, `name` the span name, `root.service.name` and `root.name`
 * the root span's, `status.code` the status (ok, error, unset) and `error=true` an error status;
 * any other key is a span or resource attribute, equal as a string or, when the value reads as
 * one, as an integer, float or boolean. Values match exactly (Tempo matched some well-known
 * columns by substring).
 */
export function tagSearchTraceQL(tags: ReadonlyMap<string, string>, minDuration: bigint, maxDuration: bigint): string {
  const filters: FieldExpression[] = [...tags].map(([key, value]) => tagCondition(key, value));
  const durations: FieldExpression[] = [];
  const duration = (nanos: bigint): FieldExpression => ({ kind: 'duration', nanos: durationNanos(nanos), ...AT });
  if (minDuration > 0n) durations.push(binary(intrinsic('trace:duration'), '>=', duration(minDuration)));
  if (maxDuration > 0n) durations.push(binary(intrinsic('trace:duration'), '<=', duration(maxDuration)));
  if (durations.length > 0) filters.push(durations.reduce((a, b) => binary(a, '&&', b)));
  const spansets: SpansetExpression[] =
    filters.length === 0
      ? [{ kind: 'spansetFilter', expr: undefined, ...AT }]
      : filters.map((expr) => ({ kind: 'spansetFilter', expr, ...AT }));
  const body = spansets.reduce(
    (lhs, rhs): SpansetExpression => ({ kind: 'spansetOperation', op: '&&', lhs, rhs, ...AT }),
  );
  try {
    return printTraceQL({
      kind: 'query',
      body: { kind: 'pipeline', stages: [body], ...AT },
      hints: [],
      ...AT,
    });
  } catch (error) {
    // The printer refuses text that is not well-formed Unicode (a lone surrogate).
    throw new TempoRequestError(`invalid tags: ${(error as Error).message}`);
  }
}

function tagCondition(key: string, value: string): FieldExpression {
  switch (key) {
    case 'service.name':
      return binary(attribute('resource', 'service.name'), '=', text(value));
    case 'name':
      return binary(intrinsic('span:name'), '=', text(value));
    case 'root.service.name':
      return binary(intrinsic('trace:rootService'), '=', text(value));
    case 'root.name':
      return binary(intrinsic('trace:rootName'), '=', text(value));
    case 'status.code':
      if (value !== 'ok' && value !== 'error' && value !== 'unset') {
        throw new TempoRequestError(`invalid tags: status.code must be ok, error or unset, got ${shown(value)}`);
      }
      return binary(intrinsic('span:status'), '=', { kind: 'status', value, ...AT });
    case 'error':
      if (value !== 'true') throw new TempoRequestError(`invalid tags: error takes only true, got ${shown(value)}`);
      return binary(intrinsic('span:status'), '=', { kind: 'status', value: 'error', ...AT });
    default:
      return typedEquals(attribute('none', key), value);
  }
}

const INT64 = /^-?\d{1,19}$/;
const FLOAT = /^-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?$/;

/** `field = "value"`, or also equal to the number or boolean the text reads as. */
function typedEquals(field: FieldExpression, value: string): FieldExpression {
  const alternatives = [binary(field, '=', text(value))];
  if (INT64.test(value) && BigInt(value) >= -(2n ** 63n) && BigInt(value) < 2n ** 63n) {
    alternatives.push(binary(field, '=', { kind: 'int', value: BigInt(value), ...AT }));
  } else if (FLOAT.test(value) && Number.isFinite(Number(value))) {
    alternatives.push(binary(field, '=', { kind: 'float', value: Number(value), ...AT }));
  } else if (value === 'true' || value === 'false') {
    alternatives.push(binary(field, '=', { kind: 'bool', value: value === 'true', ...AT }));
  }
  return alternatives.reduce((a, b) => binary(a, '||', b));
}
