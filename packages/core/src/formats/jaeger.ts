import { microsToNanos, normalizeHexId } from '../import/ids.ts';
import { TraceImportError } from '../import/import-error.ts';
import type { AnyValue, KeyValue, Resource, Span, SpanEvent, SpanLink } from '../model/span.ts';
import { base64ToBytes, bytesToBase64, SPAN_KIND_NAMES, SpanKind, StatusCode, UNKNOWN_SERVICE } from '../model/span.ts';
import { unixNanos } from '../model/units.ts';

/**
 * Jaeger's JSON trace model (the query service's `/api/traces` shape, `uimodel`) in both
 * directions, one mapping:
 *
 * ```
 *   span model ──spansToJaegerTraces──▶ {traceID, spans, processes, warnings}
 *   span model ◀──spansFromJaegerJson── {data: [trace…]} or one trace
 * ```
 *
 * OTLP to Jaeger follows the OpenTelemetry Collector's Jaeger translator
 * (`pkg/translator/jaeger/traces_to_jaegerproto.go`), which Jaeger v2 itself uses:
 * - the resource becomes the process: `service.name` its `serviceName`, every other attribute a
 *   process tag; identical processes are shared as `p1`, `p2`, … in first-seen order;
 * - span tags, in this order: `otel.scope.name` / `otel.scope.version` (when not empty), the span's
 *   attributes, `span.kind` (not for UNSPECIFIED), `otel.status_code` (`OK` / `ERROR`), `error`
 *   = true (ERROR only), `otel.status_description` (a non-empty message), `w3c.tracestate`, then
 *   the OpenTelemetry non-OTLP mapping's `otel.dropped_{attributes,events,links}_count` when not 0;
 * - the parent is the first reference, `CHILD_OF`; links follow as `FOLLOWS_FROM` (`CHILD_OF` when
 *   the link says `opentracing.ref_type` = `child_of`), and a link to the parent itself sets the
 *   parent reference's type instead. Link attributes have no place in Jaeger and are dropped;
 * - events become logs: an `event` field holding the name (unless an `event` attribute exists),
 *   then the event's attributes;
 * - values: string, bool, int64 (a decimal string outside ±(2^53−1), as Jaeger writes it),
 *   float64, binary (base64); arrays and maps as their JSON text in a string tag;
 * - times in microseconds, truncated (`startTime`, `duration` = (end − start) / 1000, log
 *   `timestamp`); an end before the start gives duration 0 and a span warning;
 * - ids: span ids 16 hex digits, trace ids 16 hex digits when the upper half is zero, else 32
 *   (Jaeger's `TraceID.String()`).
 * Unlike the translator, a resource without `service.name` gets the span model's service name
 * (`unknown_service`), the name Ariadne lists and searches it by.
 *
 * Jaeger to OTLP is the inverse, as the Collector's Jaeger receiver reads it: see
 * `spansFromJaegerTrace`. What OTLP has and Jaeger has not (link attributes and trace states,
 * scope attributes, schema URLs, event dropped counts) does not survive a round trip.
 */

// ------------------------------------------------------------------------------------------------
// The JSON model

/** A Jaeger tag's value type. */
export type JaegerValueType = 'string' | 'bool' | 'int64' | 'float64' | 'binary';

/** A tag, process tag or log field. `int64` values outside ±(2^53−1) are decimal strings. */
export interface JaegerKeyValue {
  readonly key: string;
  readonly type: JaegerValueType;
  readonly value: string | number | boolean;
}

export interface JaegerReference {
  readonly refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  readonly traceID: string;
  readonly spanID: string;
}

export interface JaegerLog {
  /** Microseconds since the unix epoch. */
  readonly timestamp: number;
  readonly fields: readonly JaegerKeyValue[];
}

