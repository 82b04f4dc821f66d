import { Buffer, isUtf8 } from 'node:buffer';
import {
  type AnyValue,
  addDropped,
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  SPAN_LIMITS,
  type Span,
  type SpanEvent,
  type SpanLink,
  serviceNameOf,
  type UnixNanos,
} from '@ariadne/core';
import { decodeUtf8Escaping } from './decode-otlp-utf8.ts';

/**
 * A hand-written, strict decoder for `ExportTraceServiceRequest`, straight into model spans.
 *
 * Why not only protobufjs: (1) protobufjs skips a known field sent with the wrong wire type as if
 * it were unknown, while the OpenTelemetry Collector (gogo-generated code) rejects the request;
 * OTLP receivers should agree, so a wrong wire type is an error here; (2) it decodes into
 * intermediate objects and Long values that must then be converted again; `npm run bench:ingest`
 * compares both. It is differential-tested against protobufjs on randomized payloads
 * (otlp-protobuf-reader.test.ts).
 *
 * Unknown fields with a valid wire type are skipped, as protobuf requires. Errors are thrown as
 * `ProtobufError` with the message path. A `string` field that is not UTF-8 is not an error here:
 * it is decoded with lone surrogates in place of the bad bytes (decode-otlp-utf8.ts) and counted,
 * so that validation can reject just the spans that hold it.
 */
