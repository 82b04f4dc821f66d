import {
  isZipkinV1Span,
  readZipkinSpan,
  readZipkinSpans,
  readZipkinV1Spans,
  type Span,
  type SpansFromZipkinOptions,
  SpanValidator,
  spansFromZipkin,
  spansToTracesData,
  TraceImportError,
  type UnixNanos,
  validateSpans,
  type ZipkinSpan,
  zipkinConverter,
} from '@ariadne/core';
import { readZipkinProto, ZipkinProtoError } from './zipkin-proto.ts';

/**
 * Zipkin request bodies to model spans, knowing nothing of HTTP (as decode-otlp.ts for OTLP):
 * v2 JSON or proto3 `ListOfSpans`, v1 JSON, mapped with core's Zipkin mapping and checked as
 * OTLP spans are. Every failure is a `ZipkinDecodeError` whose message says what was wrong, in
 * Zipkin's words where Zipkin has some (`Expected a JSON_V2 encoded list`).
 */
export class ZipkinDecodeError extends Error {
  override readonly name = 'ZipkinDecodeError';
}

/** The encodings of a Zipkin request body. */
export type ZipkinEncoding = 'json-v2' | 'proto3' | 'json-v1';

function parseJson(body: Uint8Array): unknown {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text.trim() === '') return [];
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ZipkinDecodeError(`cannot parse the body as JSON: ${(error as Error).message}`);
  }
}

function isV2Shaped(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return ['localEndpoint', 'remoteEndpoint', 'kind', 'tags', 'shared'].some((k) => k in value);
}

