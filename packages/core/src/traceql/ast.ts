/**
 * The typed TraceQL syntax tree produced by `parseTraceQL` (parser.ts), checked by
 * `validateTraceQL` (validate.ts) and printed by `printTraceQL` (print.ts). Grammar and
 * precedence: /work/shared/specs/traceql.md §1–§6 (Tempo's `pkg/traceql/expr.y`).
 *
 * Every node is a plain readonly object with a `kind` discriminant and the UTF-16 offsets
 * `start` (inclusive) and `end` (exclusive) of the source text it came from, including any
 * parentheses around it. Parentheses are not nodes: `(a)` and `a` give the same tree apart from
 * positions, and the printer adds parentheses where precedence needs them. Old and new intrinsic spellings (`duration`, `span:duration`) give the same node.
 * Metrics queries (`rate()` …) have no nodes: the parser rejects them.
 */

import type { DurationNanos } from '../model/units.ts';

/** Where a node came from: UTF-16 offsets into the query text, `end` exclusive. */
export interface SourceRange {
  readonly start: number;
  readonly end: number;
}

// ------------------------------------------------------------------------------------------------
// Literals

/** A string literal, escapes decoded (`"a\"b"` and `` `a"b` `` both hold `a"b`). */
export interface StringLiteral extends SourceRange {
  readonly kind: 'string';
  readonly value: string;
}

/**
 * An int64 literal. The parser only produces non-negative values (`-1` is a unary minus applied
 * to `1`) except for `minInt`, which is this node with value -2^63.
 */
export interface IntLiteral extends SourceRange {
  readonly kind: 'int';
  readonly value: bigint;
}

/** A float64 literal (`1.5`, `.5`, `1.`, `1e3`). Never negative, NaN or infinite from the parser. */
export interface FloatLiteral extends SourceRange {
  readonly kind: 'float';
  readonly value: number;
}

/** A duration literal (`1h2m3s`, `1.5m`, `500µs`, `1y` = 365 days), exact in nanoseconds. */
export interface DurationLiteral extends SourceRange {
  readonly kind: 'duration';
  readonly nanos: DurationNanos;
}

/** `true` or `false`. */
export interface BoolLiteral extends SourceRange {
  readonly kind: 'bool';
  readonly value: boolean;
}

/** The span status keywords. */
export type StatusValue = 'ok' | 'error' | 'unset';

/** `ok`, `error` or `unset`, compared with `status` / `span:status`. */
export interface StatusLiteral extends SourceRange {
  readonly kind: 'status';
  readonly value: StatusValue;
}

/** The span kind keywords. */
export type KindValue = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** A span kind keyword, compared with `kind` / `span:kind`. */
export interface KindLiteral extends SourceRange {
  readonly kind: 'spanKind';
  readonly value: KindValue;
}

/**
 * `nil`. The parser only accepts it as a direct operand of `=` or `!=` (the existence tests
 * `x = nil`, `x != nil`), as Tempo's grammar does. `nil = nil` and `nil != nil` are both false:
 * Tempo folds them so at parse time; this tree keeps them as written.
 */
export interface NilLiteral extends SourceRange {
  readonly kind: 'nil';
}

/** Any literal. */
export type Literal =
  | StringLiteral
  | IntLiteral
  | FloatLiteral
  | DurationLiteral
  | BoolLiteral
  | StatusLiteral
  | KindLiteral
  | NilLiteral;

/** The literals a scalar filter may use: numbers and durations (Tempo's `scalar`). */
export type NumericLiteral = IntLiteral | FloatLiteral | DurationLiteral;

// ------------------------------------------------------------------------------------------------
// Fields

/**
 * Where an attribute is looked up: `span.x`, `resource.x`, `event.x`, `link.x`,
 * `instrumentation.x`, or `none` for unscoped `.x` (span first, then resource; spec §3.3).
 */
export type AttributeScope = 'none' | 'span' | 'resource' | 'event' | 'link' | 'instrumentation';

/**
 * An attribute: `.http.method`, `span."foo bar"`, `resource.service.name`. `parent` is true for
 * `parent.x`, `parent.span.x` and `parent.resource.x` (scope `none`, `span` or `resource` only),
 * which parse but validate as unsupported. `name` is the decoded name, without scope or quotes.
 */