export class ProtobufError extends Error {
  override readonly name = 'ProtobufError';
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
const MAX_DEPTH = 64;

/** Node's Buffer decodes UTF-8 natively, faster than TextDecoder for the many short strings. */
interface NodeBuffer extends Uint8Array {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}

/**
 * Resources and scopes repeat byte for byte in every request an SDK sends: decoded ones are kept
 * by their exact bytes (and schema URL) and the same immutable object is returned, so spans of
 * different requests share it and the store can remember what it derived from it. Bounded.
 */
const HEADS_MAX = 4096;
const resourceHeads = new Map<string, Resource>();
const scopeHeads = new Map<string, InstrumentationScope>();

function cachedHead<T>(cache: Map<string, T>, r: Reader, range: [number, number], schemaUrl: string, read: () => T): T {
  const key = `${schemaUrl}\0${r.node.latin1Slice(range[0], range[1])}`;
  let value = cache.get(key);
  if (value === undefined) {
    r.pos = range[0];
    const invalid = r.invalidStrings;
    value = read();
    // One holding text that is not UTF-8 is not kept: found in the cache, it would not be counted.
    if (r.invalidStrings !== invalid) return value;
    if (cache.size >= HEADS_MAX) cache.clear();
    cache.set(key, value);
  }
  return value;
}

class Reader {
  pos: number;
  readonly node: NodeBuffer;
  /** How many `string` fields were not UTF-8 (decoded with lone surrogates, see `string`). */
  invalidStrings = 0;
  /**
   * Attributes, events and links skipped for `SPAN_LIMITS` (counted in the dropped counts of the
   * spans, events, links, resources and scopes they were skipped from).
   */
  limited = 0;
  /** `limited` as last handed to the visitor. */
  reportedLimited = 0;
  /** The last 16-byte trace id read, and where its bytes are (see `traceIdHex`). */
  private lastTraceId: string | undefined;
  private lastTraceIdAt = 0;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly view: DataView,
  ) {
    this.pos = start;
    this.node = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength) as unknown as NodeBuffer;
  }

  varint32(end: number, path: string): number {
    // Reads a varint and returns its low 32 bits (as protobuf does for 32-bit fields).
    let result = 0;
    let shift = 0;
    const buf = this.buf;
    while (true) {
      if (this.pos >= end) throw new ProtobufError(`${path}: truncated varint`);
      const b = buf[this.pos++];
      if (shift < 32) result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift >= 70) throw new ProtobufError(`${path}: varint longer than 10 bytes`);
    }
  }

  varint64(end: number, path: string): bigint {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    const buf = this.buf;
    while (true) {
      if (this.pos >= end) throw new ProtobufError(`${path}: truncated varint`);
      const b = buf[this.pos++];
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else if (shift < 63) hi |= (b & 0x7f) << (shift - 32);
      else hi |= (b & 0x01) << 31;
      if ((b & 0x80) === 0) return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
      shift += 7;
      if (shift >= 70) throw new ProtobufError(`${path}: varint longer than 10 bytes`);
    }
  }

  fixed64(end: number, path: string): bigint {
    if (this.pos + 8 > end) throw new ProtobufError(`${path}: truncated fixed64`);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  fixed32(end: number, path: string): number {
    if (this.pos + 4 > end) throw new ProtobufError(`${path}: truncated fixed32`);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(end: number, path: string): number {
    if (this.pos + 8 > end) throw new ProtobufError(`${path}: truncated double`);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix and returns the end of the delimited bytes. */
  len(end: number, path: string): number {
    const n = this.varint32(end, path);
    const stop = this.pos + n;
    if (n > end - this.pos) {
      throw new ProtobufError(`${path}: length ${n} exceeds the ${end - this.pos} bytes left`);
    }
    return stop;
  }

  string(end: number, path: string): string {
    const stop = this.len(end, path);
    const start = this.pos;
    this.pos = stop;
    if (start === stop) return '';
    const text = this.node.utf8Slice(start, stop);
    // utf8Slice puts U+FFFD where bytes are not UTF-8, so only a string holding one can be bad
    // (indexOf is immediate on the usual one-byte strings, which cannot hold it).
    if (text.indexOf('\uFFFD') === -1 || isUtf8(this.buf.subarray(start, stop))) return text;
    this.invalidStrings++;
    return decodeUtf8Escaping(this.buf, start, stop);
  }

  hex(end: number, path: string): string {
    const stop = this.len(end, path);
    const start = this.pos;
    this.pos = stop;
    if (start === stop) return '';
    // One native call and one string (concatenating two digits at a time made a rope of up to
    // 16 pieces, flattened later).
    return this.node.hexSlice(start, stop);
  }

  /**
   * `hex` for trace ids: the spans of a request mostly come a trace at a time, so the previous
   * trace id's string is reused when the bytes are the same.
   */
  traceIdHex(end: number, path: string): string {
    const stop = this.len(end, path);
    const start = this.pos;
    this.pos = stop;
    if (stop - start !== 16) return start === stop ? '' : this.node.hexSlice(start, stop);
    const last = this.lastTraceId;
    if (last !== undefined) {
      const buf = this.buf;
      const at = this.lastTraceIdAt;
      let same = true;
      for (let i = 0; i < 16; i++) {
        if (buf[start + i] !== buf[at + i]) {
          same = false;
          break;
        }
      }
      if (same) return last;
    }
    const hex = this.node.hexSlice(start, stop);
    this.lastTraceId = hex;
    this.lastTraceIdAt = start;
    return hex;
  }

  bytes(end: number, path: string): Uint8Array {
    const stop = this.len(end, path);
    const out = new Uint8Array(this.buf.subarray(this.pos, stop));
    this.pos = stop;
    return out;
  }

  skip(wireType: number, end: number, path: string): void {
    switch (wireType) {
      case VARINT:
        this.varint64(end, path);
        return;
      case I64:
        if (this.pos + 8 > end) throw new ProtobufError(`${path}: truncated fixed64`);
        this.pos += 8;
        return;
      case LEN:
        this.pos = this.len(end, path);
        return;
      case I32:
        if (this.pos + 4 > end) throw new ProtobufError(`${path}: truncated fixed32`);
        this.pos += 4;
        return;
      default:
        throw new ProtobufError(`${path}: unsupported wire type ${wireType}`);
    }
  }
}

function expect(wireType: number, expected: number, path: string): void {
  if (wireType !== expected) {
    throw new ProtobufError(`${path}: wrong wire type ${wireType}, expected ${expected}`);
  }
}

function readTag(r: Reader, end: number, path: string): number {
  const tag = r.varint32(end, path);
  if (tag >>> 3 === 0) throw new ProtobufError(`${path}: invalid field number 0`);
  return tag;
}

/**
 * Shared immutable values for what is often absent: a request of 2-byte empty messages would
 * otherwise make a 30 to 60-byte object from every 2 bytes (see the memory test in
 * decode-otlp.fuzz.test.ts).
 */
const EMPTY_VALUE: AnyValue = Object.freeze({ type: 'empty' });
const UNSET_STATUS = Object.freeze({ code: 0, message: '' });
/** The events, links or attributes of what has none: one shared, frozen empty list. */
const NONE: readonly never[] = Object.freeze([]);

function readAnyValue(r: Reader, end: number, path: string, depth: number): AnyValue {
  if (depth > MAX_DEPTH) throw new ProtobufError(`${path}: nested more than ${MAX_DEPTH} levels`);
  let value: AnyValue = EMPTY_VALUE;
  while (r.pos < end) {
    const tag = readTag(r, end, path);
    const field = tag >>> 3;
    const wt = tag & 7;
    switch (field) {
      case 1:
        expect(wt, LEN, `${path}.stringValue`);
        value = { type: 'string', value: r.string(end, `${path}.stringValue`) };
        break;
      case 2:
        expect(wt, VARINT, `${path}.boolValue`);
        value = { type: 'bool', value: r.varint64(end, `${path}.boolValue`) !== 0n };
        break;
      case 3:
        expect(wt, VARINT, `${path}.intValue`);
        value = { type: 'int', value: BigInt.asIntN(64, r.varint64(end, `${path}.intValue`)) };
        break;
      case 4:
        expect(wt, I64, `${path}.doubleValue`);
        value = { type: 'double', value: r.double(end, `${path}.doubleValue`) };
        break;
      case 5: {
        expect(wt, LEN, `${path}.arrayValue`);
        const stop = r.len(end, `${path}.arrayValue`);
        const values: AnyValue[] = [];
        while (r.pos < stop) {
          const t = readTag(r, stop, `${path}.arrayValue`);
          if (t >>> 3 === 1) {
            expect(t & 7, LEN, `${path}.arrayValue.values`);
            const s = r.len(stop, `${path}.arrayValue.values`);
            values.push(readAnyValue(r, s, `${path}.arrayValue.values[${values.length}]`, depth + 1));
            r.pos = s;
          } else r.skip(t & 7, stop, `${path}.arrayValue`);
        }
        value = { type: 'array', value: values };
        break;
      }
      case 6: {
        expect(wt, LEN, `${path}.kvlistValue`);
        const stop = r.len(end, `${path}.kvlistValue`);
        const values: KeyValue[] = [];
        while (r.pos < stop) {
          const t = readTag(r, stop, `${path}.kvlistValue`);
          if (t >>> 3 === 1) {
            expect(t & 7, LEN, `${path}.kvlistValue.values`);
            const s = r.len(stop, `${path}.kvlistValue.values`);
            values.push(readKeyValue(r, s, `${path}.kvlistValue.values[${values.length}]`, depth + 1));
            r.pos = s;
          } else r.skip(t & 7, stop, `${path}.kvlistValue`);
        }
        value = { type: 'kvlist', value: values };
        break;
      }
      case 7:
        expect(wt, LEN, `${path}.bytesValue`);
        value = { type: 'bytes', value: r.bytes(end, `${path}.bytesValue`) };
        break;
      default:
        r.skip(wt, end, path);
    }
  }
  return value;
}

function readKeyValue(r: Reader, end: number, path: string, depth: number): KeyValue {
  let key = '';
  let value: AnyValue = EMPTY_VALUE;
  while (r.pos < end) {
    const tag = readTag(r, end, path);
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 1) {
      expect(wt, LEN, `${path}.key`);
      key = r.string(end, `${path}.key`);
    } else if (field === 2) {
      expect(wt, LEN, `${path}.value`);
      const stop = r.len(end, `${path}.value`);
      value = readAnyValue(r, stop, `${path}.value`, depth);
      r.pos = stop;
    } else r.skip(wt, end, path);
  }
  return { key, value };
}

/**
 * Most attributes repeat byte for byte across spans (`http.method=GET`, `db.system=postgresql`):
 * a small hash table of recently decoded `KeyValue` messages, keyed by their exact bytes, returns
 * the same immutable object instead of decoding and allocating it again. This removes most of the
 * garbage the decoder makes. Entries are verified byte by byte, so a hash collision only misses.
 */
const CACHE_SLOTS = 8192;
const CACHE_MAX_BYTES = 96;
/** Slot `s` holds its entry's bytes at `s * CACHE_MAX_BYTES` (copied: no request body is kept). */
const cacheArena = new Uint8Array(CACHE_SLOTS * CACHE_MAX_BYTES);
const cacheView = new DataView(cacheArena.buffer);
/** Length of each slot's bytes; -1 while empty. */
const cacheLengths = new Int32Array(CACHE_SLOTS).fill(-1);
const cacheValues: (KeyValue | undefined)[] = new Array(CACHE_SLOTS);

function readAttribute(r: Reader, end: number, wt: number, list: KeyValue[], path: string): void {
  expect(wt, LEN, path);
  const stop = r.len(end, path);
  const start = r.pos;
  const length = stop - start;
  if (length > CACHE_MAX_BYTES) {
    list.push(readKeyValue(r, stop, path, 0));
    r.pos = stop;
    return;
  }
  // FNV-1a over 32-bit words, then the last length % 4 bytes: an attribute is about 30 bytes,
  // and hashing and comparing four bytes a step took a fifth off decoding (bench:ingest).
  const buf = r.buf;
  const view = r.view;
  const words = stop - (length & 3);
  let h = 0x811c9dc5 ^ length;
  let i = start;
  for (; i < words; i += 4) h = Math.imul(h ^ view.getInt32(i, true), 0x01000193);
  for (; i < stop; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  const slot = (h >>> 0) & (CACHE_SLOTS - 1);
  const base = slot * CACHE_MAX_BYTES;
  if (cacheLengths[slot] === length) {
    let j = base;
    for (i = start; i < words; i += 4, j += 4) if (cacheView.getInt32(j, true) !== view.getInt32(i, true)) break;
    if (i >= words) for (; i < stop; i++, j++) if (cacheArena[j] !== buf[i]) break;
    if (i === stop) {
      list.push(cacheValues[slot]!);
      r.pos = stop;
      return;
    }
  }
  const invalid = r.invalidStrings;
  const kv = readKeyValue(r, stop, path, 0);
  r.pos = stop;
  list.push(kv);
  // Values holding bytes are mutable Uint8Arrays: never share them. Text that is not UTF-8 must be
  // counted each time it is read, so it is not kept either.
  if (
    kv.value.type !== 'bytes' &&
    kv.value.type !== 'array' &&
    kv.value.type !== 'kvlist' &&
    r.invalidStrings === invalid
  ) {
    cacheArena.set(buf.subarray(start, stop), base);
    cacheLengths[slot] = length;
    cacheValues[slot] = kv;
  }
}

/**
 * `readAttribute` within `SPAN_LIMITS.attributes`: beyond, the attribute is only checked and
 * skipped (no object is made: a span with a million attributes costs a scan), and false returned.
 */
function readLimitedAttribute(r: Reader, end: number, wt: number, list: KeyValue[], path: string): boolean {
  if (list.length < SPAN_LIMITS.attributes) {
    readAttribute(r, end, wt, list, path);
    return true;
  }
  expect(wt, LEN, path);
  r.pos = r.len(end, path);
  return false;
}

function readResource(r: Reader, end: number, path: string, schemaUrl: string): Resource {
  const attributes: KeyValue[] = [];
  let dropped = 0;
  let skipped = 0;
  while (r.pos < end) {
    const tag = readTag(r, end, path);
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 1) {
      if (!readLimitedAttribute(r, end, wt, attributes, `${path}.attributes`)) skipped++;
    } else if (field === 2) {
      expect(wt, VARINT, `${path}.droppedAttributesCount`);
      dropped = r.varint32(end, path);
    } else r.skip(wt, end, path);
  }
  r.limited += skipped;
  return { attributes, droppedAttributesCount: addDropped(dropped, skipped), schemaUrl };
}

function readScope(r: Reader, end: number, path: string, schemaUrl: string): InstrumentationScope {
  let name = '';
  let version = '';
  const attributes: KeyValue[] = [];
  let dropped = 0;
  let skipped = 0;
  while (r.pos < end) {
    const tag = readTag(r, end, path);
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 1) {
      expect(wt, LEN, `${path}.name`);
      name = r.string(end, path);
    } else if (field === 2) {
      expect(wt, LEN, `${path}.version`);
      version = r.string(end, path);
    } else if (field === 3) {
      if (!readLimitedAttribute(r, end, wt, attributes, `${path}.attributes`)) skipped++;
    } else if (field === 4) {
      expect(wt, VARINT, `${path}.droppedAttributesCount`);
      dropped = r.varint32(end, path);
    } else r.skip(wt, end, path);
  }
  r.limited += skipped;
  return { name, version, attributes, droppedAttributesCount: addDropped(dropped, skipped), schemaUrl };
}