/** A span as the Jaeger query API writes it (fields in Jaeger's order; `flags` only when not 0). */
export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly flags?: number;
  readonly operationName: string;
  readonly references: readonly JaegerReference[];
  /** Microseconds since the unix epoch. */
  readonly startTime: number;
  /** Microseconds. */
  readonly duration: number;
  readonly tags: readonly JaegerKeyValue[];
  readonly logs: readonly JaegerLog[];
  readonly processID: string;
  readonly warnings: readonly string[] | null;
}

export interface JaegerProcess {
  readonly serviceName: string;
  readonly tags: readonly JaegerKeyValue[];
}

/** One trace: its spans, and the processes they name by `processID`. */
export interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  readonly processes: Readonly<Record<string, JaegerProcess>>;
  readonly warnings: readonly string[] | null;
}

// ------------------------------------------------------------------------------------------------
// OTLP (the span model) to Jaeger

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A trace id as Jaeger prints it: 16 hex digits when the upper 64 bits are zero (a 64-bit id),
 * else all 32. Lookups must accept both forms.
 */
export function jaegerTraceId(traceId: string): string {
  const id = traceId.toLowerCase().padStart(32, '0');
  return id.startsWith('0000000000000000') ? id.slice(16) : id;
}

/** An attribute value as JSON text, as the OpenTelemetry Collector's `Value.AsString` writes maps and arrays. */
function rawJson(value: AnyValue): string {
  switch (value.type) {
    case 'string':
      return JSON.stringify(value.value);
    case 'bool':
      return value.value ? 'true' : 'false';
    case 'int':
      return value.value.toString();
    case 'double':
      return Number.isFinite(value.value) ? JSON.stringify(value.value) : 'null';
    case 'bytes':
      return JSON.stringify(bytesToBase64(value.value));
    case 'array':
      return `[${value.value.map(rawJson).join(',')}]`;
    case 'kvlist': {
      // A map: the last value of a repeated key wins, keys sorted (as Go marshals a map).
      const entries = new Map<string, AnyValue>();
      for (const kv of value.value) entries.set(kv.key, kv.value);
      const keys = [...entries.keys()].sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${rawJson(entries.get(k)!)}`).join(',')}}`;
    }
    case 'empty':
      return 'null';
  }
}

/** One attribute as a Jaeger tag. A double that is not finite is written as text (`NaN`, `Infinity`). */
export function jaegerTag(key: string, value: AnyValue): JaegerKeyValue {
  switch (value.type) {
    case 'string':
      return { key, type: 'string', value: value.value };
    case 'bool':
      return { key, type: 'bool', value: value.value };
    case 'int': {
      const v = value.value;
      const safe = v <= MAX_SAFE && v >= -MAX_SAFE;
      return { key, type: 'int64', value: safe ? Number(v) : v.toString() };
    }
    case 'double':
      return { key, type: 'float64', value: Number.isFinite(value.value) ? value.value : String(value.value) };
    case 'bytes':
      return { key, type: 'binary', value: bytesToBase64(value.value) };
    case 'empty':
      return { key, type: 'string', value: '' };
    default:
      return { key, type: 'string', value: rawJson(value) };
  }
}

function tagsOf(attributes: readonly KeyValue[], skip?: string): JaegerKeyValue[] {
  const out: JaegerKeyValue[] = [];
  for (const kv of attributes) if (kv.key !== skip) out.push(jaegerTag(kv.key, kv.value));
  return out;
}

const str = (key: string, value: string): JaegerKeyValue => ({ key, type: 'string', value });
const int = (key: string, value: number): JaegerKeyValue => ({ key, type: 'int64', value });

