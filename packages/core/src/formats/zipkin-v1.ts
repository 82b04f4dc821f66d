import { microsToNanos } from '../import/ids.ts';
import { TraceImportError } from '../import/import-error.ts';
import { readZipkinSpan, type ZipkinKind, type ZipkinSpan } from './zipkin.ts';

/**
 * Zipkin v1 JSON (`zipkin-api.yaml`, which zipkin-js's `HttpLogger` still sends by default) to
 * the v2 model, as Zipkin's `V1SpanConverter` reads it. A v1 span has no kind and no endpoints
 * of its own: both come from its annotations.
 *
 * ```
 *   v1 span {id: a, annotations: cs cr (frontend) sr ss (backend), binaryAnnotations: sa}
 *     ▼
 *   v2 {id: a, kind: CLIENT, localEndpoint: frontend, remoteEndpoint: sa's, timestamp: cs, duration: cr − cs}
 *   v2 {id: a, kind: SERVER, localEndpoint: backend, shared: true, timestamp: sr, duration: ss − sr}
 * ```
 * - `cs`/`cr` make a CLIENT part, `sr`/`ss` a SERVER part, `ms`/`ws` a PRODUCER part, `wr`/`mr`
 *   a CONSUMER part, each with the endpoint of its annotations as its local endpoint; a span
 *   with none of them is one local span. The first part takes the span's own `timestamp` and
 *   `duration`; the others take theirs from their annotations;
 * - a SERVER part is `shared` when a CLIENT part has the same id, or when the span has no
 *   `timestamp` of its own (the server joined a span its client started, and did not own it);
 * - the binary annotations `sa`, `ca` and `ma` give the remote endpoint of the CLIENT, SERVER and
 *   messaging parts; `lc` (local component) is a tag when not empty and gives a local span its
 *   endpoint; every other binary annotation is a tag (values as text) of the part whose service
 *   it names, or of the first part;
 * - other annotations go to the part whose service they name, or to the first part.
 * Thrift v1 is not read.
 */

const CORE = new Set(['cs', 'cr', 'sr', 'ss', 'ms', 'ws', 'wr', 'mr']);
const ADDRESSES = new Set(['ca', 'sa', 'ma']);

interface V1Endpoint {
  readonly serviceName?: unknown;
  readonly ipv4?: unknown;
  readonly ipv6?: unknown;
  readonly port?: unknown;
}

interface Part {
  readonly kind?: ZipkinKind;
  readonly endpoint?: V1Endpoint;
  readonly timestamp?: number;
  readonly duration?: number;
  readonly shared?: boolean;
  remoteEndpoint?: V1Endpoint;
  readonly annotations: { timestamp: number; value: string }[];
  readonly tags: Record<string, string>;
}

function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TraceImportError(`${path}: expected an object`);
  }
  return value as Record<string, unknown>;
}

function listAt(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TraceImportError(`${path}: expected an array`);
  return value;
}

function endpointAt(value: unknown, path: string): V1Endpoint | undefined {
  if (value === undefined || value === null) return undefined;
  return objectAt(value, path);
}

function micros(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(microsToNanos(value, path) / 1000n);
  return n === 0 ? undefined : n;
}

function serviceOf(endpoint: V1Endpoint | undefined): string {
  return typeof endpoint?.serviceName === 'string' ? endpoint.serviceName : '';
}

/** A binary annotation's value as tag text. */
function tagValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  return JSON.stringify(value) ?? '';
}

function positive(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > a ? b - a : undefined;
}

/** The parts one v1 span becomes (see the module comment). */
function partsOf(s: Record<string, unknown>, path: string): Part[] {
  const core = new Map<string, { timestamp: number; endpoint?: V1Endpoint }>();
  const others: { timestamp: number; value: string; endpoint?: V1Endpoint }[] = [];
  listAt(s.annotations, `${path}.annotations`).forEach((a, i) => {
    const ap = `${path}.annotations[${i}]`;
    const ann = objectAt(a, ap);
    if (typeof ann.value !== 'string') throw new TraceImportError(`${ap}.value: expected a string`);
    const timestamp = micros(ann.timestamp, `${ap}.timestamp`);
    if (timestamp === undefined) throw new TraceImportError(`${ap}.timestamp: an annotation needs a timestamp`);
    const endpoint = endpointAt(ann.endpoint, `${ap}.endpoint`);
    if (CORE.has(ann.value) && !core.has(ann.value)) core.set(ann.value, { timestamp, endpoint });
    else others.push({ timestamp, value: ann.value, endpoint });
  });
  const spanTimestamp = micros(s.timestamp, `${path}.timestamp`);
  const spanDuration = micros(s.duration, `${path}.duration`);
  const at = (value: string) => core.get(value);
  const parts: Part[] = [];
  const add = (kind: ZipkinKind, begin: string, end: string, shared = false) => {
    const b = at(begin);
    const e = at(end);
    if (b === undefined && e === undefined) return;
    const owner = parts.length === 0 && !shared;
    parts.push({
      kind,
      endpoint: b?.endpoint ?? e?.endpoint,
      timestamp: owner ? (spanTimestamp ?? b?.timestamp) : b?.timestamp,
      duration: owner ? (spanDuration ?? positive(b?.timestamp, e?.timestamp)) : positive(b?.timestamp, e?.timestamp),
      shared,
      annotations: [],
      tags: {},
    });
  };
  add('CLIENT', 'cs', 'cr');
  const serverShared = parts.length > 0 || (spanTimestamp === undefined && at('sr') !== undefined);
  add('SERVER', 'sr', 'ss', serverShared);
  add('PRODUCER', 'ms', 'ws');
  add('CONSUMER', at('wr') ? 'wr' : 'mr', 'mr');
  return placeRest(s, path, parts, others, spanTimestamp, spanDuration);
}

