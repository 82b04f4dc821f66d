import {
  isZipkinV1Span,
  readZipkinSpan,
  readZipkinSpans,
  readZipkinV1Spans,
  type Span,
  type SpansFromZipkinOptions,
  SpanValidator,
  spansFromZipkin,
  TraceImportError,
  type UnixNanos,
  unixNanos,
  validateSpans,
  type ZipkinSpan,
  ZipkinStarts,
  zipkinConverter,
  zipkinSliceConverter,
} from '@ariadne/core';
import { LogFormat } from './ingest-log.ts';
import { jsonListPieces, type ListPiece, parseListPiece } from './json-list-slices.ts';
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

/** The ingest log's format for each Zipkin encoding. */
const LOG_FORMATS: Readonly<Record<ZipkinEncoding, LogFormat>> = {
  'json-v2': LogFormat.ZIPKIN_JSON_V2,
  proto3: LogFormat.ZIPKIN_PROTO3,
  'json-v1': LogFormat.ZIPKIN_JSON_V1,
};

/**
 * Bytes before the request's body in a Zipkin record: the time it was received. A body read with
 * this much headroom (http-body.ts, `readBody`) becomes its record in place (`zipkinRecord`).
 */
export const ZIPKIN_RECORD_HEADROOM = 8;
const RECEIVED_BYTES = ZIPKIN_RECORD_HEADROOM;

/** Whether records of `format` hold Zipkin requests (`zipkinRecord`). */
export function isZipkinFormat(format: LogFormat): boolean {
  return Object.values(LOG_FORMATS).includes(format);
}

/**
 * A Zipkin request as the ingest log keeps it: as received, after the time it was received
 * (which the conversion needs to decode it the same way again). Kept as Zipkin rather than as the
 * OTLP/JSON its spans become: that was half as large again (23 MB for 15 MB of Zipkin JSON), and
 * encoding it cost the prepare worker a sixth of the conversion and 70 MiB of memory.
 *
 * With `inHeadroom`, a body read with `ZIPKIN_RECORD_HEADROOM` bytes before it, in an ArrayBuffer
 * of its own (`readBody`'s `headroom`), becomes the record in place: the time is written into the
 * headroom, which the caller gives up, and the body is not copied (15 MB for the largest
 * requests). Any other body is copied.
 */
export function zipkinRecord(
  body: Uint8Array,
  encoding: ZipkinEncoding,
  receivedUnixNano: UnixNanos,
  { inHeadroom = false }: { readonly inHeadroom?: boolean } = {},
): { format: LogFormat; body: Buffer } {
  const inPlace =
    inHeadroom && body.byteOffset === RECEIVED_BYTES && body.buffer.byteLength === RECEIVED_BYTES + body.byteLength;
  const record = inPlace
    ? Buffer.from(body.buffer, 0, body.buffer.byteLength)
    : Buffer.allocUnsafe(RECEIVED_BYTES + body.byteLength);
  record.writeBigUInt64LE(receivedUnixNano, 0);
  if (!inPlace) record.set(body, RECEIVED_BYTES);
  return { format: LOG_FORMATS[encoding], body: record };
}

/** A Zipkin record (`zipkinRecord`) taken apart. Throws `ZipkinDecodeError` for one that is not. */
export function readZipkinRecord(
  format: LogFormat,
  record: Uint8Array,
): { body: Buffer; encoding: ZipkinEncoding; receivedUnixNano: UnixNanos } {
  const encoding = (Object.keys(LOG_FORMATS) as ZipkinEncoding[]).find((e) => LOG_FORMATS[e] === format);
  if (encoding === undefined) throw new ZipkinDecodeError(`log format ${format} is not a Zipkin format`);
  if (record.byteLength < RECEIVED_BYTES) throw new ZipkinDecodeError('Zipkin record shorter than its received time');
  const view = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  return { body: view.subarray(RECEIVED_BYTES), encoding, receivedUnixNano: unixNanos(view.readBigUInt64LE(0)) };
}

/** The spans of a Zipkin record, decoded as when it was received. Throws `ZipkinDecodeError`. */
export function decodeZipkinRecord(format: LogFormat, record: Uint8Array): Span[] {
  const { body, encoding, receivedUnixNano } = readZipkinRecord(format, record);
  return decodeZipkin(body, encoding, { receivedUnixNano });
}

/** What converting a Zipkin request found: its span count (all valid, or the request is refused). */
export interface ZipkinConversion {
  readonly spans: number;
}

/** Spans read, converted and validated at once by `zipkinSpansInSlices` (about 60 ms each). */
export const ZIPKIN_SLICE_SPANS = 1000;

/**
 * From this size on, `zipkinSpansInSlices` parses a v2 JSON list a piece at a time
 * (`jsonListPieces`) and never holds it whole. Below it, one `JSON.parse` is cheaper.
 */
export const ZIPKIN_PIECEWISE_BYTES = 2 * 1024 * 1024;

