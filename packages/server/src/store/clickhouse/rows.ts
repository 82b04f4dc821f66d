import { createHash } from 'node:crypto';
import { type KeyValue, type Span, unixNanos } from '@ariadne/core';
import { decodeAttribute, encodeAttribute } from '../attribute-codec.ts';
import { hashAttribute, minuteOf } from '../attribute-index.ts';
import {
  eventsFromText,
  eventsToText,
  linksFromText,
  linksToText,
  resourceBody,
  resourceFromBody,
  scopeBody,
  scopeFromBody,
} from '../span-text.ts';
import { RowBinaryWriter } from './row-binary.ts';

/**
 * Spans to the RowBinary rows of the ClickHouse tables (schema.ts), and rows read back to spans:
 * pure, no I/O. Attributes are the codec's `key␞type value` strings (attribute-codec.ts), split
 * at the first separator into a key array and a value array in `spans`, whole in `span_index`
 * (where a `key=value` filter is one `hasAny` over candidates).
 */

export const NANOS_PER_DAY = 86_400_000_000_000n;
const KV_SEP = '\x1e';

export const SPAN_COLUMNS = [
  'trace_id',
  'span_id',
  'parent_span_id',
  'start_ns',
  'duration_ns',
  'service',
  'name',
  'kind',
  'status_code',
  'status_message',
  'trace_state',
  'flags',
  'attr_keys',
  'attr_values',
  'dropped_attributes',
  'events',
  'dropped_events',
  'links',
  'dropped_links',
  'resource_id',
  'scope_id',
] as const;

export const INDEX_COLUMNS = [
  'service',
  'name',
  'start_ns',
  'duration_ns',
  'status_code',
  'trace_id',
  'span_id',
  'attrs',
  'parent_service',
  'parent_unresolved',
] as const;

export const OPERATION_COLUMNS = ['day', 'service', 'name'] as const;
export const BODY_COLUMNS = ['id', 'body'] as const;
export const ATTR_INDEX_COLUMNS = ['h', 'minute', 'covered'] as const;
export const ATTR_TRACE_COLUMNS = ['h', 'trace_prefix', 'minute'] as const;
export const TRACE_COLUMNS = ['trace_id', 'first_ns', 'last_ns'] as const;

/** The first 4 bytes of a trace id (hex) as the number `attr_traces` stores. */
export function tracePrefix(traceId: string): number {
  return Number.parseInt(traceId.slice(0, 8), 16) >>> 0;
}

/** The id under which a resource's or scope's text is stored in `bodies`. */
export function bodyId(kind: 'resource' | 'scope', body: string): bigint {
  return createHash('sha256')
    .update(kind === 'resource' ? 'r' : 's')
    .update(body)
    .digest()
    .readBigUInt64BE(0);
}

/** The rows of one write, per table; `bodies` only holds texts not in `knownBodies`. */
export interface SpanRows {
  readonly spans: Buffer;
  readonly index: Buffer;
  readonly operations: Buffer;
  /**
   * Distinct (attribute hash, minute, covered) rows of the spans and their resources: `covered`
   * when the value was in one trace only of this write, whose prefix is then in `attrTraces`.
   */
  readonly attrIndex: Buffer;
  /** (attribute hash, trace prefix, minute) of the values found in one trace only of this write. */
  readonly attrTraces: Buffer;
  /** Each trace's first start and last end in this write. */
  readonly traces: Buffer;
  readonly bodies: Buffer | undefined;
  /** Ids of the texts in `bodies`, to add to the known ones once they are stored. */
  readonly newBodies: readonly bigint[];
}

interface Encoded {
  readonly id: bigint;
  readonly attrs: string[];
  /** What the attribute index holds of the resource's attributes (see `indexTexts`). */
  readonly indexed: string[];
}

/**
 * The texts the attribute index records for these attributes: each as stored, and for an array
 * each scalar element as if it were the value (TraceQL's `=` matches an array holding it).
 */
function indexTexts(attributes: readonly KeyValue[], encoded: readonly string[]): string[] {
  if (!attributes.some((a) => a.value.type === 'array')) return encoded as string[];
  const out = [...encoded];
  for (const a of attributes) {
    if (a.value.type !== 'array') continue;
    for (const value of a.value.value)
      if (value.type === 'string' || value.type === 'int' || value.type === 'double' || value.type === 'bool')
        out.push(encodeAttribute({ key: a.key, value }));
  }
  return out;
}

/**
 * One write's rows: every span into `spans` and `span_index`, each day's (service, name) pairs
 * once, and each resource and scope text not yet stored (`knownBodies` is not changed here).
 */
