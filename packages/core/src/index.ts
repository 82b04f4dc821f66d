/**
 * @ariadne/core: the trace model and pure analysis functions. No I/O, no globals, no runtime
 * dependencies; runs in Node and in the browser.
 */

// Trace analysis (buildTrace, critical path, time, errors, dependencies, diagrams) and importers.
export type {
  CriticalPathSectionJson,
  TraceAnalysis,
  TraceAnalysisJson,
  TraceSpans,
} from './analysis/analyze-trace.ts';
export { analysisToJson, analyzeTrace, splitByTrace } from './analysis/analyze-trace.ts';
export type {
  BuildTraceOptions,
  NanoOffsets,
  OperationKey,
  Trace,
  TraceWarning,
  TraceWarningCode,
} from './analysis/build-trace.ts';
export { ancestorChain, buildTrace, isAsync, offsetToUnixNanos } from './analysis/build-trace.ts';
export type { CriticalPath, CriticalPathSection, RootCriticalPath } from './analysis/critical-path.ts';
export { criticalPath, criticalPathSections, criticalPathSpans } from './analysis/critical-path.ts';
export type { Dependencies, DependencyEdge } from './analysis/dependencies.ts';
export { mergeDependencies, traceDependencies } from './analysis/dependencies.ts';
export type { ErrorAnalysis, ErrorOutcome, RootCause, SpanError } from './analysis/errors.ts';
export { analyzeErrors, errorReason, isErrorSpan } from './analysis/errors.ts';
export type { MermaidOptions } from './analysis/mermaid.ts';
export { toMermaid } from './analysis/mermaid.ts';
export { sortIndicesByKey } from './analysis/sort-indices.ts';
export type { OperationTime, ServiceTime, TimeBreakdown, TimeShare } from './analysis/time-by-service.ts';
export { selfTimes, timeByService } from './analysis/time-by-service.ts';
export type { WaterfallOptions } from './analysis/waterfall-text.ts';
export { renderWaterfall } from './analysis/waterfall-text.ts';
// Jaeger's JSON trace model (query API shape), OTLP to Jaeger and back.
export type {
  JaegerKeyValue,
  JaegerLog,
  JaegerProcess,
  JaegerReference,
  JaegerSpan,
  JaegerTrace,
  JaegerValueType,
} from './formats/jaeger.ts';
export {
  jaegerTag,
  jaegerTraceId,
  spansFromJaegerJson,
  spansFromJaegerTrace,
  spansToJaegerTrace,
  spansToJaegerTraces,
} from './formats/jaeger.ts';
// Grafana Tempo's response shapes (traces, search results, tag values) from the span model.
export type {
  TempoKeyValueJson,
  TempoResourceSpansJson,
  TempoSearchMetadataOptions,
  TempoSearchSpanJson,
  TempoSpanJson,
  TempoSpanSetJson,
  TempoTagValueInput,
  TempoTagValueJson,
  TempoTraceJson,
  TempoTraceSearchMetadataJson,
} from './formats/tempo.ts';
export {
  TEMPO_INTRINSIC_TAGS,
  TEMPO_KIND_VALUES,
  TEMPO_ROOT_SPAN_NOT_YET_RECEIVED,
  TEMPO_STATUS_VALUES,
  tempoAnyValue,
  tempoTagValue,
  tempoTagValueText,
  tempoTraceByIdV2Json,
  tempoTraceIdHex,
  tempoTraceJson,
  tempoTraceSearchMetadata,
  tempoTraceV1Json,
} from './formats/tempo.ts';
// Zipkin's v2 span model (and v1 JSON read into it), Zipkin to OTLP and back.
export type {
  SpansFromZipkinOptions,
  ZipkinAnnotation,
  ZipkinEndpoint,
  ZipkinKind,
  ZipkinSpan,
} from './formats/zipkin.ts';
export {
  isZipkinV1Span,
  RESOURCE_TAG_PREFIXES,
  readZipkinSpan,
  readZipkinSpans,
  spansFromZipkin,
  spansFromZipkinJson,
  spansToZipkin,
  spanToZipkin,
  ZIPKIN_DEBUG,
  ZIPKIN_FIELD_ATTRIBUTES,
  ZIPKIN_REMOTE_NAME_ATTRIBUTES,
  ZIPKIN_SHARED,
  ZIPKIN_START_TIME_ABSENT,
  ZipkinStarts,
  zipkinConverter,
  zipkinSliceConverter,
  zipkinTagText,
  zipkinTraceId,
} from './formats/zipkin.ts';
export { readZipkinV1Spans } from './formats/zipkin-v1.ts';
export { TraceImportError } from './import/import-error.ts';
export type { ImportedTraces, TraceFormat } from './import/import-traces.ts';
export { detectTraceFormat, importTraces, importTracesFromJson } from './import/import-traces.ts';
export { addDropped, limitSpan, SPAN_LIMITS } from './model/limits.ts';
export type {
  AnyValueJson,
  ApiSpanJson,
  KeyValueJson,
  OtlpJsonScope,
  SpanJson,
  TracesDataJson,
} from './model/otlp-json.ts';
export {
  anyValueFromJson,
  anyValueToJson,
  attributesFromJson,
  attributesToJson,
  forEachOtlpJsonScope,
  OtlpJsonError,
  parseOtlpJsonText,
  spanFromApiJson,
  spansFromOtlpJson,
  spansFromOtlpJsonScope,
  spansToApiJson,
  spansToApiJsonText,
  spansToTracesData,
  spanToApiJson,
  spanToOtlpJson,
} from './model/otlp-json.ts';
export { seededRandom } from './model/seeded-random.ts';
export type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  Resource,
  Span,
  SpanEvent,
  SpanLink,
  SpanStatus,
} from './model/span.ts';
export {
  anyValueToText,
  base64ToBytes,
  bytesToBase64,
  bytesToHex,
  findAttribute,
  isValidHexId,
  SPAN_KIND_NAMES,
  SpanKind,
  StatusCode,
  serviceNameOf,
  stringAttribute,
  UNKNOWN_SERVICE,
} from './model/span.ts';
export type { DurationNanos, UnixNanos } from './model/units.ts';
export { durationNanos, formatDuration, nanosToMillis, parseUnixNanos, unixNanos } from './model/units.ts';
export type { ValidatedSpans } from './model/validate.ts';
export { SpanValidator, spanInvalidReason, validateSpans } from './model/validate.ts';
export {
  BAGGAGE_MAX_BYTES,
  BAGGAGE_MAX_MEMBERS,
  createBaggage,
  decodeBaggageValue,
  encodeBaggageValue,
  isValidBaggageKey,
  parseBaggage,
  serializeBaggage,
} from './propagation/baggage.ts';
export { BAGGAGE_HEADER, createBaggagePropagator } from './propagation/baggage-propagator.ts';
export type { Baggage, BaggageEntry, PropagationContext, SpanContext } from './propagation/context.ts';
export { ROOT_CONTEXT, TraceFlags, withBaggage, withSpanContext } from './propagation/context.ts';
export type { ChildSpanContextOptions } from './propagation/ids.ts';
export {
  createChildSpanContext,
  generateSpanId,
  generateTraceId,
  isValidSpanId,
  isValidTraceId,
} from './propagation/ids.ts';
export type { HeaderRecord, TextMapGetter, TextMapPropagator, TextMapSetter } from './propagation/text-map.ts';
export { createCompositePropagator, headerRecordGetter, headerRecordSetter } from './propagation/text-map.ts';
export {
  createTraceContextPropagator,
  spanContextFromHeaders,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
} from './propagation/trace-context-propagator.ts';
export type { TraceState, TraceStateSerializeOptions } from './propagation/trace-state.ts';
export {
  createTraceState,
  isValidTraceStateKey,
  isValidTraceStateValue,
  parseTraceState,
  TRACE_STATE_MAX_LENGTH,
  TRACE_STATE_MAX_MEMBERS,
} from './propagation/trace-state.ts';
export type { Traceparent, TraceparentFields } from './propagation/traceparent.ts';
export { formatTraceparent, parseTraceparent } from './propagation/traceparent.ts';
// TraceQL front end (lexer, parser, validator, printer); metrics queries are rejected.
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
  FormSearch,
  GroupBy,
  IntLiteral,
  IntrinsicField,
  IntrinsicName,
  IntrinsicType,
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
  TraceQLErrorCode,
  TraceQLEvaluator,
  TraceQLEvaluatorOptions,
  TraceQLLexer,
  TraceQLNode,
  TraceQLPunctuation,
  TraceQLQuery,
  TraceQLSpanField,
  TraceQLSpanset,
  TraceQLSpansetAttribute,
  TraceQLToken,
  TraceQLTokenPosition,
  TraceQLTraceMatch,
  TraceQLValue,
  UnaryOperation,
} from './traceql/index.ts';
export {
  compileTraceQL,
  createTraceQLEvaluator,
  createTraceQLLexer,
  evaluateTraceQL,
  formAttributeCondition,
  formatGoDuration,
  formSearchConditions,
  formSearchToTraceQL,
  INTRINSIC_TYPES,
  MAX_QUERY_DEPTH,
  parseTraceQL,
  printTraceQL,
  TRACEQL_PUNCTUATION,
  TraceQLError,
  tokenizeTraceQL,
  traceqlValueToText,
  validateTraceQL,
} from './traceql/index.ts';
