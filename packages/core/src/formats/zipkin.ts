import { microsToNanos, normalizeHexId } from '../import/ids.ts';
import { TraceImportError } from '../import/import-error.ts';
import type { AnyValue, InstrumentationScope, KeyValue, Resource, Span, SpanEvent } from '../model/span.ts';
import { bytesToBase64, findAttribute, SpanKind, StatusCode, stringAttribute, UNKNOWN_SERVICE } from '../model/span.ts';
import { type UnixNanos, unixNanos } from '../model/units.ts';

/**
 * Where a CLIENT or PRODUCER span's remote endpoint name comes from when it has no `peer.service`,
 * first present wins (after the OpenTelemetry Zipkin exporter): a span from an OpenTelemetry SDK
 * rarely has `peer.service`, but its calls have `server.address` or `db.name`. Zipkin's read API
 * lists and searches remote services by the same keys.
 */
export const ZIPKIN_REMOTE_NAME_ATTRIBUTES: readonly string[] = [
  'server.address',
  'net.peer.name',
  'server.socket.domain',
  'net.sock.peer.name',
  'peer.hostname',
  'peer.address',
  'db.name',
];

/**
 * Zipkin's v2 span model (`zipkin2-api.yaml`, `zipkin.proto`) and the span model in both
 * directions, one mapping:
 *
 * ```
 *   Zipkin v2 JSON ──readZipkinSpans──▶ ZipkinSpan ──spansFromZipkin──▶ span model
 *   Zipkin v2 JSON ◀──JSON.stringify─── ZipkinSpan ◀───spanToZipkin───── span model
 * ```
 *
 * Zipkin to OTLP follows the OpenTelemetry Collector's Zipkin translator
 * (`pkg/translator/zipkin/zipkinv2/to_translator.go`):
 * - a 64-bit `traceId` becomes the low half of a 128-bit one (left-padded with zeros); a
 *   `parentId` equal to the span's own `id` is dropped;
 * - `localEndpoint.serviceName` becomes the resource's `service.name`; tags in the resource
 *   namespaces (`RESOURCE_TAG_PREFIXES`: `service.*`, `host.*`, `telemetry.*`, …) move to the
 *   resource; `otel.scope.name` / `otel.scope.version` (or the older `otel.library.*`) to the
 *   scope;
 * - `kind` CLIENT / SERVER / PRODUCER / CONSUMER to the same span kind; no kind (a local span) to
 *   INTERNAL, the inverse of the OpenTelemetry Zipkin exporter's INTERNAL → no kind (the
 *   translator says UNSPECIFIED);
 * - `remoteEndpoint.serviceName` to `peer.service` (unless a `peer.service` tag is there), its
 *   address and port to `network.peer.address` / `network.peer.port`; `localEndpoint`'s to
 *   `network.local.address` / `network.local.port` (today's semantic conventions, where the
 *   translator still writes 1.6.1's `net.peer.ip`, `net.host.ip`, … which are read back too);
 * - `otel.status_code` (`OK` / `ERROR`, or the translator's `STATUS_CODE_*`) and
 *   `otel.status_description` to the status, an `error` tag beside `otel.status_code` = ERROR
 *   being the exporter's copy of the description; without `otel.status_code`, any `error` tag
 *   means ERROR, as Zipkin and its UI read it (the translator only takes `"true"`), with the tag's
 *   text as the message unless it is `"true"`, and the tag is kept;
 * - annotations to events named by their value; `w3c.tracestate` to the trace state;
 *   `otel.dropped_{attributes,events,links}_count` to the dropped counts; every other tag to a
 *   string attribute (no guessing of numbers);
 * - `timestamp` and `duration` (microseconds) to exact nanoseconds. Without a `timestamp` (a late
 *   half of a span, as the zipkin-lens fixtures have), the span is placed at a start borrowed from
 *   what is known: its first annotation, the other half of a shared span, its parent, the earliest
 *   span of its trace in the same batch, or the time it was received; the translator's marker
 *   `otel.zipkin.absentField.startTime` says so, and the way back leaves `timestamp` out again;
 * - what OTLP has no field for: `shared` and `debug` to the bool attributes `zipkin.shared` and
 *   `zipkin.debug`; an endpoint with both an IPv4 and an IPv6 address keeps the IPv6 one in
 *   `zipkin.local_endpoint.ipv6` / `zipkin.remote_endpoint.ipv6`.
 * Names are kept as sent (Zipkin's server lower-cases them; the translator does not).
 *
 * OTLP to Zipkin follows the OpenTelemetry specification's Zipkin exporter
 * (`specification/trace/sdk_exporters/zipkin.md`), undoing the above where it applies, so that
 * Zipkin spans read back as they were sent: `service.name` to `localEndpoint.serviceName`, INTERNAL
 * and UNSPECIFIED to no kind, the remote endpoint from `peer.service` (for CLIENT and PRODUCER
 * also from `server.address`, `net.peer.name`, … in the specification's ranking), attributes,
 * then the resource's (but `service.name`), then the scope as tags, all as strings (`"true"`,
 * JSON lists for arrays); status OK as `otel.status_code`, ERROR as `otel.status_code` plus
 * `error` = the description unless an `error` attribute is already there; events as annotations
 * (`"name":{json attributes}` when they have attributes); microseconds truncated; empty fields
 * left out; a trace id with a zero upper half printed in 16 hex digits, as Zipkin does.
 * Not mapped either way: links, span flags, attributes of scopes and events (but in annotation
 * text), schema URLs.
 */