export interface AttributeField extends SourceRange {
  readonly kind: 'attribute';
  readonly scope: AttributeScope;
  readonly parent: boolean;
  readonly name: string;
}

/**
 * The intrinsics, by their canonical (scoped) spelling. The unscoped spellings are aliases:
 * `name`, `status`, `statusMessage`, `kind`, `duration` are `span:…`; `traceDuration`,
 * `rootName`, `rootServiceName` are `trace:duration`, `trace:rootName`, `trace:rootService`.
 * `nestedSetLeft/Right/Parent` (undocumented) and `parent` (unsupported) have no scoped form.
 */
export type IntrinsicName =
  | 'span:name'
  | 'span:status'
  | 'span:statusMessage'
  | 'span:kind'
  | 'span:duration'
  | 'span:id'
  | 'span:parentID'
  | 'span:childCount'
  | 'trace:duration'
  | 'trace:rootName'
  | 'trace:rootService'
  | 'trace:id'
  | 'event:name'
  | 'event:timeSinceStart'
  | 'link:traceID'
  | 'link:spanID'
  | 'instrumentation:name'
  | 'instrumentation:version'
  | 'nestedSetLeft'
  | 'nestedSetRight'
  | 'nestedSetParent'
  | 'parent';

/** An intrinsic field such as `duration` or `trace:rootService`. */
export interface IntrinsicField extends SourceRange {
  readonly kind: 'intrinsic';
  readonly name: IntrinsicName;
}

/** Binary operators inside `{ … }`, `by(…)` and aggregate arguments. */
export type FieldBinaryOperator =
  | '&&'
  | '||'
  | '='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '=~'
  | '!~'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^';

/** `lhs op rhs` inside a field expression. Regex operators (`=~`, `!~`) only here. */
export interface BinaryOperation extends SourceRange {
  readonly kind: 'binary';
  readonly op: FieldBinaryOperator;
  readonly lhs: FieldExpression;
  readonly rhs: FieldExpression;
}

/** `-x` (numeric negation) or `!x` (boolean not). */
export interface UnaryOperation extends SourceRange {
  readonly kind: 'unary';
  readonly op: '-' | '!';
  readonly operand: FieldExpression;
}

/** What may appear inside `{ … }`, `by(…)` and `avg(…)`-style aggregates. */
export type FieldExpression = Literal | AttributeField | IntrinsicField | BinaryOperation | UnaryOperation;

// ------------------------------------------------------------------------------------------------
// Spansets

/** Operators between spansets (spec §5); `&&` and `||` bind looser than the structural ones. */
export type SpansetOperator =
  | '&&'
  | '||'
  | '>'
  | '<'
  | '>>'
  | '<<'
  | '~'
  | '!>'
  | '!<'
  | '!>>'
  | '!<<'
  | '!~'
  | '&>'
  | '&<'
  | '&>>'
  | '&<<'
  | '&~';

/** `{ expr }`, or `{}` (every span) when `expr` is undefined. */
export interface SpansetFilter extends SourceRange {
  readonly kind: 'spansetFilter';
  readonly expr: FieldExpression | undefined;
}

/** `{A} op {B}` between spanset expressions (not whole pipelines: see {@link PipelineOperation}). */
export interface SpansetOperation extends SourceRange {
  readonly kind: 'spansetOperation';
  readonly op: SpansetOperator;
  readonly lhs: SpansetExpression;
  readonly rhs: SpansetExpression;
}

/** A spanset filter or a combination of them. */
export type SpansetExpression = SpansetFilter | SpansetOperation;

// ------------------------------------------------------------------------------------------------
// Scalars

/** The span aggregates of spec §6. */
export type AggregateFunction = 'count' | 'avg' | 'min' | 'max' | 'sum';

/** `count()` (no argument) or `avg(expr)`, `min(expr)`, `max(expr)`, `sum(expr)`. */
export interface Aggregate extends SourceRange {
  readonly kind: 'aggregate';
  readonly fn: AggregateFunction;
  readonly arg: FieldExpression | undefined;
}

