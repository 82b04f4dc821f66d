/**
 * TraceQL front end: lexer, parser, validator and printer for Tempo's query language (search
 * queries; metrics queries are recognised and rejected as unsupported). Spec:
 * /work/shared/specs/traceql.md.
 */

export type {
  Aggregate,
  AggregateFunction,
  ArithmeticOperator,
  AttributeField,
  AttributeScope,
  BinaryOperation,
  BoolLiteral,
  CoalesceOperation,
  ComparisonOperator,
  DurationLiteral,
  FieldBinaryOperator,
  FieldExpression,
  FloatLiteral,
  GroupBy,
  IntLiteral,
  IntrinsicField,
  IntrinsicName,
  KindLiteral,
  KindValue,
  Literal,
  NilLiteral,
  NumericLiteral,
  PipelineOperation,
  PipelineStage,
  QueryHint,
  ScalarExpression,
  ScalarFilter,
  ScalarNegation,
  ScalarOperation,
  ScalarPipeline,
  SelectOperation,
  SourceRange,
  SpansetExpression,
  SpansetFilter,
  SpansetOperation,
  SpansetOperator,
  SpansetPipeline,
  StatusLiteral,
  StatusValue,
  StringLiteral,
  TraceQLNode,
  TraceQLQuery,
  UnaryOperation,
} from './ast.ts';
export { compileTraceQL } from './compile.ts';
export type {
  TraceQLEvaluator,
  TraceQLEvaluatorOptions,
  TraceQLSpanField,
  TraceQLSpanset,
  TraceQLSpansetAttribute,
  TraceQLTraceMatch,
} from './evaluate.ts';
export { createTraceQLEvaluator, evaluateTraceQL } from './evaluate.ts';
export type { FormSearch } from './form.ts';
export { formAttributeCondition, formSearchConditions, formSearchToTraceQL } from './form.ts';
export type { IntrinsicType } from './keywords.ts';
export { INTRINSIC_TYPES } from './keywords.ts';
export type { TraceQLLexer, TraceQLPunctuation, TraceQLToken, TraceQLTokenPosition } from './lexer.ts';
export { createTraceQLLexer, TRACEQL_PUNCTUATION, tokenizeTraceQL } from './lexer.ts';
export { MAX_QUERY_DEPTH, parseTraceQL } from './parser.ts';
export { printTraceQL } from './print.ts';
export type { TraceQLErrorCode } from './traceql-error.ts';
export { TraceQLError } from './traceql-error.ts';
export type { TraceQLValue } from './traceql-values.ts';
export { formatGoDuration, traceqlValueToText } from './traceql-values.ts';
export { validateTraceQL } from './validate.ts';
