import type { UnixNanos } from './units.ts';

/**
 * The span model: every field of an OTLP span, plus its resource and instrumentation scope,
 * flattened so that one span can be stored, searched and analysed on its own.
 *
 * Ids are lowercase hex strings (32 characters for a trace id, 16 for a span id) so that the
 * model is the same in Node and in the browser. Times are exact unix nanoseconds (`bigint`).
 */

/** An OTLP `AnyValue`. `int` is a signed 64-bit integer, kept exact as a `bigint`. */
export type AnyValue =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'int'; readonly value: bigint }
  | { readonly type: 'double'; readonly value: number }
  | { readonly type: 'bytes'; readonly value: Uint8Array }
  | { readonly type: 'array'; readonly value: readonly AnyValue[] }
  | { readonly type: 'kvlist'; readonly value: readonly KeyValue[] }
  | { readonly type: 'empty' };

/** One attribute. Order and duplicates are kept as received. */
export interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}

/** OTLP `Span.SpanKind`, numbered as in the protocol. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;
export type SpanKind = number;

/** OTLP `Status.StatusCode`, numbered as in the protocol. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;
export type StatusCode = number;

/** Names of span kinds, as printed by the CLI and UI. */
export const SPAN_KIND_NAMES: readonly string[] = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];

export interface SpanStatus {
  readonly code: StatusCode;
  readonly message: string;
}

export interface SpanEvent {
  readonly timeUnixNano: UnixNanos;
  readonly name: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
}

export interface SpanLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  readonly flags: number;
}

export interface Resource {
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  readonly schemaUrl: string;
}

export interface InstrumentationScope {
  readonly name: string;
  readonly version: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  readonly schemaUrl: string;
}

/** One span with its resource and scope. */
export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty string for a root span. */
  readonly parentSpanId: string;
  readonly traceState: string;
  readonly flags: number;
  readonly name: string;
  readonly kind: SpanKind;
  readonly startTimeUnixNano: UnixNanos;
  readonly endTimeUnixNano: UnixNanos;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  readonly events: readonly SpanEvent[];
  readonly droppedEventsCount: number;
  readonly links: readonly SpanLink[];
  readonly droppedLinksCount: number;
  readonly status: SpanStatus;
  /** The resource's `service.name`, or `unknown_service` as the OpenTelemetry SDKs default. */
  readonly serviceName: string;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
}

/** The service name used when a resource has no `service.name`. */
export const UNKNOWN_SERVICE = 'unknown_service';

/** Returns the string value of the first attribute named `key`, or undefined. */
export function stringAttribute(attributes: readonly KeyValue[], key: string): string | undefined {
  for (const kv of attributes) {
    if (kv.key === key && kv.value.type === 'string') return kv.value.value;
  }
  return undefined;
}

/** Returns the value of the first attribute named `key`, or undefined. */
export function findAttribute(attributes: readonly KeyValue[], key: string): AnyValue | undefined {
  for (const kv of attributes) if (kv.key === key) return kv.value;
  return undefined;
}

/** The service name for a resource: `service.name` if it is a non-empty string. */
export function serviceNameOf(resource: Resource): string {
  const name = stringAttribute(resource.attributes, 'service.name');
  return name && name.length > 0 ? name : UNKNOWN_SERVICE;
}

/**
 * Renders an attribute value as plain text for people (CLI, UI, search). Ints print exactly,
 * bytes as base64, arrays and kvlists as JSON-like text. Not reversible: use the OTLP JSON
 * encoding for that.
 */
export function anyValueToText(value: AnyValue): string {
  switch (value.type) {
    case 'string':
      return value.value;
    case 'bool':
      return value.value ? 'true' : 'false';
    case 'int':
      return value.value.toString();
    case 'double':
      return Number.isFinite(value.value) ? String(value.value) : String(value.value);
    case 'bytes':
      return bytesToBase64(value.value);
    case 'array':
      return `[${value.value.map((v) => anyValueToText(v)).join(', ')}]`;
    case 'kvlist':
      return `{${value.value.map((kv) => `${kv.key}: ${anyValueToText(kv.value)}`).join(', ')}}`;
    case 'empty':
      return '';
  }
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 with padding, without depending on Buffer or btoa. */
export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += BASE64[n >> 18] + BASE64[(n >> 12) & 63] + BASE64[(n >> 6) & 63] + BASE64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += `${BASE64[n >> 18]}${BASE64[(n >> 12) & 63]}==`;
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += `${BASE64[n >> 18]}${BASE64[(n >> 12) & 63]}${BASE64[(n >> 6) & 63]}=`;
  }
  return out;
}

/** Decodes standard or URL-safe base64 (padding optional). Throws on any other character. */
export function base64ToBytes(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  if (clean.length % 4 === 1) throw new RangeError('invalid base64 length');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    let v: number;
    if (c >= 65 && c <= 90) v = c - 65;
    else if (c >= 97 && c <= 122) v = c - 71;
    else if (c >= 48 && c <= 57) v = c + 4;
    else if (c === 43 || c === 45) v = 62;
    else if (c === 47 || c === 95) v = 63;
    else throw new RangeError(`invalid base64 character ${JSON.stringify(clean[i])}`);
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of bytes. */
export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

/** True if `id` is lowercase or uppercase hex of exactly `length` characters and not all zeros. */
export function isValidHexId(id: string, length: 16 | 32): boolean {
  return id.length === length && /^[0-9a-fA-F]+$/.test(id) && !/^0+$/.test(id);
}