/** Comparison operators of scalar filters. */
export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** Arithmetic on scalars. `%` and `^` need an aggregate or pipeline operand (Tempo's grammar). */
export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%' | '^';

/** `lhs op rhs` between scalars. */
export interface ScalarOperation extends SourceRange {
  readonly kind: 'scalarOperation';
  readonly op: ArithmeticOperator;
  readonly lhs: ScalarExpression;
  readonly rhs: ScalarExpression;
}

/** `-x` where x is built from numeric literals only (`-1`, `-(2 * 3)`). */
export interface ScalarNegation extends SourceRange {
  readonly kind: 'scalarNegation';
  readonly operand: ScalarExpression;
}

/**
 * `(pipeline | aggregate)`: a whole pipeline reduced to one number per trace. Only appears at
 * the root, in a {@link ScalarFilter} that compares pipelines (always unsupported, as in Tempo).
 */
export interface ScalarPipeline extends SourceRange {
  readonly kind: 'scalarPipeline';
  readonly pipeline: SpansetPipeline;
  readonly aggregate: Aggregate;
}

/** Numbers, aggregates, pipelines reduced to numbers, and arithmetic on them. */
export type ScalarExpression = NumericLiteral | Aggregate | ScalarOperation | ScalarNegation | ScalarPipeline;

/**
 * `lhs op rhs` comparing scalars. As a pipeline stage at least one side holds an aggregate
 * (`count() > 2`); the parser rejects `3 > 2`. At the root it may compare {@link ScalarPipeline}s
 * (`({…} | count()) > ({…} | count())`).
 */
export interface ScalarFilter extends SourceRange {
  readonly kind: 'scalarFilter';
  readonly op: ComparisonOperator;
  readonly lhs: ScalarExpression;
  readonly rhs: ScalarExpression;
}

// ------------------------------------------------------------------------------------------------
// Pipelines

/** `by(expr)`: splits spansets by the value of `expr`. */
export interface GroupBy extends SourceRange {
  readonly kind: 'groupBy';
  readonly expr: FieldExpression;
}

/** `coalesce()`: merges the spansets of a trace back into one. Never the first stage. */
export interface CoalesceOperation extends SourceRange {
  readonly kind: 'coalesce';
}

/** `select(a, b, …)`: adds fields to the returned spans; arguments are fields only. */
export interface SelectOperation extends SourceRange {
  readonly kind: 'select';
  readonly fields: readonly (AttributeField | IntrinsicField)[];
}

/** One stage of a pipeline. */
export type PipelineStage = SpansetExpression | ScalarFilter | GroupBy | CoalesceOperation | SelectOperation;

/** `stage | stage | …`, at least one stage. */
export interface SpansetPipeline extends SourceRange {
  readonly kind: 'pipeline';
  readonly stages: readonly PipelineStage[];
}

/**
 * `(pipeline) op (pipeline)`: whole pipelines combined with a spanset operator. At least one side
 * is a real pipeline (several stages, or a stage that is not a spanset expression, or another
 * pipeline operation); `({a}) && ({b})` is a {@link SpansetOperation}.
 */
export interface PipelineOperation extends SourceRange {
  readonly kind: 'pipelineOperation';
  readonly op: SpansetOperator;
  readonly lhs: SpansetPipeline | PipelineOperation;
  readonly rhs: SpansetPipeline | PipelineOperation;
}

/** A query hint `name = value` from `with (…)`. */
export interface QueryHint extends SourceRange {
  readonly kind: 'hint';
  readonly name: string;
  readonly value: Exclude<Literal, NilLiteral>;
}

/**
 * A whole query: a pipeline, a combination of pipelines, or a comparison of pipelines reduced to
 * numbers, followed by the hints of every `with (…)` clause in order.
 */
export interface TraceQLQuery extends SourceRange {
  readonly kind: 'query';
  readonly body: SpansetPipeline | PipelineOperation | ScalarFilter;
  readonly hints: readonly QueryHint[];
}

/** Any node of the tree. */
export type TraceQLNode =
  | TraceQLQuery
  | QueryHint
  | SpansetPipeline
  | PipelineOperation
  | PipelineStage
  | ScalarExpression
  | FieldExpression;
