import {
  type AnyValue,
  bytesToHex,
  forEachOtlpJsonScope,
  type InstrumentationScope,
  type KeyValue,
  OtlpJsonError,
  type OtlpJsonScope,
  parseOtlpJsonText,
  type Resource,
  type Span,
  SpanValidator,
  serviceNameOf,
  spansFromOtlpJson,
  spansFromOtlpJsonScope,
  type UnixNanos,
  unixNanos,
  type ValidatedSpans,
  validateSpans,
} from '@ariadne/core';

/** protobufjs's 64-bit integer: two 32-bit halves. */
interface Long {
  low: number;
  high: number;
}

import { escapeInvalidUtf8InJson } from './decode-otlp-utf8.ts';
import { splitOtlpJson } from './otlp-json-split.ts';
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RetryInfo, RpcStatus } from './otlp-proto-schema.ts';
import {
  ProtobufError,
  readExportTraceServiceRequest,
  readExportTraceServiceRequestInSlices,
  type SpanVisitor,
} from './otlp-protobuf-reader.ts';

/**
 * Pure decoders for OTLP trace export requests: bytes in, validated model spans out. They know
 * nothing about HTTP or gRPC (the receivers only move bytes and status codes), so they can be
 * tested and benchmarked on their own.
 *
 * Protobuf and JSON are judged alike (decode-otlp.test.ts sends the same requests both ways):
 * - a body that is not a message at all (truncated, wrong wire types, malformed JSON, a field of
 *   the wrong JSON type) is undecodable: `OtlpDecodeError`, so HTTP 400 / gRPC INVALID_ARGUMENT
 *   and nothing is stored, as OTLP says of requests that cannot be decoded;
 * - a message that decodes but holds invalid spans (bad ids, end before start, a span kind or
 *   status code OTLP does not define, text that is not UTF-8: invalid bytes in a protobuf string,
 *   in a JSON string, or a lone surrogate `\ud800` escape) has those spans rejected and the rest
 *   stored, reported through OTLP partial success (`rejected_spans`, `error_message`).
 * Proto3 enums are open, so an out-of-range kind is a decodable message with an invalid span; and
 * rejecting only the spans that hold bad text keeps the rest of a batch, where failing the whole
 * request would lose it (the sender must not retry a 400).
 */

/** A request body that cannot be decoded at all; the whole request is rejected (HTTP 400, gRPC INVALID_ARGUMENT). */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

interface PbKeyValue {
  key: string;
  value?: PbAnyValue | null;
}
interface PbAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Long | number;
  doubleValue?: number;
  arrayValue?: { values?: PbAnyValue[] } | null;
  kvlistValue?: { values?: PbKeyValue[] } | null;
  bytesValue?: Uint8Array;
  value?: string;
}
interface PbScope {
  name?: string;
  version?: string;
  attributes?: PbKeyValue[];
  droppedAttributesCount?: number;
}
interface PbSpan {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  traceState?: string;
  parentSpanId?: Uint8Array;
  flags?: number;
  name?: string;
  kind?: number;
  startTimeUnixNano?: Long | number;
  endTimeUnixNano?: Long | number;
  attributes?: PbKeyValue[];
  droppedAttributesCount?: number;
  events?: {
    timeUnixNano?: Long | number;
    name?: string;
    attributes?: PbKeyValue[];
    droppedAttributesCount?: number;
  }[];
  droppedEventsCount?: number;
  links?: {
    traceId?: Uint8Array;
    spanId?: Uint8Array;
    traceState?: string;
    attributes?: PbKeyValue[];
    droppedAttributesCount?: number;
    flags?: number;
  }[];
  droppedLinksCount?: number;
  status?: { message?: string; code?: number } | null;
}
interface PbRequest {
  resourceSpans?: {
    resource?: { attributes?: PbKeyValue[]; droppedAttributesCount?: number } | null;
    scopeSpans?: { scope?: PbScope | null; spans?: PbSpan[]; schemaUrl?: string }[];
    schemaUrl?: string;
  }[];
}