function readEvent(r: Reader, end: number, path: string): SpanEvent {
  let time = 0n;
  let name = '';
  let attributes: KeyValue[] | undefined;
  let dropped = 0;
  let skipped = 0;
  while (r.pos < end) {
    const tag = readTag(r, end, path);
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 1) {
      expect(wt, I64, `${path}.timeUnixNano`);
      time = r.fixed64(end, path);
    } else if (field === 2) {
      expect(wt, LEN, `${path}.name`);
      name = r.string(end, path);
    } else if (field === 3) {
      attributes ??= [];
      if (!readLimitedAttribute(r, end, wt, attributes, `${path}.attributes`)) skipped++;
    } else if (field === 4) {
      expect(wt, VARINT, `${path}.droppedAttributesCount`);
      dropped = r.varint32(end, path);
    } else r.skip(wt, end, path);
  }
  r.limited += skipped;
  return {
    timeUnixNano: time as UnixNanos,
    name,
    attributes: attributes ?? NONE,
    droppedAttributesCount: addDropped(dropped, skipped),
  };
}

function readLink(r: Reader, end: number, path: string): SpanLink {
  let traceId = '';
  let spanId = '';
  let traceState = '';
  let attributes: KeyValue[] | undefined;
  let dropped = 0;
  let skipped = 0;
  let flags = 0;
  while (r.pos < end) {
    const tag = readTag(r, end, path);
    const field = tag >>> 3;
    const wt = tag & 7;
    switch (field) {
      case 1:
        expect(wt, LEN, `${path}.traceId`);
        traceId = r.hex(end, path);
        break;
      case 2:
        expect(wt, LEN, `${path}.spanId`);
        spanId = r.hex(end, path);
        break;
      case 3:
        expect(wt, LEN, `${path}.traceState`);
        traceState = r.string(end, path);
        break;
      case 4:
        attributes ??= [];
        if (!readLimitedAttribute(r, end, wt, attributes, `${path}.attributes`)) skipped++;
        break;
      case 5:
        expect(wt, VARINT, `${path}.droppedAttributesCount`);
        dropped = r.varint32(end, path);
        break;
      case 6:
        expect(wt, I32, `${path}.flags`);
        flags = r.fixed32(end, path);
        break;
      default:
        r.skip(wt, end, path);
    }
  }
  r.limited += skipped;
  return {
    traceId,
    spanId,
    traceState,
    attributes: attributes ?? NONE,
    droppedAttributesCount: addDropped(dropped, skipped),
    flags,
  };
}