export function spanRows(spans: readonly Span[], knownBodies: ReadonlySet<bigint>): SpanRows {
  const out = new RowBinaryWriter(spans.length * 1024);
  const index = new RowBinaryWriter(spans.length * 512);
  const operations = new RowBinaryWriter();
  const bodies = new RowBinaryWriter();
  const newBodies: bigint[] = [];
  const seenOperations = new Set<string>();
  // Per attribute text: the one trace holding it in this write (undefined once a second trace
  // does) and the minutes it was seen in.
  const values = new Map<string, { trace: string | undefined; minutes: number[] }>();
  const seen = (text: string, traceId: string, minute: number) => {
    const v = values.get(text);
    if (v === undefined) {
      values.set(text, { trace: traceId, minutes: [minute] });
      return;
    }
    if (v.trace !== traceId) v.trace = undefined;
    if (!v.minutes.includes(minute)) v.minutes.push(minute);
  };
  const traceRanges = new Map<string, { first: bigint; last: bigint }>();
  const serviceOf = new Map<string, string>();
  for (const span of spans) serviceOf.set(span.spanId, span.serviceName);
  const resources = new Map<object, Encoded>();
  const scopes = new Map<object, bigint>();
  const body = (kind: 'resource' | 'scope', text: string): bigint => {
    const id = bodyId(kind, text);
    if (!knownBodies.has(id) && !newBodies.includes(id)) {
      newBodies.push(id);
      bodies.uint64(id);
      bodies.string(text);
    }
    return id;
  };
  for (const span of spans) {
    let resource = resources.get(span.resource);
    if (resource === undefined) {
      const attrs = span.resource.attributes.map(encodeAttribute);
      resource = {
        id: body('resource', resourceBody(span.resource)),
        attrs,
        indexed: indexTexts(span.resource.attributes, attrs),
      };
      resources.set(span.resource, resource);
    }
    let scope = scopes.get(span.scope);
    if (scope === undefined) {
      scope = body('scope', scopeBody(span.scope));
      scopes.set(span.scope, scope);
    }
    const start = span.startTimeUnixNano as bigint;
    const duration = (span.endTimeUnixNano as bigint) - start;
    const attributes = span.attributes.map(encodeAttribute);

    out.fixedHex(span.traceId, 16);
    out.fixedHex(span.spanId, 8);
    out.fixedHex(span.parentSpanId, 8);
    out.uint64(start);
    out.uint64(duration);
    out.string(span.serviceName);
    out.string(span.name);
    out.uint8(span.kind);
    out.uint8(span.status.code);
    out.string(span.status.message);
    out.string(span.traceState);
    out.uint32(span.flags);
    out.stringArray(attributes.map((a) => a.slice(0, a.indexOf(KV_SEP))));
    out.stringArray(attributes.map((a) => a.slice(a.indexOf(KV_SEP) + 1)));
    out.uint32(span.droppedAttributesCount);
    out.string(span.events.length === 0 ? '' : eventsToText(span.events));
    out.uint32(span.droppedEventsCount);
    out.string(span.links.length === 0 ? '' : linksToText(span.links));
    out.uint32(span.droppedLinksCount);
    out.uint64(resource.id);
    out.uint64(scope);

    index.string(span.serviceName);
    index.string(span.name);
    index.uint64(start);
    index.uint64(duration);
    index.uint8(span.status.code);
    index.fixedHex(span.traceId, 16);
    index.fixedHex(span.spanId, 8);
    index.stringArray(resource.attrs.length === 0 ? attributes : attributes.concat(resource.attrs));
    // The parent's service when the parent is in this write (dependencies read it without a join).
    const parentService = span.parentSpanId === '' ? undefined : serviceOf.get(span.parentSpanId);
    index.string(parentService ?? '');
    index.uint8(span.parentSpanId !== '' && parentService === undefined ? 1 : 0);
    const minute = minuteOf(start);
    for (const a of indexTexts(span.attributes, attributes)) seen(a, span.traceId, minute);
    for (const a of resource.indexed) seen(a, span.traceId, minute);
    const end = start + duration;
    const range = traceRanges.get(span.traceId);
    if (range === undefined) traceRanges.set(span.traceId, { first: start, last: end });
    else {
      if (start < range.first) range.first = start;
      if (end > range.last) range.last = end;
    }

    const day = Number(start / NANOS_PER_DAY);
    const key = `${day}\n${span.serviceName}\n${span.name}`;
    if (!seenOperations.has(key)) {
      seenOperations.add(key);
      operations.uint32(day);
      operations.string(span.serviceName);
      operations.string(span.name);
    }
  }
  const attrIndex = new RowBinaryWriter();
  const attrTraces = new RowBinaryWriter();
  for (const [text, v] of values) {
    const h = hashAttribute(text);
    for (const minute of v.minutes) {
      attrIndex.uint32(h);
      attrIndex.uint32(minute);
      attrIndex.uint8(v.trace === undefined ? 0 : 1);
    }
    if (v.trace !== undefined) {
      const prefix = tracePrefix(v.trace);
      for (const minute of v.minutes) {
        attrTraces.uint32(h);
        attrTraces.uint32(prefix);
        attrTraces.uint32(minute);
      }
    }
  }
  const traces = new RowBinaryWriter();
  for (const [traceId, range] of traceRanges) {
    traces.fixedHex(traceId, 16);
    traces.uint64(range.first);
    traces.uint64(range.last);
  }
  return {
    spans: out.bytes(),
    index: index.bytes(),
    operations: operations.bytes(),
    attrIndex: attrIndex.bytes(),
    attrTraces: attrTraces.bytes(),
    traces: traces.bytes(),
    bodies: newBodies.length > 0 ? bodies.bytes() : undefined,
    newBodies,
  };
}