function spanTags(span: Span): JaegerKeyValue[] {
  const tags: JaegerKeyValue[] = [];
  if (span.scope.name !== '') tags.push(str('otel.scope.name', span.scope.name));
  if (span.scope.version !== '') tags.push(str('otel.scope.version', span.scope.version));
  tags.push(...tagsOf(span.attributes));
  if (span.kind !== SpanKind.UNSPECIFIED && SPAN_KIND_NAMES[span.kind] !== undefined) {
    tags.push(str('span.kind', SPAN_KIND_NAMES[span.kind]));
  }
  if (span.status.code === StatusCode.OK) tags.push(str('otel.status_code', 'OK'));
  if (span.status.code === StatusCode.ERROR) {
    tags.push(str('otel.status_code', 'ERROR'));
    tags.push({ key: 'error', type: 'bool', value: true });
  }
  if (span.status.message !== '') tags.push(str('otel.status_description', span.status.message));
  if (span.traceState !== '') tags.push(str('w3c.tracestate', span.traceState));
  if (span.droppedAttributesCount > 0) tags.push(int('otel.dropped_attributes_count', span.droppedAttributesCount));
  if (span.droppedEventsCount > 0) tags.push(int('otel.dropped_events_count', span.droppedEventsCount));
  if (span.droppedLinksCount > 0) tags.push(int('otel.dropped_links_count', span.droppedLinksCount));
  return tags;
}

function linkRefType(link: SpanLink): JaegerReference['refType'] {
  for (const kv of link.attributes) {
    if (kv.key === 'opentracing.ref_type') {
      return kv.value.type === 'string' && kv.value.value === 'child_of' ? 'CHILD_OF' : 'FOLLOWS_FROM';
    }
  }
  return 'FOLLOWS_FROM';
}

function references(span: Span): JaegerReference[] {
  const traceID = jaegerTraceId(span.traceId);
  const refs: { refType: JaegerReference['refType']; traceID: string; spanID: string }[] = [];
  if (span.parentSpanId !== '') refs.push({ refType: 'CHILD_OF', traceID, spanID: span.parentSpanId });
  for (const link of span.links) {
    const refType = linkRefType(link);
    if (span.parentSpanId !== '' && link.traceId === span.traceId && link.spanId === span.parentSpanId) {
      refs[0].refType = refType;
      continue;
    }
    refs.push({ refType, traceID: jaegerTraceId(link.traceId), spanID: link.spanId });
  }
  return refs;
}

function log(event: SpanEvent): JaegerLog {
  const fields: JaegerKeyValue[] = [];
  if (event.name !== '' && !event.attributes.some((kv) => kv.key === 'event')) fields.push(str('event', event.name));
  fields.push(...tagsOf(event.attributes));
  return { timestamp: Number(event.timeUnixNano / 1000n), fields };
}

/** Shares one process between spans with equal service names and tags, as `p1`, `p2`, … */
class ProcessTable {
  readonly processes: Record<string, JaegerProcess> = {};
  private readonly byText = new Map<string, string>();
  private readonly byResource = new Map<Resource, string>();

  idOf(span: Span): string {
    const known = this.byResource.get(span.resource);
    if (known !== undefined && this.processes[known].serviceName === span.serviceName) return known;
    const process: JaegerProcess = {
      serviceName: span.serviceName || UNKNOWN_SERVICE,
      tags: tagsOf(span.resource.attributes, 'service.name'),
    };
    const text = JSON.stringify(process);
    let id = this.byText.get(text);
    if (id === undefined) {
      id = `p${this.byText.size + 1}`;
      this.byText.set(text, id);
      this.processes[id] = process;
    }
    this.byResource.set(span.resource, id);
    return id;
  }
}

function jaegerSpan(span: Span, processID: string): JaegerSpan {
  const start = span.startTimeUnixNano;
  const end = span.endTimeUnixNano;
  const warnings: string[] = [];
  if (end < start) warnings.push('end time is before start time; duration shown as 0');
  const flags = span.flags & 0xff;
  return {
    traceID: jaegerTraceId(span.traceId),
    spanID: span.spanId,
    ...(flags !== 0 ? { flags } : {}),
    operationName: span.name,
    references: references(span),
    startTime: Number(start / 1000n),
    duration: end < start ? 0 : Number((end - start) / 1000n),
    tags: spanTags(span),
    logs: span.events.map(log),
    processID,
    warnings: warnings.length > 0 ? warnings : null,
  };
}