function readSpan(
  r: Reader,
  end: number,
  path: string,
  serviceName: string,
  resource: Resource,
  scope: InstrumentationScope,
): Span {
  let traceId = '';
  let spanId = '';
  let traceState = '';
  let parentSpanId = '';
  let flags = 0;
  let name = '';
  let kind = 0;
  let start = 0n;
  let endTime = 0n;
  let attributes: KeyValue[] | undefined;
  let droppedAttributes = 0;
  let events: SpanEvent[] | undefined;
  let droppedEvents = 0;
  let links: SpanLink[] | undefined;
  let droppedLinks = 0;
  let statusCode = 0;
  let statusMessage = '';
  let skippedAttributes = 0;
  let skippedEvents = 0;
  let skippedLinks = 0;
  while (r.pos < end) {
    const tag = readTag(r, end, path);
    const field = tag >>> 3;
    const wt = tag & 7;
    switch (field) {
      case 1:
        expect(wt, LEN, `${path}.traceId`);
        traceId = r.traceIdHex(end, path);
        break;
      case 2:
        expect(wt, LEN, `${path}.spanId`);
        spanId = r.hex(end, path);
        break;
      case 3:
        expect(wt, LEN, `${path}.traceState`);
        traceState = r.string(end, path);
        break;
      case 4:
        expect(wt, LEN, `${path}.parentSpanId`);
        parentSpanId = r.hex(end, path);
        break;
      case 5:
        expect(wt, LEN, `${path}.name`);
        name = r.string(end, path);
        break;
      case 6:
        expect(wt, VARINT, `${path}.kind`);
        kind = r.varint32(end, path) | 0;
        break;
      case 7:
        expect(wt, I64, `${path}.startTimeUnixNano`);
        start = r.fixed64(end, path);
        break;
      case 8:
        expect(wt, I64, `${path}.endTimeUnixNano`);
        endTime = r.fixed64(end, path);
        break;
      case 9:
        attributes ??= [];
        if (!readLimitedAttribute(r, end, wt, attributes, `${path}.attributes`)) skippedAttributes++;
        break;
      case 10:
        expect(wt, VARINT, `${path}.droppedAttributesCount`);
        droppedAttributes = r.varint32(end, path);
        break;
      case 11: {
        expect(wt, LEN, `${path}.events`);
        const stop = r.len(end, path);
        events ??= [];
        if (events.length < SPAN_LIMITS.events) events.push(readEvent(r, stop, `${path}.events[${events.length}]`));
        else skippedEvents++;
        r.pos = stop;
        break;
      }
      case 12:
        expect(wt, VARINT, `${path}.droppedEventsCount`);
        droppedEvents = r.varint32(end, path);
        break;
      case 13: {
        expect(wt, LEN, `${path}.links`);
        const stop = r.len(end, path);
        links ??= [];
        if (links.length < SPAN_LIMITS.links) links.push(readLink(r, stop, `${path}.links[${links.length}]`));
        else skippedLinks++;
        r.pos = stop;
        break;
      }
      case 14:
        expect(wt, VARINT, `${path}.droppedLinksCount`);
        droppedLinks = r.varint32(end, path);
        break;
      case 15: {
        expect(wt, LEN, `${path}.status`);
        const stop = r.len(end, path);
        while (r.pos < stop) {
          const t = readTag(r, stop, `${path}.status`);
          if (t >>> 3 === 2) {
            expect(t & 7, LEN, `${path}.status.message`);
            statusMessage = r.string(stop, path);
          } else if (t >>> 3 === 3) {
            expect(t & 7, VARINT, `${path}.status.code`);
            statusCode = r.varint32(stop, path) | 0;
          } else r.skip(t & 7, stop, `${path}.status`);
        }
        break;
      }
      case 16:
        expect(wt, I32, `${path}.flags`);
        flags = r.fixed32(end, path);
        break;
      default:
        r.skip(wt, end, path);
    }
  }
  r.limited += skippedAttributes + skippedEvents + skippedLinks;
  return {
    traceId,
    spanId,
    parentSpanId,
    traceState,
    flags,
    name,
    kind,
    startTimeUnixNano: start as UnixNanos,
    endTimeUnixNano: endTime as UnixNanos,
    attributes: attributes ?? NONE,
    droppedAttributesCount: addDropped(droppedAttributes, skippedAttributes),
    events: events ?? NONE,
    droppedEventsCount: addDropped(droppedEvents, skippedEvents),
    links: links ?? NONE,
    droppedLinksCount: addDropped(droppedLinks, skippedLinks),
    status: statusCode === 0 && statusMessage === '' ? UNSET_STATUS : { code: statusCode, message: statusMessage },
    serviceName,
    resource,
    scope,
  };
}