const EMPTY_BYTES = new Uint8Array(0);

function u64(value: Long | number | undefined): bigint {
  if (value === undefined) return 0n;
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

function i64(value: Long | number | undefined): bigint {
  return BigInt.asIntN(64, u64(value));
}

function nanos(value: Long | number | undefined): UnixNanos {
  return unixNanos(u64(value));
}

function anyValue(v: PbAnyValue | null | undefined, depth: number): AnyValue {
  if (!v || v.value === undefined) return { type: 'empty' };
  if (depth > 64) throw new OtlpDecodeError('attribute value nested too deeply (more than 64 levels)');
  switch (v.value) {
    case 'stringValue':
      return { type: 'string', value: v.stringValue ?? '' };
    case 'boolValue':
      return { type: 'bool', value: v.boolValue ?? false };
    case 'intValue':
      return { type: 'int', value: i64(v.intValue) };
    case 'doubleValue':
      return { type: 'double', value: v.doubleValue ?? 0 };
    case 'bytesValue':
      return { type: 'bytes', value: Uint8Array.from(v.bytesValue ?? EMPTY_BYTES) };
    case 'arrayValue':
      return { type: 'array', value: (v.arrayValue?.values ?? []).map((x) => anyValue(x, depth + 1)) };
    case 'kvlistValue':
      return { type: 'kvlist', value: keyValues(v.kvlistValue?.values, depth + 1) };
    default:
      return { type: 'empty' };
  }
}

function keyValues(list: PbKeyValue[] | undefined, depth = 0): KeyValue[] {
  if (!list || list.length === 0) return [];
  const out: KeyValue[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) out[i] = { key: list[i].key ?? '', value: anyValue(list[i].value, depth) };
  return out;
}

/**
 * Decodes a protobuf `ExportTraceServiceRequest` into model spans with protobufjs, without
 * validating them. The reference for the hand-written reader (differential tests, benchmark);
 * note that protobufjs skips known fields sent with the wrong wire type instead of failing.
 */
export function spansFromOtlpProtobufLibrary(bytes: Uint8Array): Span[] {
  let message: PbRequest;
  try {
    message = ExportTraceServiceRequest.decode(bytes) as unknown as PbRequest;
  } catch (error) {
    throw new OtlpDecodeError(`invalid protobuf ExportTraceServiceRequest: ${(error as Error).message}`);
  }
  const spans: Span[] = [];
  for (const rs of message.resourceSpans ?? []) {
    const resource: Resource = {
      attributes: keyValues(rs.resource?.attributes),
      droppedAttributesCount: rs.resource?.droppedAttributesCount ?? 0,
      schemaUrl: rs.schemaUrl ?? '',
    };
    const serviceName = serviceNameOf(resource);
    for (const ss of rs.scopeSpans ?? []) {
      const scope: InstrumentationScope = {
        name: ss.scope?.name ?? '',
        version: ss.scope?.version ?? '',
        attributes: keyValues(ss.scope?.attributes),
        droppedAttributesCount: ss.scope?.droppedAttributesCount ?? 0,
        schemaUrl: ss.schemaUrl ?? '',
      };
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: bytesToHex(s.traceId ?? EMPTY_BYTES),
          spanId: bytesToHex(s.spanId ?? EMPTY_BYTES),
          parentSpanId: bytesToHex(s.parentSpanId ?? EMPTY_BYTES),
          traceState: s.traceState ?? '',
          flags: (s.flags ?? 0) >>> 0,
          name: s.name ?? '',
          kind: s.kind ?? 0,
          startTimeUnixNano: nanos(s.startTimeUnixNano),
          endTimeUnixNano: nanos(s.endTimeUnixNano),
          attributes: keyValues(s.attributes),
          droppedAttributesCount: s.droppedAttributesCount ?? 0,
          events: (s.events ?? []).map((e) => ({
            timeUnixNano: nanos(e.timeUnixNano),
            name: e.name ?? '',
            attributes: keyValues(e.attributes),
            droppedAttributesCount: e.droppedAttributesCount ?? 0,
          })),
          droppedEventsCount: s.droppedEventsCount ?? 0,
          links: (s.links ?? []).map((l) => ({
            traceId: bytesToHex(l.traceId ?? EMPTY_BYTES),
            spanId: bytesToHex(l.spanId ?? EMPTY_BYTES),
            traceState: l.traceState ?? '',
            attributes: keyValues(l.attributes),
            droppedAttributesCount: l.droppedAttributesCount ?? 0,
            flags: (l.flags ?? 0) >>> 0,
          })),
          droppedLinksCount: s.droppedLinksCount ?? 0,
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
          serviceName,
          resource,
          scope,
        });
      }
    }
  }
  return spans;
}

