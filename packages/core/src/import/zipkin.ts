import type { KeyValue, Resource, Span, SpanEvent } from '../model/span.ts';
import { SpanKind, StatusCode, UNKNOWN_SERVICE } from '../model/span.ts';
import { unixNanos } from '../model/units.ts';
import { microsToNanos, normalizeHexId } from './ids.ts';
import { TraceImportError } from './import-error.ts';

/**
 * Zipkin v2 JSON (https://zipkin.io/zipkin-api/#/default/post_spans) to the span model, the
 * reverse of the OpenTelemetry specification's Zipkin mapping
 * (https://opentelemetry.io/docs/specs/otel/trace/sdk_exporters/zipkin/):
 * - `kind` CLIENT/SERVER/PRODUCER/CONSUMER to the same span kind, no kind to INTERNAL;
 * - `localEndpoint.serviceName` to the resource's `service.name`; `localEndpoint` addresses to
 *   `network.local.address` / `network.local.port`; `remoteEndpoint.serviceName` to
 *   `peer.service`, its addresses to `network.peer.address` / `network.peer.port`;
 * - `timestamp` and `duration` (microseconds) to exact nanoseconds; a span without `timestamp`
 *   keeps start and end 0 (`buildTrace` places it), one without `duration` lasts zero;
 * - tags to string attributes; `otel.status_code` / `otel.status_description` to the status,
 *   else an `error` tag to status ERROR with the tag's text as message; `otel.scope.name` /
 *   `otel.scope.version` (or the older `otel.library.*`) to the scope; these tags are removed;
 * - annotations to events named by their value;
 * - 64-bit ids are left-padded to 128-bit trace ids.
 * The `shared` flag is not needed: `buildTrace` splits a shared span by kind. Zipkin v1 is not
 * handled.
 */

const KINDS: Record<string, number> = {
  CLIENT: SpanKind.CLIENT,
  SERVER: SpanKind.SERVER,
  PRODUCER: SpanKind.PRODUCER,
  CONSUMER: SpanKind.CONSUMER,
};

const REMOVED_TAGS = new Set([
  'otel.status_code',
  'otel.status_description',
  'otel.scope.name',
  'otel.scope.version',
  'otel.library.name',
  'otel.library.version',
  'error',
]);

function str(key: string, value: string): KeyValue {
  return { key, value: { type: 'string', value } };
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new TraceImportError(`${path}: expected an object`);
  return value as Record<string, unknown>;
}

function endpointAttributes(endpoint: Record<string, unknown>, prefix: 'local' | 'peer'): KeyValue[] {
  const out: KeyValue[] = [];
  const address = endpoint.ipv6 ?? endpoint.ipv4;
  if (typeof address === 'string' && address) out.push(str(`network.${prefix}.address`, address));
  if (typeof endpoint.port === 'number') {
    out.push({ key: `network.${prefix}.port`, value: { type: 'int', value: BigInt(endpoint.port) } });
  }
  return out;
}

function resourceFor(serviceName: string, cache: Map<string, Resource>): Resource {
  let resource = cache.get(serviceName);
  if (resource === undefined) {
    resource = { attributes: [str('service.name', serviceName)], droppedAttributesCount: 0, schemaUrl: '' };
    cache.set(serviceName, resource);
  }
  return resource;
}

/**
 * Converts one Zipkin v2 span (a parsed JSON object) to a model span. `path` names it in errors.
 * Spans of one service share a resource object when they share `resources`.
 */
