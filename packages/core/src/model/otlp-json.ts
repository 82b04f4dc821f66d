import {
  type AnyValue,
  base64ToBytes,
  bytesToBase64,
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  type Span,
  type SpanEvent,
  type SpanLink,
  serviceNameOf,
} from './span.ts';
import { type UnixNanos, unixNanos } from './units.ts';

/**
 * The OTLP JSON encoding (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
 * lowerCamelCase field names, hex trace and span ids, integer enums, 64-bit integers as decimal
 * strings, bytes as base64. Encoding and decoding here are pure; the HTTP receiver and the API
 * only move the bytes.
 */

/** OTLP JSON `AnyValue`. */
export type AnyValueJson =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number | string }
  | { bytesValue: string }
  | { arrayValue: { values: AnyValueJson[] } }
  | { kvlistValue: { values: KeyValueJson[] } }
  | Record<string, never>;

export interface KeyValueJson {
  key: string;
  value: AnyValueJson;
}

export interface EventJson {
  timeUnixNano: string;
  name: string;
  attributes: KeyValueJson[];
  droppedAttributesCount: number;
}

export interface LinkJson {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: KeyValueJson[];
  droppedAttributesCount: number;
  flags: number;
}

export interface ResourceJson {
  attributes: KeyValueJson[];
  droppedAttributesCount: number;
}

export interface ScopeJson {
  name: string;
  version: string;
  attributes: KeyValueJson[];
  droppedAttributesCount: number;
}

/** An OTLP JSON `Span`. */
export interface SpanJson {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValueJson[];
  droppedAttributesCount: number;
  events: EventJson[];
  droppedEventsCount: number;
  links: LinkJson[];
  droppedLinksCount: number;
  status: { code: number; message: string };
}

/** A span as the query API returns it: OTLP JSON fields plus its service, resource and scope. */
export interface ApiSpanJson extends SpanJson {
  serviceName: string;
  resource: ResourceJson & { schemaUrl: string };
  scope: ScopeJson & { schemaUrl: string };
}

/** OTLP JSON `TracesData` / `ExportTraceServiceRequest`. */
export interface TracesDataJson {
  resourceSpans: {
    resource: ResourceJson;
    schemaUrl: string;
    scopeSpans: { scope: ScopeJson; schemaUrl: string; spans: SpanJson[] }[];
  }[];
}

export function anyValueToJson(value: AnyValue): AnyValueJson {
  switch (value.type) {
    case 'string':
      return { stringValue: value.value };
    case 'bool':
      return { boolValue: value.value };
    case 'int':
      return { intValue: value.value.toString() };
    case 'double':
      return { doubleValue: Number.isFinite(value.value) ? value.value : String(value.value) };
    case 'bytes':
      return { bytesValue: bytesToBase64(value.value) };
    case 'array':
      return { arrayValue: { values: value.value.map(anyValueToJson) } };
    case 'kvlist':
      return { kvlistValue: { values: attributesToJson(value.value) } };
    case 'empty':
      return {};
  }
}

export function attributesToJson(attributes: readonly KeyValue[]): KeyValueJson[] {
  return attributes.map((kv) => ({ key: kv.key, value: anyValueToJson(kv.value) }));
}

function eventToJson(e: SpanEvent): SpanJson['events'][number] {
  return {
    timeUnixNano: e.timeUnixNano.toString(),
    name: e.name,
    attributes: attributesToJson(e.attributes),
    droppedAttributesCount: e.droppedAttributesCount,
  };
}

function linkToJson(l: SpanLink): SpanJson['links'][number] {
  return {
    traceId: l.traceId,
    spanId: l.spanId,
    traceState: l.traceState,
    attributes: attributesToJson(l.attributes),
    droppedAttributesCount: l.droppedAttributesCount,
    flags: l.flags,
  };
}

/** Encodes a span's own OTLP fields (without resource and scope). */
export function spanToOtlpJson(span: Span): SpanJson {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    traceState: span.traceState,
    flags: span.flags,
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: span.startTimeUnixNano.toString(),
    endTimeUnixNano: span.endTimeUnixNano.toString(),
    attributes: attributesToJson(span.attributes),
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map(eventToJson),
    droppedEventsCount: span.droppedEventsCount,
    links: span.links.map(linkToJson),
    droppedLinksCount: span.droppedLinksCount,
    status: { code: span.status.code, message: span.status.message },
  };
}