/**
 * `decodeZipkin` with a pause (a `yield`) every `sliceSpans` spans, for the prepare worker:
 * converting a 15 MB Zipkin JSON request takes about a second, and other requests wait behind it.
 * Each pause yields the spans of the slice just converted (none while reading): the worker
 * prepares them at once. They count only if the conversion returns: a refused span refuses them
 * all. The spans are the same as `decodeZipkin` gives (so the same as the request's
 * `zipkinRecord` replays), grouped by resource within each slice; the errors are the same.
 *
 * A v2 JSON list of `piecewiseFrom` bytes or more is parsed, read, converted and validated a
 * slice at a time (`readV2Piecewise`), so that its parsed objects and Zipkin spans are never all
 * held at once: for a 15 MB request, that was 40 MiB of heap. Smaller v2 lists are parsed whole
 * (one piece) and then read, converted and validated a slice at a time; v1 JSON and proto3
 * bodies are read whole.
 */
export function* zipkinSpansInSlices(
  body: Uint8Array,
  encoding: ZipkinEncoding,
  receivedUnixNano: UnixNanos,
  sliceSpans = ZIPKIN_SLICE_SPANS,
  piecewiseFrom = ZIPKIN_PIECEWISE_BYTES,
): Generator<readonly Span[], ZipkinConversion, void> {
  const validator = new SpanValidator({ checkText: true });
  const pieces =
    encoding === 'json-v2' && body.byteLength >= piecewiseFrom ? jsonListPieces(body, sliceSpans) : undefined;
  let spans: number;
  if (pieces !== undefined) {
    spans = yield* readV2Piecewise(body, pieces, receivedUnixNano, validator);
  } else {
    const zipkin = encoding === 'json-v2' ? yield* readV2InSlices(body, sliceSpans) : readZipkinBody(body, encoding);
    yield [];
    const convert = zipkinConverter(zipkin, { receivedUnixNano });
    for (let from = 0; from < zipkin.length; from += sliceSpans) {
      for (const span of convert(from, from + sliceSpans)) validator.visit(span, true);
      yield validator.takeValid();
    }
    spans = zipkin.length;
  }
  const verdict = validator.verdict();
  if (verdict.rejectedSpans > 0) throw new ZipkinDecodeError(`invalid spans: ${verdict.errorMessage}`);
  return { spans };
}

/**
 * Reads, converts and validates a v2 JSON list one piece (`jsonListPieces`) at a time, yielding
 * each piece's valid spans, and returns the list's span count. Spans without a timestamp are
 * placed from the whole list's starts (`ZipkinStarts`): the first piece that has one reads the
 * pieces after it ahead of time to gather them. Any error (JSON, a span Zipkin cannot read, a v1 span) is
 * reported as reading the whole body reports it, which parses it whole: these messages are the
 * ones `decodeZipkin` gives, and the pieces' never differ from them in substance.
 */
function* readV2Piecewise(
  body: Uint8Array,
  pieces: readonly ListPiece[],
  receivedUnixNano: UnixNanos,
  validator: SpanValidator,
): Generator<readonly Span[], number, void> {
  // The starts of the pieces read so far, and of all of them once a span needs them.
  const starts = new ZipkinStarts();
  const convert = zipkinSliceConverter(starts, { receivedUnixNano });
  let complete = false;
  let spans = 0;
  try {
    for (let p = 0; p < pieces.length; p++) {
      const zipkin = readV2Piece(body, pieces[p], spans);
      if (!complete) starts.add(zipkin);
      if (!complete && zipkin.some((z) => z.timestamp === undefined)) {
        for (let q = p + 1, at = spans + zipkin.length; q < pieces.length; at += pieces[q].count, q++) {
          starts.add(readV2Piece(body, pieces[q], at));
        }
        complete = true;
      }
      for (const span of convert(zipkin)) validator.visit(span, true);
      spans += zipkin.length;
      yield validator.takeValid();
    }
  } catch (error) {
    // What reading the body whole says about it; the pieces' own error if that finds none.
    readZipkinBody(body, 'json-v2');
    throw error instanceof TraceImportError ? new ZipkinDecodeError(`JSON: ${error.message}`) : error;
  }
  return spans;
}

/** The Zipkin spans of one piece of a v2 JSON list, whose first element is the list's `first`th. */
function readV2Piece(body: Uint8Array, piece: ListPiece, first: number): ZipkinSpan[] {
  const json = parseListPiece(body, piece);
  if (json.length !== piece.count) throw new ZipkinDecodeError('a piece of the JSON list did not parse as cut');
  return json.map((value, i) => {
    if (isZipkinV1Span(value)) {
      throw new ZipkinDecodeError('Expected a JSON_V2 encoded list, but received: JSON_V1; post it to /api/v1/spans');
    }
    return readZipkinSpan(value, `[${first + i}]`);
  });
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