export function spanFromZipkin(value: unknown, path: string, resources = new Map<string, Resource>()): Span {
  const z = record(value, path);
  const traceId = normalizeHexId(z.traceId, 32, `${path}.traceId`);
  const spanId = normalizeHexId(z.id, 16, `${path}.id`);
  if (traceId === '' || spanId === '') throw new TraceImportError(`${path}: a Zipkin span needs traceId and id`);
  const local = record(z.localEndpoint, `${path}.localEndpoint`);
  const remote = record(z.remoteEndpoint, `${path}.remoteEndpoint`);
  const serviceName = typeof local.serviceName === 'string' && local.serviceName ? local.serviceName : UNKNOWN_SERVICE;
  const tags = record(z.tags, `${path}.tags`);
  const attributes: KeyValue[] = [];
  for (const [key, v] of Object.entries(tags)) {
    if (!REMOVED_TAGS.has(key)) attributes.push(str(key, typeof v === 'string' ? v : JSON.stringify(v)));
  }
  attributes.push(...endpointAttributes(local, 'local'));
  if (typeof remote.serviceName === 'string' && remote.serviceName)
    attributes.push(str('peer.service', remote.serviceName));
  attributes.push(...endpointAttributes(remote, 'peer'));

  let statusCode: number = StatusCode.UNSET;
  let statusMessage = '';
  const otelStatus = tags['otel.status_code'];
  if (otelStatus === 'ERROR') statusCode = StatusCode.ERROR;
  else if (otelStatus === 'OK') statusCode = StatusCode.OK;
  else if ('error' in tags) statusCode = StatusCode.ERROR;
  if (statusCode === StatusCode.ERROR) {
    const description = tags['otel.status_description'] ?? tags.error;
    statusMessage = typeof description === 'string' && description !== 'true' ? description : '';
  }

  const hasTimestamp = z.timestamp !== undefined && z.timestamp !== null && z.timestamp !== 0;
  const start = hasTimestamp ? microsToNanos(z.timestamp, `${path}.timestamp`) : 0n;
  const duration = hasTimestamp && z.duration !== undefined ? microsToNanos(z.duration, `${path}.duration`) : 0n;
  const annotations = z.annotations === undefined || z.annotations === null ? [] : z.annotations;
  if (!Array.isArray(annotations)) throw new TraceImportError(`${path}.annotations: expected an array`);
  const events: SpanEvent[] = annotations.map((a, i) => {
    const ann = record(a, `${path}.annotations[${i}]`);
    return {
      timeUnixNano: unixNanos(microsToNanos(ann.timestamp, `${path}.annotations[${i}].timestamp`)),
      name: typeof ann.value === 'string' ? ann.value : '',
      attributes: [],
      droppedAttributesCount: 0,
    };
  });
  const scopeName = tags['otel.scope.name'] ?? tags['otel.library.name'];
  const scopeVersion = tags['otel.scope.version'] ?? tags['otel.library.version'];
  return {
    traceId,
    spanId,
    parentSpanId: normalizeHexId(z.parentId, 16, `${path}.parentId`),
    traceState: '',
    flags: 0,
    name: typeof z.name === 'string' ? z.name : '',
    kind: typeof z.kind === 'string' ? (KINDS[z.kind] ?? SpanKind.INTERNAL) : SpanKind.INTERNAL,
    startTimeUnixNano: unixNanos(start),
    endTimeUnixNano: unixNanos(start + duration),
    attributes,
    droppedAttributesCount: 0,
    events,
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: statusCode, message: statusMessage },
    serviceName,
    resource: resourceFor(serviceName, resources),
    scope: {
      name: typeof scopeName === 'string' ? scopeName : '',
      version: typeof scopeVersion === 'string' ? scopeVersion : '',
      attributes: [],
      droppedAttributesCount: 0,
      schemaUrl: '',
    },
  };
}

/**
 * Converts Zipkin v2 JSON: an array of spans, or an array of traces (arrays of spans). Throws
 * `TraceImportError` naming the path of the first malformed span.
 */
export function spansFromZipkinJson(body: unknown): Span[] {
  if (!Array.isArray(body)) throw new TraceImportError('Zipkin v2 JSON must be an array of spans or of traces');
  const spans: Span[] = [];
  const resources = new Map<string, Resource>();
  for (let i = 0; i < body.length; i++) {
    const item = body[i];
    if (Array.isArray(item)) {
      for (let j = 0; j < item.length; j++) spans.push(spanFromZipkin(item[j], `[${i}][${j}]`, resources));
    } else {
      spans.push(spanFromZipkin(item, `[${i}]`, resources));
    }
  }
  return spans;
}