// ------------------------------------------------------------------------------------------------
// The v2 model

/** A Zipkin span kind; no kind is a local span. */
export type ZipkinKind = 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';

/** A network endpoint: the span's own service (local) or the one it talks to (remote). */
export interface ZipkinEndpoint {
  readonly serviceName?: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly port?: number;
}

/** A timestamped event, in microseconds. */
export interface ZipkinAnnotation {
  readonly timestamp: number;
  readonly value: string;
}

/** A Zipkin v2 span; times in microseconds, absent fields left out. */
export interface ZipkinSpan {
  /** 16 or 32 lowercase hex digits. */
  readonly traceId: string;
  readonly parentId?: string;
  /** 16 lowercase hex digits. */
  readonly id: string;
  readonly kind?: ZipkinKind;
  readonly name?: string;
  readonly timestamp?: number;
  readonly duration?: number;
  readonly localEndpoint?: ZipkinEndpoint;
  readonly remoteEndpoint?: ZipkinEndpoint;
  readonly annotations?: readonly ZipkinAnnotation[];
  readonly tags?: Readonly<Record<string, string>>;
  readonly debug?: boolean;
  readonly shared?: boolean;
}

/** The marker attribute of a span that came without a `timestamp` (the Collector's name). */
export const ZIPKIN_START_TIME_ABSENT = 'otel.zipkin.absentField.startTime';
/** A Zipkin `shared` span (the server half of a span whose id the client chose). */
export const ZIPKIN_SHARED = 'zipkin.shared';
/** A Zipkin `debug` span. */
export const ZIPKIN_DEBUG = 'zipkin.debug';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const LOCAL_IPV6 = 'zipkin.local_endpoint.ipv6';
const REMOTE_IPV6 = 'zipkin.remote_endpoint.ipv6';

/**
 * Attributes that become Zipkin span fields (endpoints, flags), not tags, on the way to Zipkin.
 * `network.*.address` only when it holds an IP address.
 */
export const ZIPKIN_FIELD_ATTRIBUTES: ReadonlySet<string> = new Set([
  ZIPKIN_START_TIME_ABSENT,
  ZIPKIN_SHARED,
  ZIPKIN_DEBUG,
  LOCAL_IPV6,
  REMOTE_IPV6,
  'peer.service',
  'network.local.address',
  'network.local.port',
  'network.peer.address',
  'network.peer.port',
  'net.host.ip',
  'net.host.port',
  'net.peer.ip',
  'net.peer.port',
]);

/**
 * Tags that describe the process rather than the span (the resource semantic conventions'
 * namespaces, as the Collector's translator lifts them): moved to the resource.
 */
export const RESOURCE_TAG_PREFIXES: readonly string[] = [
  'service.',
  'telemetry.',
  'host.',
  'os.',
  'process.',
  'container.',
  'k8s.',
  'cloud.',
  'faas.',
  'deployment.',
  'device.',
  'webengine.',
];

const KINDS: Readonly<Record<ZipkinKind, SpanKind>> = {
  CLIENT: SpanKind.CLIENT,
  SERVER: SpanKind.SERVER,
  PRODUCER: SpanKind.PRODUCER,
  CONSUMER: SpanKind.CONSUMER,
};

const KIND_NAMES: Readonly<Record<number, ZipkinKind>> = {
  [SpanKind.CLIENT]: 'CLIENT',
  [SpanKind.SERVER]: 'SERVER',
  [SpanKind.PRODUCER]: 'PRODUCER',
  [SpanKind.CONSUMER]: 'CONSUMER',
};

