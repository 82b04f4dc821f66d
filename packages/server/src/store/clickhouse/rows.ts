import { createHash } from 'node:crypto';
import type { KeyValue, Span } from '@ariadne/core';
import { encodeAttribute } from '../attribute-codec.ts';
import { hashAttribute, minuteOf } from '../attribute-index.ts';
import { eventsToText, linksToText, resourceBody, scopeBody } from '../span-text.ts';
import { RowBinaryWriter } from './row-binary.ts';

/**
 * Spans to the RowBinary rows of the ClickHouse tables (schema.ts): pure, no I/O (rows read back
 * to spans: stored-spans.ts). Attributes are the codec's `key␞type value` strings
 * (attribute-codec.ts), split at the first separator into a key array and a value array in
 * `spans`, whole in `span_index` (where a `key=value` filter is one `hasAny` over candidates).
 */

export const NANOS_PER_DAY = 86_400_000_000_000n;
/** Between an attribute's key and its typed value in the codec's text (attribute-codec.ts). */
export const KV_SEP = '\x1e';

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

/**
 * The rows of one write, per table, each in a buffer of its own (transferable); `bodies` only
 * holds texts not in `knownBodies`.
 */
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

/** An attribute text as some spans hold it: its hash, and where and when it was seen. */
interface AttributeSeen {
  readonly h: number;
  /** The one trace holding it (undefined when more than one does). */
  readonly trace: string | undefined;
  /** The minutes it was seen in, in the order first seen. */
  readonly minutes: readonly number[];
}

interface TraceRange {
  readonly first: bigint;
  readonly last: bigint;
}

interface Operation {
  readonly day: number;
  readonly service: string;
  readonly name: string;
}

/** The parent's service as a part's index rows name it, for one parent span id. */
interface ParentField {
  /** The service of the part's last span with that id; undefined if the part has none. */
  readonly service: string | undefined;
  /** The bytes of `parent_service` and `parent_unresolved` as written. */
  readonly bytes: number;
  /** Where in the part's index bytes each such row's `parent_service` starts. */
  readonly at: readonly number[];
}

/**
 * The rows of some spans (one request's) made before the write they go into is known: each span's
 * `spans` and `span_index` row, and the distinct sets, in the order first met, that the write's
 * other tables are made of. Index rows name the parent's service as found in these spans alone;
 * `combineRows` rewrites the fields the whole write resolves otherwise.
 */
