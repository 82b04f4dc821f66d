import {
  type AnyValueJson,
  type KeyValueJson,
  type Span,
  type SpanJson,
  spansToTracesData,
  type TracesDataJson,
} from '@ariadne/core';
import protobuf from 'protobufjs';

/**
 * Tempo's protobuf responses, written field by field with protobufjs's `Writer`:
 *
 * ```
 * tempopb.Trace             { repeated ResourceSpans resourceSpans = 1; }   ≡ OTLP TracesData
 * tempopb.TraceByIDResponse { Trace trace = 1; … }
 * ```
 *
 * `tempopb.trace.v1` is OpenTelemetry's `trace.proto` with its package renamed, so the field
 * numbers are OTLP's (opentelemetry-proto; copies in ./proto). Proto3 rules: a scalar at its zero
 * value is not written, a oneof member always is. The tests decode these bytes with the upstream
 * `.proto` files.
 */

type Writer = protobuf.Writer;

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

const tag = (w: Writer, field: number, wire: number) => w.uint32((field << 3) | wire);

/** `tempopb.Trace` (the body of `/api/traces/{id}` with `Accept: application/protobuf`). */
export function encodeTempoTrace(spans: readonly Span[]): Uint8Array {
  const w = protobuf.Writer.create();
  writeTrace(w, spansToTracesData(spans));
  return w.finish();
}

/**
 * `tempopb.TraceByIDResponse` (the body of `/api/v2/traces/{id}` as protobuf): the trace, always
 * present even when empty, since Grafana reads `trace.resourceSpans` without checking for a
 * missing trace.
 */
export function encodeTraceByIdResponse(spans: readonly Span[]): Uint8Array {
  const w = protobuf.Writer.create();
  tag(w, 1, LEN);
  w.fork();
  writeTrace(w, spansToTracesData(spans));
  w.ldelim();
  return w.finish();
}

function writeTrace(w: Writer, trace: TracesDataJson): void {
  for (const rs of trace.resourceSpans) {
    message(w, 1, () => {
      message(w, 1, () => {
        for (const kv of rs.resource.attributes) message(w, 1, () => keyValue(w, kv));
        uint32(w, 2, rs.resource.droppedAttributesCount);
      });
      for (const ss of rs.scopeSpans) {
        message(w, 2, () => {
          message(w, 1, () => {
            string(w, 1, ss.scope.name);
            string(w, 2, ss.scope.version);
            for (const kv of ss.scope.attributes) message(w, 3, () => keyValue(w, kv));
            uint32(w, 4, ss.scope.droppedAttributesCount);
          });
          for (const span of ss.spans) message(w, 2, () => writeSpan(w, span));
          string(w, 3, ss.schemaUrl);
        });
      }
      string(w, 3, rs.schemaUrl);
    });
  }
}

function writeSpan(w: Writer, span: SpanJson): void {
  hexBytes(w, 1, span.traceId);
  hexBytes(w, 2, span.spanId);
  string(w, 3, span.traceState);
  hexBytes(w, 4, span.parentSpanId);
  string(w, 5, span.name);
  if (span.kind !== 0) {
    tag(w, 6, VARINT);
    w.int32(span.kind);
  }
  fixed64(w, 7, span.startTimeUnixNano);
  fixed64(w, 8, span.endTimeUnixNano);
  for (const kv of span.attributes) message(w, 9, () => keyValue(w, kv));
  uint32(w, 10, span.droppedAttributesCount);
  for (const e of span.events) {
    message(w, 11, () => {
      fixed64(w, 1, e.timeUnixNano);
      string(w, 2, e.name);
      for (const kv of e.attributes) message(w, 3, () => keyValue(w, kv));
      uint32(w, 4, e.droppedAttributesCount);
    });
  }
  uint32(w, 12, span.droppedEventsCount);
  for (const l of span.links) {
    message(w, 13, () => {
      hexBytes(w, 1, l.traceId);
      hexBytes(w, 2, l.spanId);
      string(w, 3, l.traceState);
      for (const kv of l.attributes) message(w, 4, () => keyValue(w, kv));
      uint32(w, 5, l.droppedAttributesCount);
      fixed32(w, 6, l.flags);
    });
  }
  uint32(w, 14, span.droppedLinksCount);
  message(w, 15, () => {
    string(w, 2, span.status.message);
    if (span.status.code !== 0) {
      tag(w, 3, VARINT);
      w.int32(span.status.code);
    }
  });
  fixed32(w, 16, span.flags);
}

function keyValue(w: Writer, kv: KeyValueJson): void {
  string(w, 1, kv.key);
  message(w, 2, () => anyValue(w, kv.value));
}

function anyValue(w: Writer, value: AnyValueJson): void {
  if ('stringValue' in value) {
    tag(w, 1, LEN);
    w.string(value.stringValue);
  } else if ('boolValue' in value) {
    tag(w, 2, VARINT);
    w.bool(value.boolValue);
  } else if ('intValue' in value) {
    tag(w, 3, VARINT);
    w.int64(longBits(BigInt(value.intValue)));
  } else if ('doubleValue' in value) {
    tag(w, 4, I64);
    // Non-finite doubles are "NaN", "Infinity" or "-Infinity" in OTLP/JSON; Number() reads all three.
    w.double(Number(value.doubleValue));
  } else if ('arrayValue' in value) {
    message(w, 5, () => {
      for (const v of value.arrayValue.values) message(w, 1, () => anyValue(w, v));
    });
  } else if ('kvlistValue' in value) {
    message(w, 6, () => {
      for (const kv of value.kvlistValue.values) message(w, 1, () => keyValue(w, kv));
    });
  } else if ('bytesValue' in value) {
    tag(w, 7, LEN);
    w.bytes(Buffer.from(value.bytesValue, 'base64'));
  }
}

/** A length-delimited sub-message, written even when empty (a set message field). */
function message(w: Writer, field: number, body: () => void): void {
  tag(w, field, LEN);
  w.fork();
  body();
  w.ldelim();
}

function string(w: Writer, field: number, value: string): void {
  if (value === '') return;
  tag(w, field, LEN);
  w.string(value);
}

function uint32(w: Writer, field: number, value: number): void {
  if (value === 0) return;
  tag(w, field, VARINT);
  w.uint32(value);
}

function fixed32(w: Writer, field: number, value: number): void {
  if (value === 0) return;
  tag(w, field, I32);
  w.fixed32(value);
}

function fixed64(w: Writer, field: number, decimal: string): void {
  const value = BigInt(decimal);
  if (value === 0n) return;
  tag(w, field, I64);
  w.fixed64(longBits(value));
}

function hexBytes(w: Writer, field: number, hex: string): void {
  if (hex === '') return;
  tag(w, field, LEN);
  w.bytes(Buffer.from(hex, 'hex'));
}

/** A 64-bit integer as protobufjs's two 32-bit halves (two's complement for negatives). */
function longBits(value: bigint): protobuf.Long {
  const u = BigInt.asUintN(64, value);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: false };
}
