import type { Span } from '@ariadne/core';
import { generateTrace, makeWorkload, toExportRequest } from '../../../bench/workload.ts';
import { decodeOtlpProtobuf } from '../decode-otlp.ts';
import { ExportTraceServiceRequest } from '../otlp-proto-schema.ts';

/**
 * Spans of the benchmark workload (bench/workload.ts: about twenty attributes a span, several
 * services), whole traces of at least `count` spans in all, from `seed`: as an OTLP protobuf
 * request, and decoded.
 */
export function workloadSpans(seed: number, count: number): { protobuf: Uint8Array; spans: Span[] } {
  const w = makeWorkload(seed);
  let generated: ReturnType<typeof generateTrace> = [];
  while (generated.length < count) generated = generated.concat(generateTrace(w, 1_750_000_000_000 + generated.length));
  const protobuf = ExportTraceServiceRequest.encode(
    ExportTraceServiceRequest.fromObject(toExportRequest(generated)),
  ).finish();
  return { protobuf, spans: decodeOtlpProtobuf(protobuf).spans };
}