/**
 * `ResourceSpans` and `ScopeSpans` share one layout: field 1 a message (resource or scope),
 * field 2 repeated children (scope spans or spans), field 3 the schema URL. The head message may
 * come after the children on the wire, so a first pass finds it and checks every field, and a
 * second (`nextChild`) walks the children. Collecting the children's byte ranges instead took
 * 40 bytes for each 2-byte empty span.
 */
interface Envelope {
  head?: [number, number];
  schemaUrl: string;
  /** Where the envelope's fields start and end. */
  start: number;
  end: number;
}

function readEnvelope(r: Reader, end: number, path: string, headName: string, childName: string): Envelope {
  const envelope: Envelope = { schemaUrl: '', start: r.pos, end };
  while (r.pos < end) {
    const t = readTag(r, end, path);
    const f = t >>> 3;
    if (f === 1 || f === 2) {
      const name = `${path}.${f === 1 ? headName : childName}`;
      expect(t & 7, LEN, name);
      const stop = r.len(end, name);
      if (f === 1) envelope.head = [r.pos, stop];
      r.pos = stop;
    } else if (f === 3) {
      expect(t & 7, LEN, `${path}.schemaUrl`);
      envelope.schemaUrl = r.string(end, `${path}.schemaUrl`);
    } else r.skip(t & 7, end, path);
  }
  return envelope;
}

