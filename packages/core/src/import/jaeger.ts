import type { AnyValue, KeyValue, Resource, Span, SpanEvent, SpanLink } from '../model/span.ts';
import { base64ToBytes, SpanKind, StatusCode, UNKNOWN_SERVICE } from '../model/span.ts';
import { unixNanos } from '../model/units.ts';
import { microsToNanos, normalizeHexId } from './ids.ts';
import { TraceImportError } from './import-error.ts';

/**
 * Jaeger query-API JSON (`{"data": [trace]}`, each trace `{traceID, spans, processes}`) to the
 * span model, as the OpenTelemetry Jaeger mapping
 * (https://opentelemetry.io/docs/specs/otel/trace/sdk_exporters/jaeger/) and the Collector's
 * Jaeger receiver translate it:
 * - the process's `serviceName` to `service.name`, its tags to resource attributes (`hostname`
 *   to `host.name`, `jaeger.version` to `opencensus.exporterversion` = `Jaeger-<version>`);
 * - the parent is the first CHILD_OF reference in the same trace, else the first FOLLOWS_FROM;
 *   every other reference becomes a link. Each link, and a FOLLOWS_FROM parent (kept as a link
 *   too, so that analyses know the child is asynchronous), carries `opentracing.ref_type`;
 * - the `span.kind` tag to the span kind; `otel.status_code` / `otel.status_description` to the
 *   status, else `error=true` to status ERROR; `otel.scope.*` / `otel.library.*` to the scope;
 *   `w3c.tracestate` to the trace state; these tags, and the query service's
 *   `internal.span.format`, are removed;
 * - typed tags to typed attributes (int64 as exact bigints when given as strings);
 * - logs to events, named by their `event` field;
 * - `startTime` and `duration` (microseconds) to exact nanoseconds.
 * The copies of referenced spans that the query API embeds in `references[].span` are ignored.
 */

const KINDS: Record<string, number> = {
  client: SpanKind.CLIENT,
  server: SpanKind.SERVER,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

const SPECIAL_TAGS = new Set([
  'span.kind',
  'otel.status_code',
  'otel.status_description',
  'otel.scope.name',
  'otel.scope.version',
  'otel.library.name',
  'otel.library.version',
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

/** Converts one Jaeger trace object (`{traceID, spans, processes}`) to model spans. */
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
      const log = record(l, `${sp}.logs[${k}]`);
      const fields = tagsToAttributes(log.fields, `${sp}.logs[${k}].fields`);
      const name = text(fields.get('event')) ?? '';
      fields.delete('event');
      return {
        timeUnixNano: unixNanos(microsToNanos(log.timestamp, `${sp}.logs[${k}].timestamp`)),
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
      droppedAttributesCount: 0,
      events,
      droppedEventsCount: 0,
      links,
      droppedLinksCount: 0,
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