/**
 * Decodes a protobuf export request with the strict hand-written reader, without validating the
 * spans. Throws `OtlpDecodeError` for bytes that are not a valid message (truncated, wrong wire
 * types, lengths beyond the buffer, nesting deeper than 64 levels). A string that is not UTF-8
 * comes back with lone surrogates in place of its bad bytes (decode-otlp-utf8.ts).
 */
export function spansFromOtlpProtobuf(bytes: Uint8Array): Span[] {
  const spans: Span[] = [];
  readProtobuf(bytes, (span) => spans.push(span));
  return spans;
}

function readProtobuf(bytes: Uint8Array, visit: SpanVisitor): void {
  try {
    readExportTraceServiceRequest(bytes, visit);
  } catch (error) {
    throw asDecodeError(error);
  }
}

/** The reader's errors about the bytes as `OtlpDecodeError`; anything else as it is. */
function asDecodeError(error: unknown): unknown {
  if (error instanceof ProtobufError || error instanceof RangeError) {
    return new OtlpDecodeError(`invalid protobuf ExportTraceServiceRequest: ${error.message}`);
  }
  return error;
}

/** How many bytes of a request `decodeOtlpProtobufInSlices` decodes between two pauses. */
export const DECODE_SLICE_BYTES = 1024 * 1024;

/** What a decoder in slices returns at the end: the request's verdict, without its spans. */
export interface RequestVerdict {
  readonly acceptedSpans: number;
  readonly rejectedSpans: number;
  readonly errorMessage: string;
}

/**
 * `decodeOtlpProtobuf` in slices of about `sliceBytes`: yields the valid spans of each slice
 * (possibly none) and returns the verdict, so that the caller can do other work between the
 * slices of a huge request (ingest/prepare-worker-thread.ts). Throws as `decodeOtlpProtobuf`,
 * possibly after some slices.
 */
export function* decodeOtlpProtobufInSlices(
  bytes: Uint8Array,
  sliceBytes = DECODE_SLICE_BYTES,
): Generator<Span[], RequestVerdict, void> {
  const validator = new SpanValidator();
  const slices = readExportTraceServiceRequestInSlices(bytes, validator.visit, sliceBytes);
  while (true) {
    let done: boolean | undefined;
    try {
      done = slices.next().done;
    } catch (error) {
      throw asDecodeError(error);
    }
    const valid = validator.takeValid();
    if (!done || valid.length > 0) yield valid;
    if (done) return validator.verdict();
  }
}

/**
 * Decodes and validates a protobuf export request. Throws `OtlpDecodeError` if undecodable;
 * invalid spans are counted in the result (partial success).
 */