/** Encodes a span for the query API: OTLP JSON plus `serviceName`, `resource` and `scope`. */
export function spanToApiJson(span: Span): ApiSpanJson {
  return {
    ...spanToOtlpJson(span),
    serviceName: span.serviceName,
    resource: resourceToJson(span.resource),
    scope: scopeToJson(span.scope),
  };
}

function resourceToJson(resource: Resource): ApiSpanJson['resource'] {
  return {
    attributes: attributesToJson(resource.attributes),
    droppedAttributesCount: resource.droppedAttributesCount,
    schemaUrl: resource.schemaUrl,
  };
}

function scopeToJson(scope: InstrumentationScope): ApiSpanJson['scope'] {
  return {
    name: scope.name,
    version: scope.version,
    attributes: attributesToJson(scope.attributes),
    droppedAttributesCount: scope.droppedAttributesCount,
    schemaUrl: scope.schemaUrl,
  };
}

/** Memoises a conversion per object: spans of one trace share few resources and scopes. */
function memo<K extends object, V>(convert: (key: K) => V): (key: K) => V {
  const cache = new Map<K, V>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      value = convert(key);
      cache.set(key, value);
    }
    return value;
  };
}

/**
 * `spanToApiJson` for many spans: resources and scopes shared between spans are encoded once
 * and the same JSON object is referenced from every span that shares them.
 */
export function spansToApiJson(spans: readonly Span[]): ApiSpanJson[] {
  const resourceJson = memo(resourceToJson);
  const scopeJson = memo(scopeToJson);
  return spans.map((span) => {
    // Extending the fresh object is much cheaper than spreading it into another one.
    const json = spanToOtlpJson(span) as SpanJson & Partial<ApiSpanJson>;
    json.serviceName = span.serviceName;
    json.resource = resourceJson(span.resource);
    json.scope = scopeJson(span.scope);
    return json as ApiSpanJson;
  });
}

/**
 * The JSON text of `spansToApiJson(spans)`, character for character, written directly: an
 * attribute object, resource or scope shared between spans is encoded once and its text reused,
 * where `JSON.stringify` would encode every occurrence again (a stored trace's spans share their
 * decoded attributes, so a 1,500-span trace was mostly re-encoding the same few hundred).
 */
export function spansToApiJsonText(spans: readonly Span[]): string {
  const attributeText = new Map<KeyValue, string>();
  const attributes = (list: readonly KeyValue[]): string => {
    if (list.length === 0) return '[]';
    let out = '[';
    for (let i = 0; i < list.length; i++) {
      const kv = list[i];
      let text = attributeText.get(kv);
      if (text === undefined) {
        text = JSON.stringify({ key: kv.key, value: anyValueToJson(kv.value) });
        attributeText.set(kv, text);
      }
      out += i === 0 ? text : `,${text}`;
    }
    return `${out}]`;
  };
  const resourceText = memo((resource: Resource) => JSON.stringify(resourceToJson(resource)));
  const scopeText = memo((scope: InstrumentationScope) => JSON.stringify(scopeToJson(scope)));
  const parts: string[] = new Array(spans.length);
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    // Same keys in the same order as spansToApiJson.
    parts[i] =
      `{"traceId":${JSON.stringify(span.traceId)},"spanId":${JSON.stringify(span.spanId)},` +
      `"parentSpanId":${JSON.stringify(span.parentSpanId)},"traceState":${JSON.stringify(span.traceState)},` +
      `"flags":${JSON.stringify(span.flags)},"name":${JSON.stringify(span.name)},"kind":${JSON.stringify(span.kind)},` +
      `"startTimeUnixNano":"${span.startTimeUnixNano}","endTimeUnixNano":"${span.endTimeUnixNano}",` +
      `"attributes":${attributes(span.attributes)},"droppedAttributesCount":${JSON.stringify(span.droppedAttributesCount)},` +
      `"events":${span.events.length === 0 ? '[]' : JSON.stringify(span.events.map(eventToJson))},` +
      `"droppedEventsCount":${JSON.stringify(span.droppedEventsCount)},` +
      `"links":${span.links.length === 0 ? '[]' : JSON.stringify(span.links.map(linkToJson))},` +
      `"droppedLinksCount":${JSON.stringify(span.droppedLinksCount)},` +
      `"status":{"code":${JSON.stringify(span.status.code)},"message":${JSON.stringify(span.status.message)}},"serviceName":${JSON.stringify(span.serviceName)},` +
      `"resource":${resourceText(span.resource)},"scope":${scopeText(span.scope)}}`;
  }
  return `[${parts.join(',')}]`;
}

