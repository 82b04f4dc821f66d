import { readZipkinSpan, type ZipkinSpan } from '@ariadne/core';

/**
 * A decoder for Zipkin's proto3 `ListOfSpans` (openzipkin/zipkin-api `zipkin.proto`, what
 * `POST /api/v2/spans` takes as `application/x-protobuf`), into the v2 JSON shape, which
 * `readZipkinSpan` then checks as it checks JSON:
 * ```
 * ListOfSpans { repeated Span spans = 1; }
 * Span { bytes trace_id = 1; bytes parent_id = 2; bytes id = 3; Kind kind = 4; string name = 5;
 *        fixed64 timestamp = 6; uint64 duration = 7; Endpoint local_endpoint = 8;
 *        Endpoint remote_endpoint = 9; repeated Annotation annotations = 10;
 *        map<string, string> tags = 11; bool debug = 12; bool shared = 13; }
 * Endpoint { string service_name = 1; bytes ipv4 = 2; bytes ipv6 = 3; int32 port = 4; }
 * Annotation { fixed64 timestamp = 1; string value = 2; }
 * Kind { SPAN_KIND_UNSPECIFIED = 0; CLIENT = 1; SERVER = 2; PRODUCER = 3; CONSUMER = 4; }
 * ```
 * Strict where a mistake would change meaning: a known field with the wrong wire type, a
 * truncated message, ids of the wrong length, an IP address of the wrong length, text that is not
 * UTF-8 and times beyond 2^53 µs are errors (`ZipkinProtoError`, with the span's index). Unknown
 * fields are skipped, as protobuf requires; an unknown kind is no kind.
 */
export class ZipkinProtoError extends Error {
  override readonly name = 'ZipkinProtoError';
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    readonly path: string,
  ) {
    this.pos = start;
  }

  fail(message: string): never {
    throw new ZipkinProtoError(`${this.path}: ${message}`);
  }

  varint(): bigint {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return value & 0xffffffffffffffffn;
    }
    return this.fail('varint longer than 10 bytes');
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) this.fail('truncated fixed64');
    let value = 0n;
    for (let i = 7; i >= 0; i--) value = (value << 8n) | BigInt(this.buf[this.pos + i]);
    this.pos += 8;
    return value;
  }

  bytes(): Uint8Array {
    const length = this.varint();
    if (length > BigInt(this.end - this.pos)) this.fail('truncated length-delimited field');
    const start = this.pos;
    this.pos += Number(length);
    return this.buf.subarray(start, this.pos);
  }

  /** A nested message's reader; the outer one moves past it. */
  message(path: string): Reader {
    const bytes = this.bytes();
    return new Reader(
      this.buf,
      bytes.byteOffset - this.buf.byteOffset,
      bytes.byteOffset - this.buf.byteOffset + bytes.length,
      path,
    );
  }

  string(field: string): string {
    try {
      return UTF8.decode(this.bytes());
    } catch {
      return this.fail(`${field} is not UTF-8`);
    }
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === I64) this.advance(8);
    else if (wireType === LEN) this.bytes();
    else if (wireType === I32) this.advance(4);
    else this.fail(`unsupported wire type ${wireType}`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) this.fail('truncated field');
    this.pos += n;
  }

  /** Calls `field` for every field until the end; `field` returns false for one it does not know. */
  each(field: (number: number, wireType: number) => boolean): void {
    while (this.pos < this.end) {
      const key = this.varint();
      const number = Number(key >> 3n);
      const wireType = Number(key & 7n);
      if (number === 0) this.fail('field number 0');
      if (!field(number, wireType)) this.skip(wireType);
    }
  }

  expect(wireType: number, expected: number, field: string): void {
    if (wireType !== expected) this.fail(`${field} has wire type ${wireType}, expected ${expected}`);
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b];
  return out;
}

/** IPv6 text as RFC 5952 writes it: lowercase, the longest run of two or more zero groups as `::`. */
export function ipv6Text(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const text = (list: number[]) => list.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return text(groups);
  return `${text(groups.slice(0, bestStart))}::${text(groups.slice(bestStart + bestLength))}`;
}

function micros(value: bigint, r: Reader, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) r.fail(`${field} ${value} is out of range`);
  return Number(value);
}