/** Reads the Zipkin spans of a body (see `ZipkinEncoding`); an empty body holds none. */
export function readZipkinBody(body: Uint8Array, encoding: ZipkinEncoding): ZipkinSpan[] {
  try {
    if (encoding === 'proto3') return readZipkinProto(body);
    const json = parseJson(body);
    if (encoding === 'json-v1') {
      if (Array.isArray(json) && json.some(isV2Shaped) && !json.some(isZipkinV1Span)) {
        throw new ZipkinDecodeError('Expected a JSON_V1 encoded list, but received: JSON_V2; post it to /api/v2/spans');
      }
      if (!Array.isArray(json)) throw new ZipkinDecodeError('Expected a JSON_V1 encoded list');
      return readZipkinV1Spans(json);
    }
    if (!Array.isArray(json)) throw new ZipkinDecodeError('Expected a JSON_V2 encoded list');
    if (json.some(isZipkinV1Span)) {
      throw new ZipkinDecodeError('Expected a JSON_V2 encoded list, but received: JSON_V1; post it to /api/v1/spans');
    }
    return readZipkinSpans(json);
  } catch (error) {
    if (error instanceof TraceImportError || error instanceof ZipkinProtoError) {
      throw new ZipkinDecodeError(`${encoding === 'proto3' ? 'proto3' : 'JSON'}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Decodes a Zipkin body into model spans (core's `spansFromZipkin`), refusing the whole request
 * if any span is one OTLP would reject (Zipkin stores all of a request or none of it).
 */
export function decodeZipkin(body: Uint8Array, encoding: ZipkinEncoding, options: SpansFromZipkinOptions = {}): Span[] {
  const checked = validateSpans(spansFromZipkin(readZipkinBody(body, encoding), options), { checkText: true });
  if (checked.rejectedSpans > 0) throw new ZipkinDecodeError(`invalid spans: ${checked.errorMessage}`);
  return checked.spans;
}

/** A Zipkin request as the ingest log keeps it: its spans as OTLP/JSON (none: no `body`). */
export interface ZipkinConversion {
  readonly spans: number;
  readonly body?: Uint8Array;
}

/**
 * Decodes a Zipkin request (`decodeZipkin`) and encodes its spans as OTLP/JSON, what the ingest
 * log replays and the prepare worker decodes. `body` has a buffer of its own, so that the worker
 * can transfer it. Throws `ZipkinDecodeError` as `decodeZipkin`.
 */
export function zipkinToOtlpJson(
  body: Uint8Array,
  encoding: ZipkinEncoding,
  receivedUnixNano: UnixNanos,
): ZipkinConversion {
  const spans = decodeZipkin(body, encoding, { receivedUnixNano });
  if (spans.length === 0) return { spans: 0 };
  return { spans: spans.length, body: new TextEncoder().encode(JSON.stringify(spansToTracesData(spans))) };
}

/** Spans read, converted and encoded at once by `zipkinToOtlpJsonInSlices` (about 75 ms each). */
export const ZIPKIN_SLICE_SPANS = 1000;

/**
 * `zipkinToOtlpJson` with a pause (a `yield`) every `sliceSpans` spans, for the prepare worker:
 * converting a 15 MB Zipkin JSON request takes about 1.4 s, and other requests wait behind it.
 * Reading the v2 JSON list, converting, validating and encoding are done a slice at a time;
 * `JSON.parse` of the whole body (about 100 ms at that size) remains one piece, and v1 JSON and
 * proto3 bodies are read whole. Each pause yields the spans of the slice just encoded (none while
 * reading): the worker prepares them at once, so that the OTLP/JSON it sends back for the ingest
 * log is not decoded again (decode-zipkin.test.ts checks that decoding it gives these spans).
 * They count only if the conversion returns: a refused span refuses them all. The spans are the
 * same as `zipkinToOtlpJson` gives, grouped by resource within each slice; the errors are the same.
 */
export function* zipkinToOtlpJsonInSlices(
  body: Uint8Array,
  encoding: ZipkinEncoding,
  receivedUnixNano: UnixNanos,
  sliceSpans = ZIPKIN_SLICE_SPANS,
): Generator<readonly Span[], ZipkinConversion, void> {
  const zipkin = encoding === 'json-v2' ? yield* readV2InSlices(body, sliceSpans) : readZipkinBody(body, encoding);
  yield [];
  const convert = zipkinConverter(zipkin, { receivedUnixNano });
  const validator = new SpanValidator({ checkText: true });
  // The encoded resourceSpans of each slice, without the list's brackets, joined into one list
  // below: the pieces are encoded as they come, so the end copies bytes, not a 20 MB string.
  const pieces: Uint8Array[] = [];
  for (let from = 0; from < zipkin.length; from += sliceSpans) {
    for (const span of convert(from, from + sliceSpans)) validator.visit(span, true);
    const valid = validator.takeValid();
    if (valid.length > 0) pieces.push(Buffer.from(JSON.stringify(spansToTracesData(valid).resourceSpans).slice(1, -1)));
    yield valid;
  }
  const verdict = validator.verdict();
  if (verdict.rejectedSpans > 0) throw new ZipkinDecodeError(`invalid spans: ${verdict.errorMessage}`);
  if (zipkin.length === 0) return { spans: 0 };
  return { spans: zipkin.length, body: joinList('{"resourceSpans":[', pieces, ']}') };
}

/** `open`, the pieces separated by commas, and `close`, in a buffer of its own (to be transferred). */
function joinList(open: string, pieces: readonly Uint8Array[], close: string): Uint8Array {
  const comma = 0x2c;
  const head = Buffer.from(open);
  const tail = Buffer.from(close);
  let length = head.length + tail.length + Math.max(0, pieces.length - 1);
  for (const piece of pieces) length += piece.length;
  const joined = new Uint8Array(length);
  joined.set(head, 0);
  let at = head.length;
  for (const [i, piece] of pieces.entries()) {
    if (i > 0) joined[at++] = comma;
    joined.set(piece, at);
    at += piece.length;
  }
  joined.set(tail, at);
  return joined;
}

/** `readZipkinBody` for a v2 JSON list, reading its spans a slice at a time. */
function* readV2InSlices(body: Uint8Array, sliceSpans: number): Generator<readonly Span[], ZipkinSpan[], void> {
  const json = parseJson(body);
  if (!Array.isArray(json)) throw new ZipkinDecodeError('Expected a JSON_V2 encoded list');
  if (json.some(isZipkinV1Span)) {
    throw new ZipkinDecodeError('Expected a JSON_V2 encoded list, but received: JSON_V1; post it to /api/v1/spans');
  }
  const spans: ZipkinSpan[] = [];
  for (let i = 0; i < json.length; i++) {
    try {
      spans.push(readZipkinSpan(json[i], `[${i}]`));
    } catch (error) {
      if (error instanceof TraceImportError) throw new ZipkinDecodeError(`JSON: ${error.message}`);
      throw error;
    }
    if ((i + 1) % sliceSpans === 0) yield [];
  }
  return spans;
}
