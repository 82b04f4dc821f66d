import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Span, spansToZipkin, unixNanos, type ZipkinSpan } from '@ariadne/core';
import { decodeOtlpJson } from './decode-otlp.ts';
import {
  type ZipkinConversion,
  type ZipkinEncoding,
  zipkinToOtlpJson,
  zipkinToOtlpJsonInSlices,
} from './decode-zipkin.ts';
import { workloadSpans } from './testdata/workload-spans.ts';
import { encodeZipkinProto, protoSpanOf } from './testdata/zipkin-proto-writer.ts';

const AT = unixNanos(1_760_000_000_000_000_000n);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Zipkin v2 spans of the benchmark workload (whole traces, at least `count` spans). */
function zipkinSpans(count: number): Mutable<ZipkinSpan>[] {
  return spansToZipkin(workloadSpans(17, count).spans).map((z) => ({ ...z }));
}

/** Runs the sliced conversion to its end, counting its pauses. */
function inSlices(body: Uint8Array, encoding: ZipkinEncoding, sliceSpans: number) {
  const slices = zipkinToOtlpJsonInSlices(body, encoding, AT, sliceSpans);
  let pauses = 0;
  let next = slices.next();
  for (; !next.done; next = slices.next()) pauses++;
  return { conversion: next.value, pauses };
}

/** The spans an OTLP/JSON conversion holds, in a stable order. */
function spansOf(conversion: ZipkinConversion): Span[] {
  assert.ok(conversion.body);
  return decodeOtlpJson(conversion.body).spans.sort((a, b) => (a.spanId + a.traceId < b.spanId + b.traceId ? -1 : 1));
}

/** The error a conversion throws (its message), or undefined. */
function failure(convert: () => unknown): string | undefined {
  try {
    convert();
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
  return undefined;
}

describe('Zipkin requests converted in slices', () => {
  it('gives the spans of the whole conversion, with a pause every slice', () => {
    const spans = zipkinSpans(500);
    // A span without a timestamp takes its start from its trace's others, wherever they are.
    delete spans[spans.length - 1].timestamp;
    const body = Buffer.from(JSON.stringify(spans));
    const whole = zipkinToOtlpJson(body, 'json-v2', AT);
    const { conversion, pauses } = inSlices(body, 'json-v2', 37);
    assert.equal(conversion.spans, spans.length);
    assert.ok(pauses >= 2 * Math.floor(spans.length / 37), `${pauses} pauses`);
    assert.deepEqual(spansOf(conversion), spansOf(whole));
    // proto3 (and v1 JSON) are read whole, then converted in slices alike.
    const proto = encodeZipkinProto(spans.map(protoSpanOf));
    assert.deepEqual(spansOf(inSlices(proto, 'proto3', 37).conversion), spansOf(zipkinToOtlpJson(proto, 'proto3', AT)));
  });

  it('refuses what the whole conversion refuses, with the same message', () => {
    const spans = zipkinSpans(120);
    const bad = structuredClone(spans);
    bad[90].id = 'not-hex';
    const invalid = structuredClone(spans);
    invalid[100].duration = -5;
    for (const [body, encoding] of [
      [JSON.stringify(bad), 'json-v2'],
      [JSON.stringify(invalid), 'json-v2'],
      ['[{"traceId": ', 'json-v2'],
      ['{"not": "a list"}', 'json-v2'],
      [
        JSON.stringify([
          { traceId: 'a'.repeat(16), id: 'b'.repeat(16), name: 'v1', annotations: [], binaryAnnotations: [] },
        ]),
        'json-v2',
      ],
      [JSON.stringify(spans), 'json-v1'],
    ] as const) {
      const bytes = Buffer.from(body);
      const whole = failure(() => zipkinToOtlpJson(bytes, encoding, AT));
      assert.ok(whole, `refused whole: ${body.slice(0, 60)}`);
      assert.equal(
        failure(() => inSlices(bytes, encoding, 7)),
        whole,
      );
    }
    assert.deepEqual(inSlices(Buffer.from('[]'), 'json-v2', 7).conversion, { spans: 0 });
    assert.deepEqual(inSlices(Buffer.from(''), 'json-v2', 7).conversion, { spans: 0 });
  });
});