/** Adds the other annotations and the binary annotations to the parts (a local span if none). */
function placeRest(
  s: Record<string, unknown>,
  path: string,
  parts: Part[],
  others: { timestamp: number; value: string; endpoint?: V1Endpoint }[],
  spanTimestamp: number | undefined,
  spanDuration: number | undefined,
): Part[] {
  const binary = listAt(s.binaryAnnotations, `${path}.binaryAnnotations`).map((b, i) => {
    const bp = `${path}.binaryAnnotations[${i}]`;
    const o = objectAt(b, bp);
    if (typeof o.key !== 'string') throw new TraceImportError(`${bp}.key: expected a string`);
    return { key: o.key, value: o.value, endpoint: endpointAt(o.endpoint, `${bp}.endpoint`) };
  });
  if (parts.length === 0) {
    const lc = binary.find((b) => b.key === 'lc');
    const endpoint =
      lc?.endpoint ?? binary.find((b) => !ADDRESSES.has(b.key) && b.endpoint)?.endpoint ?? others[0]?.endpoint;
    parts.push({ endpoint, timestamp: spanTimestamp, duration: spanDuration, annotations: [], tags: {} });
  }
  const partFor = (endpoint: V1Endpoint | undefined) => {
    const service = serviceOf(endpoint);
    return (service && parts.find((p) => serviceOf(p.endpoint) === service)) || parts[0];
  };
  for (const a of others) partFor(a.endpoint).annotations.push({ timestamp: a.timestamp, value: a.value });
  const ofKind = (...kinds: ZipkinKind[]) => parts.find((p) => p.kind !== undefined && kinds.includes(p.kind));
  for (const b of binary) {
    if (ADDRESSES.has(b.key)) {
      const part =
        (b.key === 'sa' ? ofKind('CLIENT') : b.key === 'ca' ? ofKind('SERVER') : ofKind('PRODUCER', 'CONSUMER')) ??
        parts[0];
      part.remoteEndpoint = b.endpoint;
      continue;
    }
    const value = tagValue(b.value);
    if (b.key === 'lc' && value === '') continue;
    partFor(b.endpoint).tags[b.key] = value;
  }
  return parts;
}

/** A v1 endpoint as v2 JSON: zipkin-js writes `serviceName: ""` for none. */
function v2Endpoint(endpoint: V1Endpoint | undefined): V1Endpoint | undefined {
  if (endpoint === undefined) return undefined;
  const { serviceName, ...rest } = endpoint;
  return serviceName === '' ? rest : endpoint;
}

/**
 * Reads a Zipkin v1 JSON list of spans into v2 spans (see the module comment). Throws
 * `TraceImportError` naming the path of the first bad field.
 */
export function readZipkinV1Spans(body: unknown): ZipkinSpan[] {
  if (!Array.isArray(body)) throw new TraceImportError('expected a JSON list of Zipkin v1 spans');
  const out: ZipkinSpan[] = [];
  body.forEach((value, i) => {
    const path = `[${i}]`;
    const s = objectAt(value, path);
    for (const part of partsOf(s, path)) {
      out.push(
        readZipkinSpan(
          {
            traceId: s.traceId,
            parentId: s.parentId,
            id: s.id,
            kind: part.kind,
            name: s.name,
            timestamp: part.timestamp,
            duration: part.duration,
            localEndpoint: v2Endpoint(part.endpoint),
            remoteEndpoint: v2Endpoint(part.remoteEndpoint),
            annotations: part.annotations,
            tags: part.tags,
            debug: s.debug === true,
            shared: part.shared,
          },
          path,
        ),
      );
    }
  });
  return out;
}