/**
 * Converts the spans of one trace to a Jaeger trace, spans in the order given. The trace id is
 * the first span's; pass spans of one trace only (see `spansToJaegerTraces`). Empty input gives
 * an empty trace with an empty id.
 */
export function spansToJaegerTrace(spans: readonly Span[]): JaegerTrace {
  const table = new ProcessTable();
  const out = spans.map((s) => jaegerSpan(s, table.idOf(s)));
  return {
    traceID: spans.length > 0 ? jaegerTraceId(spans[0].traceId) : '',
    spans: out,
    processes: table.processes,
    warnings: null,
  };
}

/** Converts spans of any number of traces: one Jaeger trace per trace id, in first-seen order. */
export function spansToJaegerTraces(spans: readonly Span[]): JaegerTrace[] {
  const byTrace = new Map<string, Span[]>();
  for (const span of spans) {
    const list = byTrace.get(span.traceId);
    if (list) list.push(span);
    else byTrace.set(span.traceId, [span]);
  }
  return [...byTrace.values()].map(spansToJaegerTrace);
}

// ------------------------------------------------------------------------------------------------
// Jaeger to OTLP (the span model)

const KINDS: Record<string, number> = {
  client: SpanKind.CLIENT,
  server: SpanKind.SERVER,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

/** Tags that carry OTLP fields, removed from the attributes once read. */
const SPECIAL_TAGS = new Set([
  'span.kind',
  'otel.status_code',
  'otel.status_description',
  'otel.scope.name',
  'otel.scope.version',
  'otel.library.name',
  'otel.library.version',
  'otel.dropped_attributes_count',
  'otel.dropped_events_count',
  'otel.dropped_links_count',
  'w3c.tracestate',
  'internal.span.format',
  'error',
]);

function record(value: unknown, path: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new TraceImportError(`${path}: expected an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TraceImportError(`${path}: expected an array`);
  return value;
}

function tagValue(tag: Record<string, unknown>, path: string): AnyValue {
  const v = tag.value;
  switch (tag.type) {
    case 'bool':
    case 'boolean':
      return { type: 'bool', value: v === true || v === 'true' };
    case 'int64':
      if (typeof v === 'number' && Number.isInteger(v)) return { type: 'int', value: BigInt(v) };
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return { type: 'int', value: BigInt(v) };
      throw new TraceImportError(`${path}.value: expected an int64`);
    case 'float64':
      return { type: 'double', value: Number(v) };
    case 'binary':
      return { type: 'bytes', value: base64ToBytes(String(v ?? '')) };
    default:
      return { type: 'string', value: typeof v === 'string' ? v : JSON.stringify(v ?? '') };
  }
}

function tagsToAttributes(value: unknown, path: string): Map<string, AnyValue> {
  const out = new Map<string, AnyValue>();
  const tags = list(value, path);
  for (let i = 0; i < tags.length; i++) {
    const tag = record(tags[i], `${path}[${i}]`);
    if (typeof tag.key !== 'string') throw new TraceImportError(`${path}[${i}].key: expected a string`);
    out.set(tag.key, tagValue(tag, `${path}[${i}]`));
  }
  return out;
}

function text(value: AnyValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.type === 'string') return value.value;
  if (value.type === 'bool') return String(value.value);
  return undefined;
}

function count(value: AnyValue | undefined): number {
  if (value?.type !== 'int' || value.value < 0n || value.value > 0xffffffffn) return 0;
  return Number(value.value);
}

function processResource(process: Record<string, unknown>, path: string): { serviceName: string; resource: Resource } {
  const serviceName =
    typeof process.serviceName === 'string' && process.serviceName ? process.serviceName : UNKNOWN_SERVICE;
  const attributes: KeyValue[] = [{ key: 'service.name', value: { type: 'string', value: serviceName } }];
  for (const [key, value] of tagsToAttributes(process.tags, `${path}.tags`)) {
    if (key === 'hostname') attributes.push({ key: 'host.name', value });
    else if (key === 'jaeger.version') {
      attributes.push({ key: 'opencensus.exporterversion', value: { type: 'string', value: `Jaeger-${text(value)}` } });
    } else attributes.push({ key, value });
  }
  return { serviceName, resource: { attributes, droppedAttributesCount: 0, schemaUrl: '' } };
}

function refLink(traceId: string, spanId: string, refType: string): SpanLink {
  return {
    traceId,
    spanId,
    traceState: '',
    attributes: [{ key: 'opentracing.ref_type', value: { type: 'string', value: refType } }],
    droppedAttributesCount: 0,
    flags: 0,
  };
}

/**
 * Converts one Jaeger trace object (`{traceID, spans, processes}`) to model spans, as the
 * OpenTelemetry Collector's Jaeger receiver translates it:
 * - the process's `serviceName` to `service.name`, its tags to resource attributes (`hostname`
 *   to `host.name`, `jaeger.version` to `opencensus.exporterversion` = `Jaeger-<version>`);
 * - the parent is the first CHILD_OF reference in the same trace, else the first FOLLOWS_FROM;
 *   every other reference becomes a link. Each link, and a FOLLOWS_FROM parent (kept as a link
 *   too, so that analyses know the child is asynchronous), carries `opentracing.ref_type`;
 * - the `span.kind` tag to the span kind; `otel.status_code` / `otel.status_description` to the
 *   status, else `error=true` to status ERROR; `otel.scope.*` / `otel.library.*` to the scope;
 *   `w3c.tracestate` to the trace state; `otel.dropped_*_count` to the dropped counts; these
 *   tags, and the query service's `internal.span.format`, are removed;
 * - typed tags to typed attributes (int64 as exact bigints when given as strings);
 * - logs to events, named by their `event` field;
 * - `startTime` and `duration` (microseconds) to exact nanoseconds.
 * The copies of referenced spans that the query API embeds in `references[].span` are ignored.
 * Throws `TraceImportError` naming the path of the first malformed field.
 */
export function spansFromJaegerTrace(value: unknown, path: string): Span[] {
  const trace = record(value, path);
  const processes = new Map<string, { serviceName: string; resource: Resource }>();
  const processesJson = record(trace.processes, `${path}.processes`);
  for (const [id, p] of Object.entries(processesJson)) {
    processes.set(id, processResource(record(p, `${path}.processes.${id}`), `${path}.processes.${id}`));
  }
  const spansJson = list(trace.spans, `${path}.spans`);
  const out: Span[] = [];
  for (let i = 0; i < spansJson.length; i++) {
    const sp = `${path}.spans[${i}]`;
    const j = record(spansJson[i], sp);
    const traceId = normalizeHexId(j.traceID, 32, `${sp}.traceID`);
    const spanId = normalizeHexId(j.spanID, 16, `${sp}.spanID`);
    if (traceId === '' || spanId === '') throw new TraceImportError(`${sp}: a Jaeger span needs traceID and spanID`);
    let proc = typeof j.processID === 'string' ? processes.get(j.processID) : undefined;
    if (proc === undefined && j.process !== undefined) proc = processResource(record(j.process, `${sp}.process`), sp);
    if (proc === undefined) proc = processResource({}, sp);

    // Parent: first CHILD_OF in this trace, else first FOLLOWS_FROM; the rest become links.
    const refs = list(j.references, `${sp}.references`).map((r, k) => {
      const ref = record(r, `${sp}.references[${k}]`);
      return {
        type: ref.refType === 'FOLLOWS_FROM' ? 'follows_from' : 'child_of',
        traceId: normalizeHexId(ref.traceID, 32, `${sp}.references[${k}].traceID`),
        spanId: normalizeHexId(ref.spanID, 16, `${sp}.references[${k}].spanID`),
      };
    });
    let parentRef = refs.findIndex((r) => r.type === 'child_of' && r.traceId === traceId);
    if (parentRef < 0) parentRef = refs.findIndex((r) => r.type === 'follows_from' && r.traceId === traceId);
    const links: SpanLink[] = [];
    refs.forEach((r, k) => {
      if (k !== parentRef || r.type === 'follows_from') links.push(refLink(r.traceId, r.spanId, r.type));
    });

    const tags = tagsToAttributes(j.tags, `${sp}.tags`);
    const attributes: KeyValue[] = [];
    for (const [key, value] of tags) if (!SPECIAL_TAGS.has(key)) attributes.push({ key, value });
    let statusCode: number = StatusCode.UNSET;
    const otelStatus = text(tags.get('otel.status_code'));
    if (otelStatus === 'ERROR') statusCode = StatusCode.ERROR;
    else if (otelStatus === 'OK') statusCode = StatusCode.OK;
    else if (text(tags.get('error')) === 'true') statusCode = StatusCode.ERROR;
    else if (tags.has('error')) attributes.push({ key: 'error', value: tags.get('error')! });

    const events: SpanEvent[] = list(j.logs, `${sp}.logs`).map((l, k) => {
      const entry = record(l, `${sp}.logs[${k}]`);
      const fields = tagsToAttributes(entry.fields, `${sp}.logs[${k}].fields`);
      const name = text(fields.get('event')) ?? '';
      fields.delete('event');
      return {
        timeUnixNano: unixNanos(microsToNanos(entry.timestamp, `${sp}.logs[${k}].timestamp`)),
        name,
        attributes: [...fields].map(([key, value]) => ({ key, value })),
        droppedAttributesCount: 0,
      };
    });
    const start = microsToNanos(j.startTime, `${sp}.startTime`);
    const duration = j.duration === undefined ? 0n : microsToNanos(j.duration, `${sp}.duration`);
    out.push({
      traceId,
      spanId,
      parentSpanId: parentRef >= 0 ? refs[parentRef].spanId : '',
      traceState: text(tags.get('w3c.tracestate')) ?? '',
      flags: typeof j.flags === 'number' ? j.flags & 0xff : 0,
      name: typeof j.operationName === 'string' ? j.operationName : '',
      kind: KINDS[text(tags.get('span.kind')) ?? ''] ?? SpanKind.UNSPECIFIED,
      startTimeUnixNano: unixNanos(start),
      endTimeUnixNano: unixNanos(start + duration),
      attributes,
      droppedAttributesCount: count(tags.get('otel.dropped_attributes_count')),
      events,
      droppedEventsCount: count(tags.get('otel.dropped_events_count')),
      links,
      droppedLinksCount: count(tags.get('otel.dropped_links_count')),
      status: {
        code: statusCode,
        message: statusCode === StatusCode.ERROR ? (text(tags.get('otel.status_description')) ?? '') : '',
      },
      serviceName: proc.serviceName,
      resource: proc.resource,
      scope: {
        name: text(tags.get('otel.scope.name') ?? tags.get('otel.library.name')) ?? '',
        version: text(tags.get('otel.scope.version') ?? tags.get('otel.library.version')) ?? '',
        attributes: [],
        droppedAttributesCount: 0,
        schemaUrl: '',
      },
    });
  }
  return out;
}

/**
 * Converts Jaeger JSON: the query API's `{"data": [trace, ...]}`, or one trace object. Throws
 * `TraceImportError` naming the path of the first malformed field.
 */
export function spansFromJaegerJson(body: unknown): Span[] {
  const root = record(body, '$');
  if (Array.isArray(root.data)) return root.data.flatMap((t, i) => spansFromJaegerTrace(t, `data[${i}]`));
  if (Array.isArray(root.spans)) return spansFromJaegerTrace(root, '$');
  throw new TraceImportError('Jaeger JSON must be {"data": [trace, ...]} or one trace {traceID, spans, processes}');
}