function endpoint(r: Reader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  r.each((number, wireType) => {
    switch (number) {
      case 1:
        r.expect(wireType, LEN, 'service_name');
        out.serviceName = r.string('service_name');
        return true;
      case 2: {
        r.expect(wireType, LEN, 'ipv4');
        const b = r.bytes();
        if (b.length !== 0 && b.length !== 4) r.fail(`ipv4 must be 4 bytes, got ${b.length}`);
        if (b.length === 4) out.ipv4 = b.join('.');
        return true;
      }
      case 3: {
        r.expect(wireType, LEN, 'ipv6');
        const b = r.bytes();
        if (b.length !== 0 && b.length !== 16) r.fail(`ipv6 must be 16 bytes, got ${b.length}`);
        if (b.length === 16) out.ipv6 = ipv6Text(b);
        return true;
      }
      case 4:
        r.expect(wireType, VARINT, 'port');
        // int32: a negative port arrives sign-extended to 64 bits; readZipkinSpan refuses it.
        out.port = Number(BigInt.asIntN(32, r.varint()));
        return true;
      default:
        return false;
    }
  });
  return out;
}

const KINDS = [undefined, 'CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'];

function span(r: Reader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const annotations: { timestamp: number; value: string }[] = [];
  const tags: Record<string, string> = {};
  const id = (field: string, bytes: Uint8Array, lengths: readonly number[]) => {
    if (!lengths.includes(bytes.length)) r.fail(`${field} must be ${lengths.join(' or ')} bytes, got ${bytes.length}`);
    return hex(bytes);
  };
  r.each((number, wireType) => {
    switch (number) {
      case 1:
        r.expect(wireType, LEN, 'trace_id');
        out.traceId = id('trace_id', r.bytes(), [8, 16]);
        return true;
      case 2: {
        r.expect(wireType, LEN, 'parent_id');
        const b = r.bytes();
        if (b.length > 0) out.parentId = id('parent_id', b, [8]);
        return true;
      }
      case 3:
        r.expect(wireType, LEN, 'id');
        out.id = id('id', r.bytes(), [8]);
        return true;
      case 4: {
        r.expect(wireType, VARINT, 'kind');
        const kind = r.varint();
        out.kind = kind < 5n ? KINDS[Number(kind)] : undefined;
        return true;
      }
      case 5:
        r.expect(wireType, LEN, 'name');
        out.name = r.string('name');
        return true;
      case 6:
        r.expect(wireType, I64, 'timestamp');
        out.timestamp = micros(r.fixed64(), r, 'timestamp');
        return true;
      case 7:
        r.expect(wireType, VARINT, 'duration');
        out.duration = micros(r.varint(), r, 'duration');
        return true;
      case 8:
        r.expect(wireType, LEN, 'local_endpoint');
        out.localEndpoint = endpoint(r.message(`${r.path}.local_endpoint`));
        return true;
      case 9:
        r.expect(wireType, LEN, 'remote_endpoint');
        out.remoteEndpoint = endpoint(r.message(`${r.path}.remote_endpoint`));
        return true;
      case 10: {
        r.expect(wireType, LEN, 'annotations');
        const a = r.message(`${r.path}.annotations[${annotations.length}]`);
        const annotation = { timestamp: 0, value: '' };
        a.each((n, w) => {
          if (n === 1) {
            a.expect(w, I64, 'timestamp');
            annotation.timestamp = micros(a.fixed64(), a, 'timestamp');
          } else if (n === 2) {
            a.expect(w, LEN, 'value');
            annotation.value = a.string('value');
          } else {
            return false;
          }
          return true;
        });
        annotations.push(annotation);
        return true;
      }
      case 11: {
        r.expect(wireType, LEN, 'tags');
        const entry = r.message(`${r.path}.tags`);
        let key = '';
        let value = '';
        entry.each((n, w) => {
          if (n === 1) {
            entry.expect(w, LEN, 'key');
            key = entry.string('tag key');
          } else if (n === 2) {
            entry.expect(w, LEN, 'value');
            value = entry.string('tag value');
          } else {
            return false;
          }
          return true;
        });
        tags[key] = value;
        return true;
      }
      case 12:
        r.expect(wireType, VARINT, 'debug');
        out.debug = r.varint() !== 0n;
        return true;
      case 13:
        r.expect(wireType, VARINT, 'shared');
        out.shared = r.varint() !== 0n;
        return true;
      default:
        return false;
    }
  });
  if (annotations.length > 0) out.annotations = annotations;
  if (Object.keys(tags).length > 0) out.tags = tags;
  return out;
}

/**
 * Decodes a proto3 `ListOfSpans` into checked v2 spans. Throws `ZipkinProtoError` for bytes that
 * are not one, and core's `TraceImportError` for a span that decodes but is not valid (no id).
 */
export function readZipkinProto(bytes: Uint8Array): ZipkinSpan[] {
  const r = new Reader(bytes, 0, bytes.length, 'ListOfSpans');
  const spans: ZipkinSpan[] = [];
  r.each((number, wireType) => {
    if (number !== 1) return false;
    r.expect(wireType, LEN, 'spans');
    const path = `[${spans.length}]`;
    spans.push(readZipkinSpan(span(r.message(`spans${path}`)), path));
    return true;
  });
  return spans;
}