export function decodeOtlpProtobuf(bytes: Uint8Array): ValidatedSpans {
  return validateSpans((visit) => readProtobuf(bytes, visit));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** A `\uD800`–`\uDFFF` escape: JSON.parse may make a lone surrogate of it (or half of a pair). */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Decodes and validates an OTLP JSON export request. Throws `OtlpDecodeError` if undecodable;
 * invalid spans, including those holding text that is not UTF-8, are counted in the result
 * (partial success).
 */
export function decodeOtlpJson(bytes: Uint8Array): ValidatedSpans {
  const { text, checkText } = jsonText(bytes);
  return decodeJsonText(text, checkText);
}

/** `decodeOtlpJson` of a body already decoded to text. */
function decodeJsonText(text: string, checkText: boolean): ValidatedSpans {
  const body = parseJson(text);
  try {
    return validateSpans((visit) => spansFromOtlpJson(body, (span) => visit(span, checkText)));
  } catch (error) {
    throw asJsonDecodeError(error);
  }
}

/**
 * Spans yielded at once when an OTLP/JSON text is decoded whole: about what a protobuf slice of
 * `DECODE_SLICE_BYTES` holds (a span of the benchmark workload is 669 bytes in protobuf).
 */
const WHOLE_JSON_SLICE_SPANS = 2048;

/**
 * `decodeOtlpJson` in slices of about `sliceBytes` of span text: yields the valid spans of each
 * slice (possibly none) and returns the verdict, as `decodeOtlpProtobufInSlices` does. The text is
 * cut at its spans (ingest/otlp-json-split.ts) and parsed a slice at a time, so that no single step
 * of a huge request parses more than a slice (besides decoding the bytes to text and scanning it,
 * which take a few milliseconds a megabyte). A text the splitter does not follow, or a small one,
 * is decoded whole. Throws as `decodeOtlpJson` (the same message), possibly after some slices.
 */
export function* decodeOtlpJsonInSlices(
  bytes: Uint8Array,
  sliceBytes = DECODE_SLICE_BYTES,
): Generator<Span[], RequestVerdict, void> {
  const { text, checkText } = jsonText(bytes);
  const split = text.length > sliceBytes ? splitOtlpJson(text) : undefined;
  if (split === undefined) {
    const { spans: valid, rejectedSpans, errorMessage } = decodeJsonText(text, checkText);
    // Prepared in slices all the same (a large text the splitter did not follow).
    if (valid.length <= WHOLE_JSON_SLICE_SPANS) yield valid;
    else
      for (let i = 0; i < valid.length; i += WHOLE_JSON_SLICE_SPANS) yield valid.slice(i, i + WHOLE_JSON_SLICE_SPANS);
    return { acceptedSpans: valid.length, rejectedSpans, errorMessage };
  }
  // A pause once the text is decoded and scanned.
  yield [];
  // A piece that does not parse: the whole text says exactly where it is wrong.
  const parsePiece = (piece: string): unknown => {
    try {
      return parseOtlpJsonText(piece);
    } catch (error) {
      parseJson(text);
      throw new OtlpDecodeError(`invalid JSON: ${(error as Error).message}`);
    }
  };
  const validator = new SpanValidator();
  const visit = (span: Span) => validator.visit(span, checkText);
  const skeleton = parsePiece(split.skeleton);
  const scopes = new Map<string, OtlpJsonScope>();
  try {
    checkRequestObject(skeleton);
    // The emptied span arrays hold nothing; a `spans` that is not an array fails here as whole.
    forEachOtlpJsonScope(skeleton, (scope, spans) => {
      scopes.set(scope.path, scope);
      spansFromOtlpJsonScope(scope, spans, 0, visit);
    });
    for (const array of split.arrays) {
      const scope = scopes.get(`resourceSpans[${array.resourceIndex}].scopeSpans[${array.scopeIndex}]`);
      if (scope === undefined) throw new Error('OTLP/JSON split: a span array outside the scopes of its skeleton');
      const { starts, ends } = array;
      for (let first = 0; first < starts.length; ) {
        let last = first + 1;
        while (last < starts.length && ends[last] - starts[first] <= sliceBytes) last++;
        const list = parsePiece(`[${text.slice(starts[first], ends[last - 1])}]`);
        spansFromOtlpJsonScope(scope, list, first, visit);
        yield validator.takeValid();
        first = last;
      }
    }
  } catch (error) {
    // A syntax error later in the text comes first, as when it is parsed whole.
    if (error instanceof OtlpJsonError) parseJson(text);
    throw asJsonDecodeError(error);
  }
  return validator.verdict();
}

/** An OTLP/JSON body as text, and whether its spans' text must be checked (see `SpanValidator`). */
function jsonText(bytes: Uint8Array): { text: string; checkText: boolean } {
  try {
    const text = utf8.decode(bytes);
    return { text, checkText: SURROGATE_ESCAPE.test(text) };
  } catch {
    const escaped = escapeInvalidUtf8InJson(bytes);
    if ('invalidAt' in escaped) {
      throw new OtlpDecodeError(`invalid JSON: byte ${escaped.invalidAt} is not UTF-8 and not inside a string`);
    }
    return { text: escaped.text, checkText: true };
  }
}

/** An OTLP/JSON text parsed, and checked to be an object. */
function parseJson(text: string): unknown {
  let body: unknown;
  try {
    body = parseOtlpJsonText(text);
  } catch (error) {
    throw new OtlpDecodeError(`invalid JSON: ${(error as Error).message}`);
  }
  checkRequestObject(body);
  return body;
}

function checkRequestObject(body: unknown): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new OtlpDecodeError('invalid OTLP JSON: expected an ExportTraceServiceRequest object');
  }
}