/**
 * Groups spans back into OTLP `TracesData`: one `resourceSpans` per distinct resource and one
 * `scopeSpans` per distinct scope within it, in first-seen order. Equal resources or scopes in
 * different objects are merged; each distinct object is compared once.
 */
export function spansToTracesData(spans: readonly Span[]): TracesDataJson {
  const byResourceKey = new Map<string, TracesDataJson['resourceSpans'][number]>();
  const resourceEntry = memo((resource: Resource) => {
    const json: ResourceJson = {
      attributes: attributesToJson(resource.attributes),
      droppedAttributesCount: resource.droppedAttributesCount,
    };
    const key = JSON.stringify([json, resource.schemaUrl]);
    let rs = byResourceKey.get(key);
    if (!rs) {
      rs = { resource: json, schemaUrl: resource.schemaUrl, scopeSpans: [] };
      byResourceKey.set(key, rs);
    }
    return {
      rs,
      scopes: new Map<string, TracesDataJson['resourceSpans'][number]['scopeSpans'][number]>(),
      byScope: new Map<InstrumentationScope, TracesDataJson['resourceSpans'][number]['scopeSpans'][number]>(),
    };
  });
  for (const span of spans) {
    const entry = resourceEntry(span.resource);
    let ss = entry.byScope.get(span.scope);
    if (!ss) {
      const scope: ScopeJson = {
        name: span.scope.name,
        version: span.scope.version,
        attributes: attributesToJson(span.scope.attributes),
        droppedAttributesCount: span.scope.droppedAttributesCount,
      };
      const key = JSON.stringify([scope, span.scope.schemaUrl]);
      ss = entry.scopes.get(key);
      if (!ss) {
        ss = { scope, schemaUrl: span.scope.schemaUrl, spans: [] };
        entry.scopes.set(key, ss);
        entry.rs.scopeSpans.push(ss);
      }
      entry.byScope.set(span.scope, ss);
    }
    ss.spans.push(spanToOtlpJson(span));
  }
  return { resourceSpans: [...byResourceKey.values()] };
}

/** A body that cannot be decoded as OTLP JSON. The message names the path of the bad field. */
export class OtlpJsonError extends Error {
  override readonly name = 'OtlpJsonError';
}

type Json = unknown;

function fail(path: string, message: string): never {
  throw new OtlpJsonError(`${path}: ${message}`);
}

function obj(value: Json, path: string): Record<string, Json> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(path, 'expected an object');
  return value as Record<string, Json>;
}

function arr(value: Json, path: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(path, 'expected an array');
  return value;
}

function str(value: Json, path: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') fail(path, 'expected a string');
  return value;
}

function u32(value: Json, path: string): number {
  if (value === undefined || value === null) return 0;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    fail(path, 'expected an unsigned 32-bit integer');
  }
  return n;
}

const INT32_TEXT = /^-?\d{1,10}$/;

/**
 * An enum: its name, or any 32-bit integer as a number or decimal string. Proto3 enums are open,
 * so a number OTLP does not define decodes (as it does from protobuf) and `validateSpans` rejects
 * the span; an unknown name or a number that is not an int32 cannot be decoded at all.
 */
function enumValue(value: Json, path: string, names: Record<string, number>): number {
  if (value === undefined || value === null) return 0;
  // Own names only: `"constructor" in names` is true as well.
  if (typeof value === 'string' && Object.hasOwn(names, value)) return names[value];
  const n = typeof value === 'string' && INT32_TEXT.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) {
    const shown =
      typeof value === 'string'
        ? JSON.stringify(value.slice(0, 40))
        : typeof value === 'number'
          ? String(value)
          : `a value of type ${Array.isArray(value) ? 'array' : typeof value}`;
    fail(path, `expected one of ${Object.keys(names).join(', ')} or a 32-bit integer, got ${shown}`);
  }
  return n;
}

const INT64_RE = /^-?\d{1,20}$/;

function int64(value: Json, path: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) fail(path, 'integer is not exact; send 64-bit integers as strings');
    return BigInt(value);
  }
  if (typeof value === 'string' && INT64_RE.test(value)) {
    const n = BigInt(value);
    if (n < -(2n ** 63n) || n >= 2n ** 63n) fail(path, 'out of int64 range');
    return n;
  }
  return fail(path, 'expected a 64-bit integer as a decimal string or number');
}