/**
 * Moves `r` from `from` to the start of the next child of an envelope that `readEnvelope` has
 * checked, and returns where that child ends, or -1 after the last one.
 */
function nextChild(r: Reader, from: number, envelope: Envelope, path: string): number {
  r.pos = from;
  while (r.pos < envelope.end) {
    const t = readTag(r, envelope.end, path);
    if (t >>> 3 === 2) return r.len(envelope.end, path);
    r.skip(t & 7, envelope.end, path);
  }
  return -1;
}

/**
 * Takes each decoded span; `invalidText` is true when a string of the span, its resource or its
 * scope was not UTF-8 (validation must then check its text); `limited` is how many of the span's
 * attributes, events and links (with theirs) were skipped for `SPAN_LIMITS`, and of its resource's
 * and scope's attributes when they were read for it (the first span under them).
 */
export type SpanVisitor = (span: Span, invalidText: boolean, limited: number) => void;

/**
 * Decodes a protobuf `ExportTraceServiceRequest` (or `TracesData`), handing each span to `visit`
 * as soon as it is decoded (so that a caller can drop invalid ones at once), without validating.
 */
export function readExportTraceServiceRequest(buf: Uint8Array, visit: SpanVisitor): void {
  const slices = readExportTraceServiceRequestInSlices(buf, visit, Number.POSITIVE_INFINITY);
  while (!slices.next().done);
}

