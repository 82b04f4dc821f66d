/**
 * The words TraceQL gives a meaning to (spec §2 "Keywords", §3.2 intrinsics), shared by the
 * parser, the validator and the printer.
 */

import type { IntrinsicName, KindValue, StatusValue } from './ast.ts';

/**
 * The unscoped spellings of intrinsics. `childCount`, `id`, `rootService` … have no unscoped
 * form: they are only valid after their scope (`span:childCount`).
 */
export const UNSCOPED_INTRINSICS: ReadonlyMap<string, IntrinsicName> = new Map<string, IntrinsicName>([
  ['name', 'span:name'],
  ['status', 'span:status'],
  ['statusMessage', 'span:statusMessage'],
  ['kind', 'span:kind'],
  ['duration', 'span:duration'],
  ['traceDuration', 'trace:duration'],
  ['rootName', 'trace:rootName'],
  ['rootServiceName', 'trace:rootService'],
  ['nestedSetLeft', 'nestedSetLeft'],
  ['nestedSetRight', 'nestedSetRight'],
  ['nestedSetParent', 'nestedSetParent'],
  ['parent', 'parent'],
]);

/** Words that are only intrinsics after a scope, with the spelling to suggest. */
export const SCOPED_ONLY_SUGGESTIONS: ReadonlyMap<string, string> = new Map([
  ['childCount', 'span:childCount'],
  ['id', 'span:id or trace:id'],
  ['parentID', 'span:parentID'],
  ['rootService', 'trace:rootService'],
  ['timeSinceStart', 'event:timeSinceStart'],
  ['traceID', 'link:traceID'],
  ['spanID', 'link:spanID'],
  ['version', 'instrumentation:version'],
]);

/**
 * The static type of each intrinsic (spec §3.2). `parent` has none: it is unsupported, and the
 * validator says so before it needs a type.
 */
export type IntrinsicType = 'string' | 'int' | 'duration' | 'status' | 'kind';

/** The type of every intrinsic except `parent`. */
export const INTRINSIC_TYPES: Readonly<Record<Exclude<IntrinsicName, 'parent'>, IntrinsicType>> = {
  'span:name': 'string',
  'span:status': 'status',
  'span:statusMessage': 'string',
  'span:kind': 'kind',
  'span:duration': 'duration',
  'span:id': 'string',
  'span:parentID': 'string',
  'span:childCount': 'int',
  'trace:duration': 'duration',
  'trace:rootName': 'string',
  'trace:rootService': 'string',
  'trace:id': 'string',
  'event:name': 'string',
  'event:timeSinceStart': 'duration',
  'link:traceID': 'string',
  'link:spanID': 'string',
  'instrumentation:name': 'string',
  'instrumentation:version': 'string',
  nestedSetLeft: 'int',
  nestedSetRight: 'int',
  nestedSetParent: 'int',
};

/** The status keywords. */
export const STATUS_VALUES: ReadonlySet<string> = new Set<StatusValue>(['ok', 'error', 'unset']);

/** The span kind keywords. */
export const KIND_VALUES: ReadonlySet<string> = new Set<KindValue>([
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
]);

/**
 * The metrics functions of spec §7. A query that reaches one is rejected as unsupported until the
 * metrics engine exists.
 */
export const METRICS_FUNCTIONS: ReadonlySet<string> = new Set([
  'rate',
  'count_over_time',
  'min_over_time',
  'max_over_time',
  'avg_over_time',
  'sum_over_time',
  'quantile_over_time',
  'histogram_over_time',
  'compare',
]);

/** The metrics second-stage functions; they only follow a metrics function. */
export const METRICS_SECOND_STAGE: ReadonlySet<string> = new Set(['topk', 'bottomk']);

/** The least int64, spelled `minInt` in queries. */
export const MIN_INT = -(1n << 63n);
/** The greatest int64, spelled `maxInt` in queries. */
export const MAX_INT = (1n << 63n) - 1n;

/**
 * Binding strength of the binary operators inside `{ }` (and of scalar arithmetic), lowest first,
 * as Tempo's grammar ranks them: `&&` and `||` share one level. The parser and the printer both
 * read it.
 */
export const FIELD_PRECEDENCE: Readonly<Record<string, number>> = {
  '||': 1,
  '&&': 1,
  '=': 2,
  '!=': 2,
  '<': 2,
  '<=': 2,
  '>': 2,
  '>=': 2,
  '=~': 2,
  '!~': 2,
  '+': 3,
  '-': 3,
  '*': 5,
  '/': 5,
  '%': 5,
  '^': 6,
};
