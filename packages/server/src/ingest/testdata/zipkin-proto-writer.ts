import type { ZipkinSpan } from '@ariadne/core';
import protobuf from 'protobufjs';

/**
 * Test support: writes Zipkin's proto3 `ListOfSpans` with protobufjs's low-level writer, field by
 * field from openzipkin/zipkin-api's zipkin.proto (not through Ariadne's decoder's tables), plus a
 * few ways to get it wrong on purpose.
 */

export interface ProtoEndpoint {
  readonly serviceName?: string;
  readonly ipv4?: readonly number[];
  readonly ipv6?: Uint8Array;
  readonly port?: number;
}

export interface ProtoSpan {
  readonly traceId?: Uint8Array;
  readonly parentId?: Uint8Array;
  readonly id?: Uint8Array;
  readonly kind?: number;
  readonly name?: string;
  /** The name as raw bytes (to send text that is not UTF-8). */
  readonly nameBytes?: Uint8Array;
  readonly timestamp?: bigint;
  readonly duration?: bigint;
  readonly localEndpoint?: ProtoEndpoint;
  readonly remoteEndpoint?: ProtoEndpoint;
  readonly annotations?: readonly { readonly timestamp: bigint; readonly value: string }[];
  readonly tags?: Readonly<Record<string, string>>;
  readonly debug?: boolean;
  readonly shared?: boolean;
  /** Adds field 99, which decoders must skip. */
  readonly unknown?: boolean;
  /** Writes `kind` with the wrong wire type. */
  readonly kindAsBytes?: boolean;
}

const LEN = 2;
const VARINT = 0;
const I64 = 1;

function fixed64(w: protobuf.Writer, value: bigint): void {
  w.fixed32(Number(value & 0xffffffffn)).fixed32(Number((value >> 32n) & 0xffffffffn));
}

function endpoint(w: protobuf.Writer, field: number, e: ProtoEndpoint): void {
  w.uint32((field << 3) | LEN).fork();
  if (e.serviceName !== undefined) w.uint32((1 << 3) | LEN).string(e.serviceName);
  if (e.ipv4 !== undefined) w.uint32((2 << 3) | LEN).bytes(Uint8Array.from(e.ipv4));
  if (e.ipv6 !== undefined) w.uint32((3 << 3) | LEN).bytes(e.ipv6);
  if (e.port !== undefined) w.uint32((4 << 3) | VARINT).int32(e.port);
  w.ldelim();
}

/** Encodes `ListOfSpans { repeated Span spans = 1; }`. */
export function encodeZipkinProto(spans: readonly ProtoSpan[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const s of spans) {
    w.uint32((1 << 3) | LEN).fork();
    if (s.traceId) w.uint32((1 << 3) | LEN).bytes(s.traceId);
    if (s.parentId) w.uint32((2 << 3) | LEN).bytes(s.parentId);
    if (s.id) w.uint32((3 << 3) | LEN).bytes(s.id);
    if (s.kind !== undefined) w.uint32((4 << 3) | VARINT).int32(s.kind);
    if (s.kindAsBytes) w.uint32((4 << 3) | LEN).bytes(Uint8Array.of(1));
    if (s.name !== undefined) w.uint32((5 << 3) | LEN).string(s.name);
    if (s.nameBytes !== undefined) w.uint32((5 << 3) | LEN).bytes(s.nameBytes);
    if (s.timestamp !== undefined) fixed64(w.uint32((6 << 3) | I64), s.timestamp);
    if (s.duration !== undefined) w.uint32((7 << 3) | VARINT).uint64(s.duration.toString());
    if (s.localEndpoint) endpoint(w, 8, s.localEndpoint);
    if (s.remoteEndpoint) endpoint(w, 9, s.remoteEndpoint);
    for (const a of s.annotations ?? []) {
      w.uint32((10 << 3) | LEN).fork();
      fixed64(w.uint32((1 << 3) | I64), a.timestamp);
      w.uint32((2 << 3) | LEN).string(a.value);
      w.ldelim();
    }
    for (const [key, value] of Object.entries(s.tags ?? {})) {
      w.uint32((11 << 3) | LEN).fork();
      w.uint32((1 << 3) | LEN).string(key);
      w.uint32((2 << 3) | LEN).string(value);
      w.ldelim();
    }
    if (s.debug) w.uint32((12 << 3) | VARINT).bool(true);
    if (s.shared) w.uint32((13 << 3) | VARINT).bool(true);
    if (s.unknown) w.uint32((99 << 3) | LEN).string('skip me');
    w.ldelim();
  }
  return w.finish();
}

function ipv4Bytes(text: string): number[] {
  return text.split('.').map(Number);
}

/** IPv6 text (with at most one `::`) to its 16 bytes. */
function ipv6Bytes(text: string): Uint8Array {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

const KINDS: Record<string, number> = { CLIENT: 1, SERVER: 2, PRODUCER: 3, CONSUMER: 4 };

function protoEndpoint(e: ZipkinSpan['localEndpoint']): ProtoEndpoint | undefined {
  if (e === undefined) return undefined;
  return {
    serviceName: e.serviceName,
    ipv4: e.ipv4 === undefined ? undefined : ipv4Bytes(e.ipv4),
    ipv6: e.ipv6 === undefined ? undefined : ipv6Bytes(e.ipv6),
    port: e.port,
  };
}

/** A v2 JSON span (as the fixtures hold them) in proto3 terms. */
export function protoSpanOf(z: ZipkinSpan): ProtoSpan {
  return {
    traceId: Buffer.from(z.traceId, 'hex'),
    parentId: z.parentId === undefined ? undefined : Buffer.from(z.parentId, 'hex'),
    id: Buffer.from(z.id, 'hex'),
    kind: z.kind === undefined ? undefined : KINDS[z.kind],
    name: z.name,
    timestamp: z.timestamp === undefined ? undefined : BigInt(z.timestamp),
    duration: z.duration === undefined ? undefined : BigInt(z.duration),
    localEndpoint: protoEndpoint(z.localEndpoint),
    remoteEndpoint: protoEndpoint(z.remoteEndpoint),
    annotations: z.annotations?.map((a) => ({ timestamp: BigInt(a.timestamp), value: a.value })),
    tags: z.tags,
    debug: z.debug,
    shared: z.shared,
  };
}
