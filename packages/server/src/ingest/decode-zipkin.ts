import {
  isZipkinV1Span,
  readZipkinSpans,
  readZipkinV1Spans,
  type Span,
  type SpansFromZipkinOptions,
  spansFromZipkin,
  spansToTracesData,
  TraceImportError,
  type UnixNanos,
  validateSpans,
  type ZipkinSpan,
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