function asJsonDecodeError(error: unknown): unknown {
  return error instanceof OtlpJsonError ? new OtlpDecodeError(`invalid OTLP JSON: ${error.message}`) : error;
}

/** The OTLP response for a request: partial success when something was rejected or there is a warning. */
export interface ExportResult {
  readonly rejectedSpans: number;
  readonly errorMessage: string;
}

/**
 * Whether the response carries `partial_success`: when spans were rejected, and also, with
 * `rejected_spans` 0, to warn (OTLP allows a server to: here, items dropped for `SPAN_LIMITS`).
 */
function hasPartialSuccess(result: ExportResult): boolean {
  return result.rejectedSpans > 0 || result.errorMessage !== '';
}

/** Encodes an `ExportTraceServiceResponse` as protobuf. */
export function encodeExportResponseProtobuf(result: ExportResult): Uint8Array {
  const message = hasPartialSuccess(result)
    ? { partialSuccess: { rejectedSpans: result.rejectedSpans, errorMessage: result.errorMessage } }
    : {};
  return ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(message)).finish();
}

/** Encodes an `ExportTraceServiceResponse` as OTLP JSON (int64 as a decimal string). */
export function encodeExportResponseJson(result: ExportResult): string {
  if (!hasPartialSuccess(result)) return '{}';
  return JSON.stringify({
    partialSuccess: { rejectedSpans: String(result.rejectedSpans), errorMessage: result.errorMessage },
  });
}

/** gRPC status codes used by OTLP receivers (also the `code` of a `google.rpc.Status` body). */
export const GrpcCode = { OK: 0, INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNAVAILABLE: 14 } as const;

/**
 * Encodes a `google.rpc.Status` (protobuf), optionally with a `RetryInfo` detail telling the
 * client how long to wait.
 */
export function encodeRpcStatusProtobuf(code: number, message: string, retryAfterSeconds?: number): Uint8Array {
  const details =
    retryAfterSeconds === undefined
      ? []
      : [
          {
            type_url: 'type.googleapis.com/google.rpc.RetryInfo',
            value: RetryInfo.encode(RetryInfo.fromObject({ retryDelay: { seconds: retryAfterSeconds } })).finish(),
          },
        ];
  return RpcStatus.encode(RpcStatus.fromObject({ code, message, details })).finish();
}

/** Encodes a `google.rpc.Status` as JSON, for OTLP/HTTP JSON error responses. */
export function encodeRpcStatusJson(code: number, message: string): string {
  return JSON.stringify({ code, message });
}