export interface PartRows {
  readonly spanCount: number;
  readonly spans: Uint8Array;
  readonly index: Uint8Array;
  readonly parents: ReadonlyMap<string, ParentField>;
  /** Each span id's service (of the last span with that id). */
  readonly services: ReadonlyMap<string, string>;
  /** (day, service, name) by a key of the three. */
  readonly operations: ReadonlyMap<string, Operation>;
  /** The attribute index's texts of the spans and their resources. */
  readonly values: ReadonlyMap<string, AttributeSeen>;
  readonly traces: ReadonlyMap<string, TraceRange>;
  /** Every resource and scope text, by id: which of them are stored is only known at `combineRows`. */
  readonly bodies: ReadonlyMap<bigint, string>;
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

function writeSpanRow(
  out: RowBinaryWriter,
  span: Span,
  attributes: readonly string[],
  resource: bigint,
  scope: bigint,
) {
  const start = span.startTimeUnixNano as bigint;
  out.fixedHex(span.traceId, 16);
  out.fixedHex(span.spanId, 8);
  out.fixedHex(span.parentSpanId, 8);
  out.uint64(start);
  out.uint64((span.endTimeUnixNano as bigint) - start);
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
  out.uint64(resource);
  out.uint64(scope);
}

/** A `span_index` row up to, not including, `parent_service` and `parent_unresolved`. */
function writeIndexRowHead(index: RowBinaryWriter, span: Span, attributes: string[], resourceAttrs: string[]) {
  const start = span.startTimeUnixNano as bigint;
  index.string(span.serviceName);
  index.string(span.name);
  index.uint64(start);
  index.uint64((span.endTimeUnixNano as bigint) - start);
  index.uint8(span.status.code);
  index.fixedHex(span.traceId, 16);
  index.fixedHex(span.spanId, 8);
  index.stringArray(resourceAttrs.length === 0 ? attributes : attributes.concat(resourceAttrs));
}

/** `parent_service` and `parent_unresolved` of a span with a parent. */
function writeParentField(index: RowBinaryWriter, service: string | undefined): void {
  index.string(service ?? '');
  index.uint8(service === undefined ? 1 : 0);
}

/**
 * The rows of some spans that do not depend on the rest of their write (see `PartRows`): pure.
 * A part is any slice of a write's spans; `combineRows` of a write's parts, in order, gives the
 * rows `spanRows` gives for all of its spans at once.
 */
export function partRows(spans: readonly Span[]): PartRows {
  const out = new RowBinaryWriter(spans.length * 1024);
  const index = new RowBinaryWriter(spans.length * 512);
  const services = new Map<string, string>();
  for (const span of spans) services.set(span.spanId, span.serviceName);
  const parents = new Map<string, { service: string | undefined; bytes: number; at: number[] }>();
  const operations = new Map<string, Operation>();
  const values = new Map<string, { h: number; trace: string | undefined; minutes: number[] }>();
  const seen = (text: string, traceId: string, minute: number) => {
    const v = values.get(text);
    if (v === undefined) {
      values.set(text, { h: hashAttribute(text), trace: traceId, minutes: [minute] });
      return;
    }
    if (v.trace !== traceId) v.trace = undefined;
    if (!v.minutes.includes(minute)) v.minutes.push(minute);
  };
  const traces = new Map<string, { first: bigint; last: bigint }>();
  const bodies = new Map<bigint, string>();
  const resources = new Map<object, Encoded>();
  const scopes = new Map<object, bigint>();
  const body = (kind: 'resource' | 'scope', text: string): bigint => {
    const id = bodyId(kind, text);
    if (!bodies.has(id)) bodies.set(id, text);
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
    const attributes = span.attributes.map(encodeAttribute);
    writeSpanRow(out, span, attributes, resource.id, scope);
    writeIndexRowHead(index, span, attributes, resource.attrs);
    if (span.parentSpanId === '') writeParentField(index, '');
    else {
      // The parent's service when the parent is in this write (dependencies read it without a join).
      const at = index.length;
      const service = services.get(span.parentSpanId);
      writeParentField(index, service);
      const field = parents.get(span.parentSpanId);
      if (field === undefined) parents.set(span.parentSpanId, { service, bytes: index.length - at, at: [at] });
      else field.at.push(at);
    }

    const start = span.startTimeUnixNano as bigint;
    const end = span.endTimeUnixNano as bigint;
    const minute = minuteOf(start);
    for (const a of indexTexts(span.attributes, attributes)) seen(a, span.traceId, minute);
    for (const a of resource.indexed) seen(a, span.traceId, minute);
    const range = traces.get(span.traceId);
    if (range === undefined) traces.set(span.traceId, { first: start, last: end });
    else {
      if (start < range.first) range.first = start;
      if (end > range.last) range.last = end;
    }
    const day = Number(start / NANOS_PER_DAY);
    const key = `${day}\n${span.serviceName}\n${span.name}`;
    if (!operations.has(key)) operations.set(key, { day, service: span.serviceName, name: span.name });
  }
  return {
    spanCount: spans.length,
    spans: out.bytes(),
    index: index.bytes(),
    parents,
    services,
    operations,
    values,
    traces,
    bodies,
  };
}

/** The bytes one after another, in a buffer of their own. */
function joined(pieces: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const out = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/**
 * The parts' index rows one after another, each naming its parent's service as the whole write
 * has it: that of the write's last span with the parent's id. A part alone may have found another
 * span (with that id but another service: Zipkin's shared spans), or none.
 */
function joinedIndex(parts: readonly PartRows[]): Buffer {
  if (parts.length <= 1) return joined(parts.map((p) => p.index));
  // Only a later part can change what a part found; any other part, what it did not.
  const lastService = (id: string, written: string | undefined, part: number): string | undefined => {
    const stop = written === undefined ? -1 : part;
    for (let j = parts.length - 1; j > stop; j--) {
      const service = parts[j].services.get(id);
      if (service !== undefined) return service;
    }
    return written;
  };
  const fields = new Map<string | undefined, Uint8Array>();
  const fieldOf = (service: string | undefined) => {
    let field = fields.get(service);
    if (field === undefined) {
      const w = new RowBinaryWriter(16);
      writeParentField(w, service);
      field = w.bytes();
      fields.set(service, field);
    }
    return field;
  };
  const pieces: Uint8Array[] = [];
  for (const [i, part] of parts.entries()) {
    const rewrites: { at: number; bytes: number; field: Uint8Array }[] = [];
    for (const [parent, written] of part.parents) {
      const service = lastService(parent, written.service, i);
      if (service === written.service) continue;
      const field = fieldOf(service);
      for (const at of written.at) rewrites.push({ at, bytes: written.bytes, field });
    }
    rewrites.sort((a, b) => a.at - b.at);
    let from = 0;
    for (const r of rewrites) {
      pieces.push(part.index.subarray(from, r.at), r.field);
      from = r.at + r.bytes;
    }
    pieces.push(from === 0 ? part.index : part.index.subarray(from));
  }
  return joined(pieces);
}

/** One write's sightings of a text, from what earlier parts saw (`w`) and what a later one saw (`v`). */
function mergeSeen(w: AttributeSeen, v: AttributeSeen): AttributeSeen {
  const trace = w.trace === v.trace ? w.trace : undefined;
  let minutes: number[] | undefined;
  for (const minute of v.minutes) {
    if (w.minutes.includes(minute)) continue;
    minutes ??= [...w.minutes];
    minutes.push(minute);
  }
  return trace === w.trace && minutes === undefined ? w : { h: w.h, trace, minutes: minutes ?? w.minutes };
}

/**
 * One write's rows from its parts (`partRows` of its spans, in order): the parts' `spans` and
 * `span_index` rows one after another, each day's (service, name) pairs once, the attribute index
 * and each trace's range over the whole write (a value one part saw in one trace only may be in
 * another trace in another part), and each resource and scope text not in `knownBodies` once
 * (`knownBodies` is not changed here). The parts are not changed either.
 */
export function combineRows(parts: readonly PartRows[], knownBodies: ReadonlySet<bigint>): SpanRows {
  const operations = new Map<string, Operation>();
  const values = new Map<string, AttributeSeen>();
  const traces = new Map<string, TraceRange>();
  const newBodies = new Map<bigint, string>();
  for (const part of parts) {
    for (const [key, operation] of part.operations) if (!operations.has(key)) operations.set(key, operation);
    for (const [text, v] of part.values) {
      const w = values.get(text);
      if (w === undefined) values.set(text, v);
      else {
        const merged = mergeSeen(w, v);
        if (merged !== w) values.set(text, merged);
      }
    }
    for (const [traceId, range] of part.traces) {
      const r = traces.get(traceId);
      if (r === undefined) traces.set(traceId, range);
      else {
        let { first, last } = r;
        if (range.first < first) first = range.first;
        if (range.last > last) last = range.last;
        if (first !== r.first || last !== r.last) traces.set(traceId, { first, last });
      }
    }
    for (const [id, text] of part.bodies) if (!knownBodies.has(id) && !newBodies.has(id)) newBodies.set(id, text);
  }
  return {
    spans: joined(parts.map((p) => p.spans)),
    index: joinedIndex(parts),
    operations: operationRows(operations.values()),
    ...attributeRows(values),
    traces: traceRows(traces),
    bodies: newBodies.size > 0 ? bodyRows(newBodies) : undefined,
    newBodies: [...newBodies.keys()],
  };
}

function operationRows(operations: Iterable<Operation>): Buffer {
  const out = new RowBinaryWriter();
  for (const { day, service, name } of operations) {
    out.uint32(day);
    out.string(service);
    out.string(name);
  }
  return joined([out.bytes()]);
}

function attributeRows(values: ReadonlyMap<string, AttributeSeen>): { attrIndex: Buffer; attrTraces: Buffer } {
  const attrIndex = new RowBinaryWriter();
  const attrTraces = new RowBinaryWriter();
  for (const { h, trace, minutes } of values.values()) {
    for (const minute of minutes) {
      attrIndex.uint32(h);
      attrIndex.uint32(minute);
      attrIndex.uint8(trace === undefined ? 0 : 1);
    }
    if (trace !== undefined) {
      const prefix = tracePrefix(trace);
      for (const minute of minutes) {
        attrTraces.uint32(h);
        attrTraces.uint32(prefix);
        attrTraces.uint32(minute);
      }
    }
  }
  return { attrIndex: joined([attrIndex.bytes()]), attrTraces: joined([attrTraces.bytes()]) };
}

function traceRows(traces: ReadonlyMap<string, TraceRange>): Buffer {
  const out = new RowBinaryWriter();
  for (const [traceId, range] of traces) {
    out.fixedHex(traceId, 16);
    out.uint64(range.first);
    out.uint64(range.last);
  }
  return joined([out.bytes()]);
}

function bodyRows(bodies: ReadonlyMap<bigint, string>): Buffer {
  const out = new RowBinaryWriter();
  for (const [id, text] of bodies) {
    out.uint64(id);
    out.string(text);
  }
  return joined([out.bytes()]);
}

/**
 * One write's rows: every span into `spans` and `span_index`, each day's (service, name) pairs
 * once, and each resource and scope text not yet stored (`knownBodies` is not changed here).
 * The same as `combineRows` of the spans' `partRows`, in one part.
 */
export function spanRows(spans: readonly Span[], knownBodies: ReadonlySet<bigint>): SpanRows {
  return combineRows([partRows(spans)], knownBodies);
}
