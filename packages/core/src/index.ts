/**
 * @ariadne/core: the trace model and pure analysis functions. No I/O, no globals, no runtime
 * dependencies; runs in Node and in the browser.
 */

export type {
  AnyValueJson,
  ApiSpanJson,
  KeyValueJson,
  SpanJson,
  TracesDataJson,
} from './model/otlp-json.ts';
export {
  anyValueFromJson,
  anyValueToJson,
  attributesFromJson,
  attributesToJson,
  OtlpJsonError,
  spanFromApiJson,
  spansFromOtlpJson,
  spansToTracesData,
  spanToApiJson,
  spanToOtlpJson,
} from './model/otlp-json.ts';
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
export { spanInvalidReason, validateSpans } from './model/validate.ts';