// ------------------------------------------------------------------------------------------------
// Reading untrusted JSON

function record(value: unknown, path: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new TraceImportError(`${path}: expected an object`);
  return value as Record<string, unknown>;
}

function optionalString(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new TraceImportError(`${path}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Microseconds: a non-negative safe integer; 0 is absent, as Zipkin reads it. A fraction is
 * rounded to the nearest microsecond: OpenTelemetry JS's Zipkin exporter sends span timestamps
 * with one (it rounds only durations and annotations).
 */
function optionalMicros(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const whole = typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : value;
  const micros = Number(microsToNanos(whole, path) / 1000n);
  if (!Number.isSafeInteger(micros)) throw new TraceImportError(`${path}: ${JSON.stringify(value)} is out of range`);
  return micros === 0 ? undefined : micros;
}

function readEndpoint(value: unknown, path: string): ZipkinEndpoint | undefined {
  const e = record(value, path);
  if (e === undefined) return undefined;
  const out: { serviceName?: string; ipv4?: string; ipv6?: string; port?: number } = {};
  const serviceName = optionalString(e.serviceName, `${path}.serviceName`);
  if (serviceName) out.serviceName = serviceName;
  const ipv4 = optionalString(e.ipv4, `${path}.ipv4`);
  if (ipv4) out.ipv4 = ipv4;
  const ipv6 = optionalString(e.ipv6, `${path}.ipv6`);
  if (ipv6) out.ipv6 = ipv6;
  if (e.port !== undefined && e.port !== null) {
    if (typeof e.port !== 'number' || !Number.isInteger(e.port) || e.port < 0 || e.port > 65535) {
      throw new TraceImportError(`${path}.port: expected a port from 0 to 65535, got ${JSON.stringify(e.port)}`);
    }
    if (e.port !== 0) out.port = e.port;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * Reads one Zipkin v2 span from parsed JSON, checking every field: hex ids (shorter ones are
 * left-padded, upper case is lowered; an all-zero `parentId` is no parent), a known `kind`,
 * integer microseconds, endpoints, annotations. Tag values that are not strings are kept as their
 * JSON text. Throws `TraceImportError` naming the field by `path`.
 */
export function readZipkinSpan(value: unknown, path: string): ZipkinSpan {
  const z = record(value, path);
  if (z === undefined) throw new TraceImportError(`${path}: expected a span object`);
  const rawTrace = normalizeHexId(z.traceId, 32, `${path}.traceId`);
  const id = normalizeHexId(z.id, 16, `${path}.id`);
  if (rawTrace === '' || id === '') throw new TraceImportError(`${path}: a Zipkin span needs traceId and id`);
  if (/^0+$/.test(rawTrace)) throw new TraceImportError(`${path}.traceId: is all zeros`);
  if (/^0+$/.test(id)) throw new TraceImportError(`${path}.id: is all zeros`);
  const given = typeof z.traceId === 'string' ? z.traceId.length : 32;
  const traceId = zipkinTraceId(given > 16 ? rawTrace : rawTrace.slice(16));
  const parent = normalizeHexId(z.parentId, 16, `${path}.parentId`);
  const out: Mutable<ZipkinSpan> = { traceId, id };
  if (parent !== '' && !/^0+$/.test(parent)) out.parentId = parent;
  if (z.kind !== undefined && z.kind !== null) {
    if (typeof z.kind !== 'string' || !(z.kind in KINDS)) {
      throw new TraceImportError(
        `${path}.kind: expected CLIENT, SERVER, PRODUCER or CONSUMER (or no kind), got ${JSON.stringify(z.kind)}`,
      );
    }
    out.kind = z.kind as ZipkinKind;
  }
  const name = optionalString(z.name, `${path}.name`);
  if (name) out.name = name;
  const timestamp = optionalMicros(z.timestamp, `${path}.timestamp`);
  if (timestamp !== undefined) out.timestamp = timestamp;
  const duration = optionalMicros(z.duration, `${path}.duration`);
  if (duration !== undefined) out.duration = duration;
  const local = readEndpoint(z.localEndpoint, `${path}.localEndpoint`);
  if (local) out.localEndpoint = local;
  const remote = readEndpoint(z.remoteEndpoint, `${path}.remoteEndpoint`);
  if (remote) out.remoteEndpoint = remote;
  if (z.annotations !== undefined && z.annotations !== null) {
    if (!Array.isArray(z.annotations)) throw new TraceImportError(`${path}.annotations: expected an array`);
    if (z.annotations.length > 0) {
      out.annotations = z.annotations.map((a, i) => {
        const ap = `${path}.annotations[${i}]`;
        const ann = record(a, ap);
        if (ann === undefined) throw new TraceImportError(`${ap}: expected an object`);
        const at = optionalMicros(ann.timestamp, `${ap}.timestamp`);
        if (at === undefined) throw new TraceImportError(`${ap}.timestamp: an annotation needs a timestamp`);
        return { timestamp: at, value: optionalString(ann.value, `${ap}.value`) ?? '' };
      });
    }
  }
  const tags = record(z.tags, `${path}.tags`);
  if (tags !== undefined && Object.keys(tags).length > 0) {
    const copy: Record<string, string> = {};
    for (const [key, v] of Object.entries(tags)) copy[key] = typeof v === 'string' ? v : JSON.stringify(v);
    out.tags = copy;
  }
  if (z.debug === true) out.debug = true;
  if (z.shared === true) out.shared = true;
  return out;
}

/**
 * True for Zipkin v1 JSON spans (`binaryAnnotations`, or annotations carrying an `endpoint`),
 * which a v2 reader must refuse rather than misread.
 */
export function isZipkinV1Span(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const s = value as Record<string, unknown>;
  if ('binaryAnnotations' in s) return true;
  const annotations = s.annotations;
  return (
    Array.isArray(annotations) &&
    annotations.some((a) => typeof a === 'object' && a !== null && 'endpoint' in (a as object))
  );
}

/**
 * Reads a Zipkin v2 JSON list of spans (as `POST /api/v2/spans` takes it) or, with `nested`, also
 * a list of traces (lists of spans, as `GET /api/v2/traces` returns them). Throws
 * `TraceImportError` for anything else, naming the path of the first bad field; v1 spans are
 * refused as such.
 */
export function readZipkinSpans(body: unknown, options: { readonly nested?: boolean } = {}): ZipkinSpan[] {
  if (!Array.isArray(body)) throw new TraceImportError('expected a JSON list of Zipkin v2 spans');
  const out: ZipkinSpan[] = [];
  const one = (value: unknown, path: string) => {
    if (isZipkinV1Span(value)) throw new TraceImportError(`${path}: this is a Zipkin v1 span, expected v2`);
    out.push(readZipkinSpan(value, path));
  };
  for (let i = 0; i < body.length; i++) {
    const item = body[i];
    if (Array.isArray(item) && options.nested) {
      for (let j = 0; j < item.length; j++) one(item[j], `[${i}][${j}]`);
    } else {
      one(item, `[${i}]`);
    }
  }
  return out;
}

/**
 * A trace id as Zipkin prints it (`Span.normalizeTraceId`): lowercase, 16 hex digits when the
 * upper half of a 32-digit id is zero. Expects hex of 16 or 32 digits.
 */
export function zipkinTraceId(hex: string): string {
  const lower = hex.toLowerCase();
  return lower.length === 32 && lower.startsWith('0000000000000000') ? lower.slice(16) : lower;
}

// ------------------------------------------------------------------------------------------------
// Zipkin to the span model

/** Options of `spansFromZipkin`. */
export interface SpansFromZipkinOptions {
  /**
   * When the spans were received: the start of a span without a timestamp whose trace has none
   * in the batch either. Without it such a span starts at 0.
   */
  readonly receivedUnixNano?: UnixNanos;
}

function str(key: string, value: string): KeyValue {
  return { key, value: { type: 'string', value } };
}

function int(key: string, value: number): KeyValue {
  return { key, value: { type: 'int', value: BigInt(value) } };
}

function isResourceTag(key: string): boolean {
  for (const prefix of RESOURCE_TAG_PREFIXES) if (key.startsWith(prefix)) return true;
  return false;
}

function endpointAttributes(endpoint: ZipkinEndpoint | undefined, side: 'local' | 'peer', out: KeyValue[]): void {
  if (endpoint === undefined) return;
  const address = endpoint.ipv4 ?? endpoint.ipv6;
  if (address) out.push(str(`network.${side}.address`, address));
  if (endpoint.port) out.push(int(`network.${side}.port`, endpoint.port));
  if (endpoint.ipv4 && endpoint.ipv6) out.push(str(side === 'local' ? LOCAL_IPV6 : REMOTE_IPV6, endpoint.ipv6));
}

const STATUS_CODES: Readonly<Record<string, StatusCode>> = {
  OK: StatusCode.OK,
  ERROR: StatusCode.ERROR,
  UNSET: StatusCode.UNSET,
  STATUS_CODE_OK: StatusCode.OK,
  STATUS_CODE_ERROR: StatusCode.ERROR,
  STATUS_CODE_UNSET: StatusCode.UNSET,
};

/** Takes the status out of the tags (see the module comment). */
function takeStatus(tags: Map<string, string>): { code: StatusCode; message: string } {
  const otel = tags.get('otel.status_code');
  const code = otel === undefined ? undefined : STATUS_CODES[otel];
  if (code !== undefined) {
    tags.delete('otel.status_code');
    let message = tags.get('otel.status_description');
    tags.delete('otel.status_description');
    if (code === StatusCode.ERROR && tags.has('error')) {
      message ??= tags.get('error');
      tags.delete('error');
    }
    return { code, message: code === StatusCode.ERROR ? (message ?? '') : '' };
  }
  const error = tags.get('error');
  if (error !== undefined) return { code: StatusCode.ERROR, message: error === 'true' ? '' : error };
  return { code: StatusCode.UNSET, message: '' };
}

function takeCount(tags: Map<string, string>, key: string): number {
  const text = tags.get(key);
  if (text === undefined || !/^\d{1,9}$/.test(text)) return 0;
  tags.delete(key);
  return Number(text);
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

/**
 * Where each trace's spans with a timestamp start, to place the ones without (see the module
 * comment): the earliest per trace, and per span id. Filled a list at a time (`add`), for a
 * caller that reads a huge list in pieces and does not keep it.
 */
export class ZipkinStarts {
  readonly byTrace = new Map<string, number>();
  readonly byId = new Map<string, number>();

  /** Takes in the starts of `spans`. */
  add(spans: readonly ZipkinSpan[]): this {
    for (const z of spans) {
      if (z.timestamp === undefined) continue;
      this.byTrace.set(z.traceId, minDefined(this.byTrace.get(z.traceId), z.timestamp) as number);
      const key = `${z.traceId}/${z.id}`;
      this.byId.set(key, minDefined(this.byId.get(key), z.timestamp) as number);
    }
    return this;
  }
}

/**
 * Converts Zipkin v2 spans to the span model (see the module comment). Spans of one service with
 * the same resource tags share one resource object, as an OTLP request would.
 */
export function spansFromZipkin(spans: readonly ZipkinSpan[], options: SpansFromZipkinOptions = {}): Span[] {
  return zipkinConverter(spans, options)(0, spans.length);
}

/**
 * `spansFromZipkin` a slice at a time, for a caller that converts a huge list in pieces:
 * `convert(from, to)` is `spansFromZipkin(spans, options).slice(from, to)`, with resources and
 * scopes shared across the slices, and spans without a timestamp placed from the whole list.
 */
export function zipkinConverter(
  spans: readonly ZipkinSpan[],
  options: SpansFromZipkinOptions = {},
): (from: number, to: number) => Span[] {
  const convert = zipkinSliceConverter(new ZipkinStarts().add(spans), options);
  return (from, to) => convert(spans.slice(from, to));
}

/**
 * `spansFromZipkin` for a list read a piece at a time and never whole: `convert(piece)` converts
 * the next piece, with resources and scopes shared across pieces. Spans without a timestamp are
 * placed from `starts`, which must hold the whole list's (`ZipkinStarts.add` of every piece) for
 * the spans to be those of `spansFromZipkin`; spans with one do not need it.
 */
export function zipkinSliceConverter(
  starts: ZipkinStarts,
  options: SpansFromZipkinOptions = {},
): (piece: readonly ZipkinSpan[]) => Span[] {
  const context: Context = {
    resources: new Map<string, Resource>(),
    scopes: new Map<string, InstrumentationScope>(),
    starts,
    receivedUnixNano: options.receivedUnixNano,
  };
  return (piece) => piece.map((z) => spanFromZipkin(z, context));
}

interface Context {
  readonly resources: Map<string, Resource>;
  readonly scopes: Map<string, InstrumentationScope>;
  readonly starts: ZipkinStarts;
  readonly receivedUnixNano?: UnixNanos;
}

function startOf(z: ZipkinSpan, context: Context): { micros?: number; nanos: bigint } {
  if (z.timestamp !== undefined) return { micros: z.timestamp, nanos: BigInt(z.timestamp) * 1000n };
  let borrowed: number | undefined;
  for (const a of z.annotations ?? []) borrowed = minDefined(borrowed, a.timestamp);
  borrowed ??= context.starts.byId.get(`${z.traceId}/${z.id}`);
  if (borrowed === undefined && z.parentId) borrowed = context.starts.byId.get(`${z.traceId}/${z.parentId}`);
  borrowed ??= context.starts.byTrace.get(z.traceId);
  if (borrowed !== undefined) return { nanos: BigInt(borrowed) * 1000n };
  return { nanos: context.receivedUnixNano ?? 0n };
}

function resourceOf(z: ZipkinSpan, tags: Map<string, string>, context: Context): Resource {
  const attributes: KeyValue[] = [];
  let serviceName = z.localEndpoint?.serviceName;
  const tagged = tags.get('service.name');
  if (tagged !== undefined && (serviceName === undefined || tagged === serviceName)) {
    serviceName = tagged;
    tags.delete('service.name');
  }
  if (serviceName) attributes.push(str('service.name', serviceName));
  for (const [key, value] of tags) {
    if (key !== 'service.name' && isResourceTag(key)) {
      attributes.push(str(key, value));
      tags.delete(key);
    }
  }
  const key = JSON.stringify(attributes.map((a) => [a.key, (a.value as { value: string }).value]));
  let resource = context.resources.get(key);
  if (resource === undefined) {
    resource = { attributes, droppedAttributesCount: 0, schemaUrl: '' };
    context.resources.set(key, resource);
  }
  return resource;
}

function scopeOf(tags: Map<string, string>, context: Context): InstrumentationScope {
  const name = tags.get('otel.scope.name') ?? tags.get('otel.library.name') ?? '';
  const version = tags.get('otel.scope.version') ?? tags.get('otel.library.version') ?? '';
  for (const key of ['otel.scope.name', 'otel.library.name', 'otel.scope.version', 'otel.library.version']) {
    tags.delete(key);
  }
  const key = `${name}\0${version}`;
  let scope = context.scopes.get(key);
  if (scope === undefined) {
    scope = { name, version, attributes: [], droppedAttributesCount: 0, schemaUrl: '' };
    context.scopes.set(key, scope);
  }
  return scope;
}

function spanFromZipkin(z: ZipkinSpan, context: Context): Span {
  const tags = new Map(Object.entries(z.tags ?? {}));
  const status = takeStatus(tags);
  const resource = resourceOf(z, tags, context);
  const scope = scopeOf(tags, context);
  const traceState = tags.get('w3c.tracestate') ?? '';
  tags.delete('w3c.tracestate');
  const droppedAttributesCount = takeCount(tags, 'otel.dropped_attributes_count');
  const droppedEventsCount = takeCount(tags, 'otel.dropped_events_count');
  const droppedLinksCount = takeCount(tags, 'otel.dropped_links_count');

  const attributes: KeyValue[] = [];
  for (const [key, value] of tags) attributes.push(str(key, value));
  endpointAttributes(z.localEndpoint, 'local', attributes);
  const remoteName = z.remoteEndpoint?.serviceName;
  if (remoteName && !tags.has('peer.service')) attributes.push(str('peer.service', remoteName));
  endpointAttributes(z.remoteEndpoint, 'peer', attributes);
  if (z.shared) attributes.push({ key: ZIPKIN_SHARED, value: { type: 'bool', value: true } });
  if (z.debug) attributes.push({ key: ZIPKIN_DEBUG, value: { type: 'bool', value: true } });

  const start = startOf(z, context);
  if (start.micros === undefined)
    attributes.push({ key: ZIPKIN_START_TIME_ABSENT, value: { type: 'bool', value: true } });
  const end = start.nanos + BigInt(z.duration ?? 0) * 1000n;
  const events: SpanEvent[] = (z.annotations ?? []).map((a) => ({
    timeUnixNano: unixNanos(BigInt(a.timestamp) * 1000n),
    name: a.value,
    attributes: [],
    droppedAttributesCount: 0,
  }));
  const serviceName = stringAttribute(resource.attributes, 'service.name') || UNKNOWN_SERVICE;
  return {
    traceId: z.traceId.padStart(32, '0'),
    spanId: z.id,
    parentSpanId: z.parentId && z.parentId !== z.id ? z.parentId : '',
    traceState,
    flags: 0,
    name: z.name ?? '',
    kind: z.kind ? KINDS[z.kind] : SpanKind.INTERNAL,
    startTimeUnixNano: unixNanos(start.nanos),
    endTimeUnixNano: unixNanos(end),
    attributes,
    droppedAttributesCount,
    events,
    droppedEventsCount,
    links: [],
    droppedLinksCount,
    status,
    serviceName,
    resource,
    scope,
  };
}

// ------------------------------------------------------------------------------------------------
// The span model to Zipkin

// Leading zeros are allowed: Zipkin's own test data has `10.0.0.04`.
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** An IP address literal's Zipkin field, or undefined for a host name or anything else. */
function ipField(address: string): 'ipv4' | 'ipv6' | undefined {
  if (IPV4.test(address)) return 'ipv4';
  if (address.includes(':') && /^[0-9a-fA-F:.]+$/.test(address)) return 'ipv6';
  return undefined;
}

/** JSON for an attribute value inside a list or map tag: numbers and bools bare, the rest strings. */
function jsonValue(value: AnyValue): string {
  switch (value.type) {
    case 'bool':
      return value.value ? 'true' : 'false';
    case 'int':
      return value.value.toString();
    case 'double':
      return Number.isFinite(value.value) ? JSON.stringify(value.value) : JSON.stringify(String(value.value));
    case 'array':
      return `[${value.value.map(jsonValue).join(',')}]`;
    case 'kvlist':
      return `{${value.value.map((kv) => `${JSON.stringify(kv.key)}:${jsonValue(kv.value)}`).join(',')}}`;
    case 'empty':
      return 'null';
    default:
      return JSON.stringify(zipkinTagText(value));
  }
}

/**
 * An attribute value as a Zipkin tag (strings only): bools `"true"` / `"false"`, numbers as
 * their decimal text, bytes in base64, arrays as a JSON list and maps as a JSON object.
 */
export function zipkinTagText(value: AnyValue): string {
  switch (value.type) {
    case 'string':
      return value.value;
    case 'bool':
      return value.value ? 'true' : 'false';
    case 'int':
      return value.value.toString();
    case 'double':
      return String(value.value);
    case 'bytes':
      return bytesToBase64(value.value);
    case 'array':
    case 'kvlist':
      return jsonValue(value);
    case 'empty':
      return '';
  }
}

function firstText(attributes: readonly KeyValue[], keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = findAttribute(attributes, key);
    if (value !== undefined && value.type !== 'empty') {
      const text = zipkinTagText(value);
      if (text !== '') return text;
    }
  }
  return undefined;
}

function firstPort(attributes: readonly KeyValue[], keys: readonly string[]): number | undefined {
  const text = firstText(attributes, keys);
  if (text === undefined || !/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port > 0 && port <= 65535 ? port : undefined;
}

/** The span's endpoint on one side, and which attributes it used up (not tags then). */
function endpointOf(span: Span, side: 'local' | 'remote', used: Set<string>): ZipkinEndpoint | undefined {
  const a = span.attributes;
  const out: { serviceName?: string; ipv4?: string; ipv6?: string; port?: number } = {};
  const addressKeys =
    side === 'local'
      ? ['network.local.address', 'net.host.ip']
      : ['network.peer.address', 'net.peer.ip', 'server.socket.address', 'net.sock.peer.addr'];
  const portKeys =
    side === 'local'
      ? ['network.local.port', 'net.host.port']
      : ['network.peer.port', 'net.peer.port', 'server.socket.port', 'net.sock.peer.port'];
  if (side === 'local') {
    const name = stringAttribute(span.resource.attributes, 'service.name');
    if (name) out.serviceName = name;
  } else {
    const peer = firstText(a, ['peer.service']);
    const client = span.kind === SpanKind.CLIENT || span.kind === SpanKind.PRODUCER;
    const name = peer ?? (client ? firstText(a, ZIPKIN_REMOTE_NAME_ATTRIBUTES) : undefined);
    if (name !== undefined) out.serviceName = name;
    if (peer !== undefined) used.add('peer.service');
  }
  for (const key of addressKeys) {
    const value = stringAttribute(a, key);
    const field = value === undefined ? undefined : ipField(value);
    if (value !== undefined && field !== undefined) {
      out[field] = value;
      if (ZIPKIN_FIELD_ATTRIBUTES.has(key)) used.add(key);
      break;
    }
  }
  const extraV6 = stringAttribute(a, side === 'local' ? LOCAL_IPV6 : REMOTE_IPV6);
  if (extraV6 !== undefined && out.ipv6 === undefined) out.ipv6 = extraV6;
  const port = firstPort(a, portKeys);
  if (port !== undefined) {
    out.port = port;
    for (const key of portKeys) if (ZIPKIN_FIELD_ATTRIBUTES.has(key)) used.add(key);
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function isTrue(value: AnyValue | undefined): boolean {
  return value !== undefined && value.type === 'bool' && value.value;
}

function annotationOf(event: SpanEvent): ZipkinAnnotation {
  const attributes = event.attributes;
  const value =
    attributes.length === 0
      ? event.name
      : `${JSON.stringify(event.name)}:{${attributes.map((kv) => `${JSON.stringify(kv.key)}:${jsonValue(kv.value)}`).join(',')}}`;
  return { timestamp: Number(event.timeUnixNano / 1000n), value };
}

/**
 * Converts one span to Zipkin v2 (see the module comment). Microseconds are truncated; a span
 * ending before it starts gets no duration.
 */
export function spanToZipkin(span: Span): ZipkinSpan {
  const used = new Set<string>([ZIPKIN_START_TIME_ABSENT, ZIPKIN_SHARED, ZIPKIN_DEBUG, LOCAL_IPV6, REMOTE_IPV6]);
  const localEndpoint = endpointOf(span, 'local', used);
  const remoteEndpoint = endpointOf(span, 'remote', used);

  const tags: Record<string, string> = {};
  const put = (key: string, value: string) => {
    if (!Object.hasOwn(tags, key)) tags[key] = value;
  };
  let errorTag = false;
  for (const kv of span.attributes) {
    if (used.has(kv.key)) continue;
    if (kv.key === 'error') {
      // A boolean `false` error is no error; Zipkin takes any `error` tag as one.
      const text = zipkinTagText(kv.value);
      if (text === 'false') continue;
      errorTag = true;
    }
    put(kv.key, zipkinTagText(kv.value));
  }
  for (const kv of span.resource.attributes) if (kv.key !== 'service.name') put(kv.key, zipkinTagText(kv.value));
  if (span.scope.name) put('otel.scope.name', span.scope.name);
  if (span.scope.version) put('otel.scope.version', span.scope.version);
  if (span.status.code === StatusCode.OK) put('otel.status_code', 'OK');
  if (span.status.code === StatusCode.ERROR && !errorTag) {
    put('otel.status_code', 'ERROR');
    put('error', span.status.message);
  }
  if (span.traceState) put('w3c.tracestate', span.traceState);
  if (span.droppedAttributesCount > 0) put('otel.dropped_attributes_count', String(span.droppedAttributesCount));
  if (span.droppedEventsCount > 0) put('otel.dropped_events_count', String(span.droppedEventsCount));
  if (span.droppedLinksCount > 0) put('otel.dropped_links_count', String(span.droppedLinksCount));

  // Zipkin's own field order.
  const out: Partial<Mutable<ZipkinSpan>> = { traceId: zipkinTraceId(span.traceId) };
  if (span.parentSpanId) out.parentId = span.parentSpanId;
  out.id = span.spanId;
  const kind = KIND_NAMES[span.kind];
  if (kind) out.kind = kind;
  if (span.name) out.name = span.name;
  const timestampAbsent = isTrue(findAttribute(span.attributes, ZIPKIN_START_TIME_ABSENT));
  const startMicros = Number(span.startTimeUnixNano / 1000n);
  if (!timestampAbsent && startMicros > 0) out.timestamp = startMicros;
  const durationMicros =
    span.endTimeUnixNano > span.startTimeUnixNano ? Number((span.endTimeUnixNano - span.startTimeUnixNano) / 1000n) : 0;
  if (durationMicros > 0) out.duration = durationMicros;
  if (localEndpoint) out.localEndpoint = localEndpoint;
  if (remoteEndpoint) out.remoteEndpoint = remoteEndpoint;
  if (span.events.length > 0) out.annotations = span.events.map(annotationOf);
  if (Object.keys(tags).length > 0) out.tags = tags;
  if (isTrue(findAttribute(span.attributes, ZIPKIN_DEBUG))) out.debug = true;
  if (isTrue(findAttribute(span.attributes, ZIPKIN_SHARED))) out.shared = true;
  return out as ZipkinSpan;
}

/** Converts spans to Zipkin v2, in the order given. */
export function spansToZipkin(spans: readonly Span[]): ZipkinSpan[] {
  return spans.map(spanToZipkin);
}

/**
 * Converts Zipkin v2 JSON as files hold it (a list of spans, or a list of traces) to the span
 * model. Throws `TraceImportError` naming the first bad field.
 */
export function spansFromZipkinJson(body: unknown, options: SpansFromZipkinOptions = {}): Span[] {
  return spansFromZipkin(readZipkinSpans(body, { nested: true }), options);
}