function fixed64(value: Json, path: string): UnixNanos {
  if (value === undefined || value === null) return unixNanos(0n);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) fail(path, 'expected a non-negative exact integer');
    return unixNanos(BigInt(value));
  }
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) {
    const n = BigInt(value);
    if (n > 0xffffffffffffffffn) fail(path, 'out of uint64 range');
    return unixNanos(n);
  }
  return fail(path, 'expected an unsigned 64-bit integer as a decimal string');
}

function hexId(value: Json, path: string): string {
  const text = str(value, path);
  if (!/^[0-9a-fA-F]*$/.test(text) || text.length % 2 !== 0) {
    fail(path, `ids must be hex-encoded in OTLP JSON (not base64), got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return text.toLowerCase();
}

function double(value: Json, path: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return fail(path, 'expected a number');
}

/** Decodes an OTLP JSON `AnyValue`. An object with none of the value fields is the empty value. */
export function anyValueFromJson(value: Json, path: string, depth = 0): AnyValue {
  if (depth > 64) fail(path, 'nested too deeply');
  const o = obj(value, path);
  if ('stringValue' in o) return { type: 'string', value: str(o.stringValue, `${path}.stringValue`) };
  if ('boolValue' in o) {
    if (typeof o.boolValue !== 'boolean') fail(`${path}.boolValue`, 'expected a boolean');
    return { type: 'bool', value: o.boolValue };
  }
  if ('intValue' in o) return { type: 'int', value: int64(o.intValue, `${path}.intValue`) };
  if ('doubleValue' in o) return { type: 'double', value: double(o.doubleValue, `${path}.doubleValue`) };
  if ('bytesValue' in o) {
    const text = str(o.bytesValue, `${path}.bytesValue`);
    try {
      return { type: 'bytes', value: base64ToBytes(text) };
    } catch (error) {
      return fail(`${path}.bytesValue`, (error as Error).message);
    }
  }
  if ('arrayValue' in o) {
    const values = arr(obj(o.arrayValue, `${path}.arrayValue`).values, `${path}.arrayValue.values`);
    return {
      type: 'array',
      value: values.map((v, i) => anyValueFromJson(v, `${path}.arrayValue.values[${i}]`, depth + 1)),
    };
  }
  if ('kvlistValue' in o) {
    const values = arr(obj(o.kvlistValue, `${path}.kvlistValue`).values, `${path}.kvlistValue.values`);
    return { type: 'kvlist', value: attributesFromJson(values, `${path}.kvlistValue.values`, depth + 1) };
  }
  return { type: 'empty' };
}

export function attributesFromJson(value: Json, path: string, depth = 0): KeyValue[] {
  return arr(value, path).map((kv, i) => {
    const o = obj(kv, `${path}[${i}]`);
    return { key: str(o.key, `${path}[${i}].key`), value: anyValueFromJson(o.value, `${path}[${i}].value`, depth) };
  });
}

const KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

/**
 * Decodes an OTLP JSON `ExportTraceServiceRequest` (also `TracesData`, the same shape) into spans.
 * Unknown fields are ignored; a field of the wrong type throws `OtlpJsonError` with its path.
 * Does not validate ids or times: pass the result through `validateSpans`. With `visit`, each
 * span is handed to it as soon as it is decoded instead of collected (see `SpanSource`).
 */
export function spansFromOtlpJson(body: Json): Span[];
export function spansFromOtlpJson(body: Json, visit: (span: Span) => void): void;
export function spansFromOtlpJson(body: Json, visit?: (span: Span) => void): Span[] | undefined {
  const spans: Span[] = [];
  const emit = visit ?? ((span: Span) => spans.push(span));
  forEachOtlpJsonScope(body, (scope, list) => spansFromOtlpJsonScope(scope, list, 0, emit));
  return visit === undefined ? spans : undefined;
}

/** What the spans of one `scopeSpans` entry of an OTLP JSON request share, and where it is. */
export interface OtlpJsonScope {
  /** Its path in the request, e.g. `resourceSpans[0].scopeSpans[1]` (for error messages). */
  readonly path: string;
  readonly serviceName: string;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
}

/**
 * Decodes the resource and scope of every `scopeSpans` entry of an OTLP JSON request, in order,
 * and hands each to `each` with the entry's `spans` value, unchecked (`spansFromOtlpJsonScope`
 * decodes it). Throws `OtlpJsonError` as `spansFromOtlpJson`.
 */
export function forEachOtlpJsonScope(body: Json, each: (scope: OtlpJsonScope, spans: Json) => void): void {
  const root = obj(body, '$');
  if (Array.isArray(body)) fail('$', 'expected an object with resourceSpans');
  const resourceSpans = arr(root.resourceSpans, 'resourceSpans');
  for (let r = 0; r < resourceSpans.length; r++) {
    const rPath = `resourceSpans[${r}]`;
    const rs = obj(resourceSpans[r], rPath);
    const res = obj(rs.resource, `${rPath}.resource`);
    const resource: Resource = {
      attributes: attributesFromJson(res.attributes, `${rPath}.resource.attributes`),
      droppedAttributesCount: u32(res.droppedAttributesCount, `${rPath}.resource.droppedAttributesCount`),
      schemaUrl: str(rs.schemaUrl, `${rPath}.schemaUrl`),
    };
    const serviceName = serviceNameOf(resource);
    const scopeSpans = arr(rs.scopeSpans, `${rPath}.scopeSpans`);
    for (let s = 0; s < scopeSpans.length; s++) {
      const sPath = `${rPath}.scopeSpans[${s}]`;
      const ss = obj(scopeSpans[s], sPath);
      const sc = obj(ss.scope, `${sPath}.scope`);
      const scope: InstrumentationScope = {
        name: str(sc.name, `${sPath}.scope.name`),
        version: str(sc.version, `${sPath}.scope.version`),
        attributes: attributesFromJson(sc.attributes, `${sPath}.scope.attributes`),
        droppedAttributesCount: u32(sc.droppedAttributesCount, `${sPath}.scope.droppedAttributesCount`),
        schemaUrl: str(ss.schemaUrl, `${sPath}.schemaUrl`),
      };
      each({ path: sPath, serviceName, resource, scope }, ss.spans);
    }
  }
}

/**
 * Decodes a `spans` list of `scope` (`forEachOtlpJsonScope`), or a slice of one whose first span
 * is `spans[first]` of the entry (error paths name it so), handing each span to `emit`.
 */
export function spansFromOtlpJsonScope(
  scope: OtlpJsonScope,
  spans: Json,
  first: number,
  emit: (span: Span) => void,
): void {
  const list = arr(spans, `${scope.path}.spans`);
  for (let i = 0; i < list.length; i++) {
    emit(spanFromJson(list[i], `${scope.path}.spans[${first + i}]`, scope.serviceName, scope.resource, scope.scope));
  }
}

function spanFromJson(
  value: Json,
  path: string,
  serviceName: string,
  resource: Resource,
  scope: InstrumentationScope,
): Span {
  const o = obj(value, path);
  const status = obj(o.status, `${path}.status`);
  const events: SpanEvent[] = arr(o.events, `${path}.events`).map((e, i) => {
    const ep = `${path}.events[${i}]`;
    const eo = obj(e, ep);
    return {
      timeUnixNano: fixed64(eo.timeUnixNano, `${ep}.timeUnixNano`),
      name: str(eo.name, `${ep}.name`),
      attributes: attributesFromJson(eo.attributes, `${ep}.attributes`),
      droppedAttributesCount: u32(eo.droppedAttributesCount, `${ep}.droppedAttributesCount`),
    };
  });
  const links: SpanLink[] = arr(o.links, `${path}.links`).map((l, i) => {
    const lp = `${path}.links[${i}]`;
    const lo = obj(l, lp);
    return {
      traceId: hexId(lo.traceId, `${lp}.traceId`),
      spanId: hexId(lo.spanId, `${lp}.spanId`),
      traceState: str(lo.traceState, `${lp}.traceState`),
      attributes: attributesFromJson(lo.attributes, `${lp}.attributes`),
      droppedAttributesCount: u32(lo.droppedAttributesCount, `${lp}.droppedAttributesCount`),
      flags: u32(lo.flags, `${lp}.flags`),
    };
  });
  return {
    traceId: hexId(o.traceId, `${path}.traceId`),
    spanId: hexId(o.spanId, `${path}.spanId`),
    parentSpanId: hexId(o.parentSpanId, `${path}.parentSpanId`),
    traceState: str(o.traceState, `${path}.traceState`),
    flags: u32(o.flags, `${path}.flags`),
    name: str(o.name, `${path}.name`),
    kind: enumValue(o.kind, `${path}.kind`, KIND_NAMES),
    startTimeUnixNano: fixed64(o.startTimeUnixNano, `${path}.startTimeUnixNano`),
    endTimeUnixNano: fixed64(o.endTimeUnixNano, `${path}.endTimeUnixNano`),
    attributes: attributesFromJson(o.attributes, `${path}.attributes`),
    droppedAttributesCount: u32(o.droppedAttributesCount, `${path}.droppedAttributesCount`),
    events,
    droppedEventsCount: u32(o.droppedEventsCount, `${path}.droppedEventsCount`),
    links,
    droppedLinksCount: u32(o.droppedLinksCount, `${path}.droppedLinksCount`),
    status: {
      code: enumValue(status.code, `${path}.status.code`, STATUS_NAMES),
      message: str(status.message, `${path}.status.message`),
    },
    serviceName,
    resource,
    scope,
  };
}

/**
 * Decodes a span as the query API returns it (`ApiSpanJson`), for clients of the API such as the
 * web UI and the CLI. Throws `OtlpJsonError` on a malformed span.
 */
export function spanFromApiJson(value: Json, path = 'span'): Span {
  const o = obj(value, path);
  const res = obj(o.resource, `${path}.resource`);
  const sc = obj(o.scope, `${path}.scope`);
  const resource: Resource = {
    attributes: attributesFromJson(res.attributes, `${path}.resource.attributes`),
    droppedAttributesCount: u32(res.droppedAttributesCount, `${path}.resource.droppedAttributesCount`),
    schemaUrl: str(res.schemaUrl, `${path}.resource.schemaUrl`),
  };
  const scope: InstrumentationScope = {
    name: str(sc.name, `${path}.scope.name`),
    version: str(sc.version, `${path}.scope.version`),
    attributes: attributesFromJson(sc.attributes, `${path}.scope.attributes`),
    droppedAttributesCount: u32(sc.droppedAttributesCount, `${path}.scope.droppedAttributesCount`),
    schemaUrl: str(sc.schemaUrl, `${path}.scope.schemaUrl`),
  };
  const serviceName = typeof o.serviceName === 'string' ? o.serviceName : serviceNameOf(resource);
  return spanFromJson(o, path, serviceName, resource, scope);
}

/**
 * `JSON.parse` for OTLP JSON that keeps 64-bit integers exact: integer literals of 16 or more
 * digits (which a double may not hold exactly) are turned into strings before parsing, as OTLP
 * JSON allows int64 and fixed64 fields either way. Senders such as OpenTelemetry JS write large
 * integers as bare numbers. Strings in the text are left untouched, and so is a literal where JSON
 * allows no value (an object key, or one with leading zeros): quoted, it would make text that
 * JSON.parse refuses into text it accepts. Throws what JSON.parse throws.
 */
export function parseOtlpJsonText(text: string): unknown {
  if (!/\d{16}/.test(text)) return JSON.parse(text);
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  // Whether a value may start here: at the top, after `:`, `[`, or `,` inside an array.
  const inArray: boolean[] = [];
  let valueNext = true;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // skip a string, honouring escapes
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92) i += 2;
        else if (d === 34) break;
        else i++;
      }
      i++;
      valueNext = false;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      const start = i;
      if (c === 45) i++;
      const digits = i;
      while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
      const next = text.charCodeAt(i);
      const isInteger = next !== 46 && next !== 101 && next !== 69;
      const leadingZero = i - digits > 1 && text.charCodeAt(digits) === 48;
      if (valueNext && isInteger && !leadingZero && i - digits >= 16) {
        out += `${text.slice(last, start)}"${text.slice(start, i)}"`;
        last = i;
      } else {
        while (i < n && /[0-9.eE+-]/.test(text[i])) i++;
      }
      valueNext = false;
    } else {
      if (c === 123) inArray.push(false);
      else if (c === 91) inArray.push(true);
      else if (c === 125 || c === 93) inArray.pop();
      // JSON's whitespace leaves the position as it was; any other character ends a value.
      if (c === 58 || c === 91) valueNext = true;
      else if (c === 44) valueNext = inArray[inArray.length - 1] === true;
      else if (c !== 32 && c !== 9 && c !== 10 && c !== 13) valueNext = false;
      i++;
    }
  }
  return JSON.parse(out + text.slice(last));
}
