import type { Span } from '@ariadne/core';
import {
  decodeOtlpJson,
  decodeOtlpJsonInSlices,
  decodeOtlpProtobuf,
  decodeOtlpProtobufInSlices,
  type RequestVerdict,
} from './decode-otlp.ts';
import { decodeZipkinRecord, isZipkinFormat, readZipkinRecord, zipkinSpansInSlices } from './decode-zipkin.ts';
import { LogFormat } from './ingest-log.ts';

/**
 * A request as the ingest log keeps it (its `LogFormat` and body) back to spans, whatever the
 * format: the one decoder of the write queue, the prepare worker and the replay, so that a request
 * decoded again (a retry, a restart) gives the spans it gave when it was acknowledged.
 */

/** A decoded record: its valid spans, and those rejected through partial success (OTLP only). */
export interface DecodedRecord {
  readonly spans: Span[];
  readonly rejectedSpans: number;
  readonly errorMessage: string;
}

/**
 * Decodes a record. Throws `OtlpDecodeError` for an OTLP body that cannot be decoded and
 * `ZipkinDecodeError` for a Zipkin one (a Zipkin request is refused whole, never in part).
 */
export function decodeRecord(format: LogFormat, body: Uint8Array): DecodedRecord {
  if (isZipkinFormat(format)) return { spans: decodeZipkinRecord(format, body), rejectedSpans: 0, errorMessage: '' };
  return format === LogFormat.OTLP_JSON ? decodeOtlpJson(body) : decodeOtlpProtobuf(body);
}

/**
 * `decodeRecord` a slice at a time, for the prepare worker: yields each slice's valid spans
 * (`decodeOtlpProtobufInSlices`, `decodeOtlpJsonInSlices`, `zipkinSpansInSlices`), returns the
 * verdict; throws as `decodeRecord`.
 */
export function decodeRecordInSlices(
  format: LogFormat,
  body: Buffer,
): Generator<readonly Span[], RequestVerdict, void> {
  if (isZipkinFormat(format)) return zipkinRecordInSlices(format, body);
  return format === LogFormat.OTLP_JSON ? decodeOtlpJsonInSlices(body) : decodeOtlpProtobufInSlices(body);
}

function* zipkinRecordInSlices(format: LogFormat, record: Buffer): Generator<readonly Span[], RequestVerdict, void> {
  const { body, encoding, receivedUnixNano } = readZipkinRecord(format, record);
  const { spans } = yield* zipkinSpansInSlices(body, encoding, receivedUnixNano);
  return { acceptedSpans: spans, rejectedSpans: 0, errorMessage: '' };
}