/** The columns of `spans` as the store selects them: ids as lowercase hex, 64-bit numbers as strings. */
export const SPAN_SELECT = SPAN_COLUMNS.map((c) =>
  // Aliases must not shadow the columns: a WHERE on trace_id would compare with the hex text.
  c === 'trace_id' || c === 'span_id' || c === 'parent_span_id' ? `lower(hex(${c})) AS ${c}_hex` : c,
).join(', ');

/** A row of `spans` as `SPAN_SELECT` returns it in JSONEachRow. */
export interface StoredSpanRow {
  readonly trace_id_hex: string;
  readonly span_id_hex: string;
  readonly parent_span_id_hex: string;
  readonly start_ns: string;
  readonly duration_ns: string;
  readonly service: string;
  readonly name: string;
  readonly kind: number;
  readonly status_code: number;
  readonly status_message: string;
  readonly trace_state: string;
  readonly flags: number;
  readonly attr_keys: string[];
  readonly attr_values: string[];
  readonly dropped_attributes: number;
  readonly events: string;
  readonly dropped_events: number;
  readonly links: string;
  readonly dropped_links: number;
  readonly resource_id: string;
  readonly scope_id: string;
}

const ROOT_PARENT = '0000000000000000';

/**
 * The spans of stored rows, ordered by start (then span id), each span once even if a retried
 * insert stored it twice. `bodies` holds the resource and scope texts by id (decimal). Resources,
 * scopes and attributes shared by many spans are decoded once.
 */
export function spansFromRows(rows: readonly StoredSpanRow[], bodies: ReadonlyMap<string, string>): Span[] {
  const resources = new Map<string, Span['resource']>();
  const scopes = new Map<string, Span['scope']>();
  const attributes = new Map<string, Span['attributes'][number]>();
  const text = (id: string) => {
    const found = bodies.get(id);
    if (found === undefined) throw new Error(`corrupt store: no resource or scope text ${id}`);
    return found;
  };
  const seen = new Set<string>();
  const spans: Span[] = [];
  for (const row of rows) {
    // A retried insert's exact repeat is skipped; spans sharing an id (Zipkin's client and server
    // halves) differ in kind, start or parent and are all kept.
    const identity = `${row.span_id_hex}/${row.kind}/${row.start_ns}/${row.parent_span_id_hex}`;
    if (seen.has(identity)) continue;
    seen.add(identity);
    let resource = resources.get(row.resource_id);
    if (resource === undefined) {
      resource = resourceFromBody(text(row.resource_id));
      resources.set(row.resource_id, resource);
    }
    let scope = scopes.get(row.scope_id);
    if (scope === undefined) {
      scope = scopeFromBody(text(row.scope_id));
      scopes.set(row.scope_id, scope);
    }
    const start = BigInt(row.start_ns);
    spans.push({
      traceId: row.trace_id_hex,
      spanId: row.span_id_hex,
      parentSpanId: row.parent_span_id_hex === ROOT_PARENT ? '' : row.parent_span_id_hex,
      traceState: row.trace_state,
      flags: Number(row.flags),
      name: row.name,
      kind: Number(row.kind),
      startTimeUnixNano: unixNanos(start),
      endTimeUnixNano: unixNanos(start + BigInt(row.duration_ns)),
      attributes: row.attr_keys.map((key, i) => {
        const encoded = key + KV_SEP + row.attr_values[i];
        let kv = attributes.get(encoded);
        if (kv === undefined) {
          kv = decodeAttribute(encoded);
          attributes.set(encoded, kv);
        }
        return kv;
      }),
      droppedAttributesCount: Number(row.dropped_attributes),
      events: row.events === '' ? [] : eventsFromText(row.events),
      droppedEventsCount: Number(row.dropped_events),
      links: row.links === '' ? [] : linksFromText(row.links),
      droppedLinksCount: Number(row.dropped_links),
      status: { code: Number(row.status_code), message: row.status_message },
      serviceName: row.service,
      resource,
      scope,
    });
  }
  spans.sort((a, b) =>
    a.startTimeUnixNano < b.startTimeUnixNano
      ? -1
      : a.startTimeUnixNano > b.startTimeUnixNano
        ? 1
        : a.spanId < b.spanId
          ? -1
          : a.spanId > b.spanId
            ? 1
            : 0,
  );
  return spans;
}