/**
 * `readExportTraceServiceRequest` in slices: pauses (yields) after the span that completes each
 * `sliceBytes` of the request, so that a caller can do other work between slices of a huge one.
 */
export function* readExportTraceServiceRequestInSlices(
  buf: Uint8Array,
  visit: SpanVisitor,
  sliceBytes: number,
): Generator<void, void, void> {
  let sliceEnd = sliceBytes;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const r = new Reader(buf, 0, view);
  const end = buf.length;
  let rsIndex = 0;
  while (r.pos < end) {
    const tag = readTag(r, end, '$');
    if (tag >>> 3 !== 1) {
      r.skip(tag & 7, end, '$');
      continue;
    }
    const path = `resourceSpans[${rsIndex++}]`;
    expect(tag & 7, LEN, path);
    const rsEnd = r.len(end, path);
    const rsInvalid = r.invalidStrings;
    const rs = readEnvelope(r, rsEnd, path, 'resource', 'scopeSpans');
    let resource: Resource = { attributes: [], droppedAttributesCount: 0, schemaUrl: rs.schemaUrl };
    if (rs.head) {
      const head = rs.head;
      resource = cachedHead(resourceHeads, r, head, rs.schemaUrl, () =>
        readResource(r, head[1], `${path}.resource`, rs.schemaUrl),
      );
    }
    const serviceName = serviceNameOf(resource);
    const resourceInvalid = r.invalidStrings !== rsInvalid;
    for (
      let si = 0, ssEnd = nextChild(r, rs.start, rs, path);
      ssEnd >= 0;
      si++, ssEnd = nextChild(r, ssEnd, rs, path)
    ) {
      const sPath = `${path}.scopeSpans[${si}]`;
      const ssInvalid = r.invalidStrings;
      const ss = readEnvelope(r, ssEnd, sPath, 'scope', 'spans');
      let scope: InstrumentationScope = {
        name: '',
        version: '',
        attributes: [],
        droppedAttributesCount: 0,
        schemaUrl: ss.schemaUrl,
      };
      if (ss.head) {
        const head = ss.head;
        scope = cachedHead(scopeHeads, r, head, ss.schemaUrl, () =>
          readScope(r, head[1], `${sPath}.scope`, ss.schemaUrl),
        );
      }
      const scopeInvalid = resourceInvalid || r.invalidStrings !== ssInvalid;
      for (
        let i = 0, spanEnd = nextChild(r, ss.start, ss, sPath);
        spanEnd >= 0;
        i++, spanEnd = nextChild(r, spanEnd, ss, sPath)
      ) {
        const spanInvalid = r.invalidStrings;
        const span = readSpan(r, spanEnd, `${sPath}.spans[${i}]`, serviceName, resource, scope);
        // What was skipped since the last span: its own, and its resource's and scope's if they
        // were read for it (each once: repeated heads come from the cache).
        visit(span, scopeInvalid || r.invalidStrings !== spanInvalid, r.limited - r.reportedLimited);
        r.reportedLimited = r.limited;
        if (spanEnd >= sliceEnd) {
          sliceEnd = spanEnd + sliceBytes;
          yield;
        }
      }
    }
    r.pos = rsEnd;
  }
}
