import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
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

/** Runs the sliced conversion to its end, counting its pauses and keeping the spans they yield. */
function inSlices(body: Uint8Array, encoding: ZipkinEncoding, sliceSpans: number) {
  const slices = zipkinToOtlpJsonInSlices(body, encoding, AT, sliceSpans);
  let pauses = 0;
  const yielded: Span[] = [];
  let next = slices.next();
  for (; !next.done; next = slices.next()) {
    pauses++;
    yielded.push(...next.value);
  }
  return { conversion: next.value, pauses, yielded };
}

/** Spans in a stable order (a Zipkin span's client and server halves share an id). */
function sorted(spans: Span[]): Span[] {
  const key = (s: Span) => `${s.traceId}${s.spanId}${s.kind}${s.startTimeUnixNano}`;
  return spans.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The spans an OTLP/JSON conversion holds, in a stable order. */
function spansOf(conversion: ZipkinConversion): Span[] {
  assert.ok(conversion.body);
  const decoded = decodeOtlpJson(conversion.body);
  assert.equal(decoded.rejectedSpans, 0, decoded.errorMessage);
  return sorted(decoded.spans);
}

const fixtures = new URL('../../../../fixtures/zipkin/', import.meta.url);

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

  it("yields each slice's spans exactly as its OTLP/JSON decodes (what the ingest log replays)", () => {
    // The prepare worker prepares the yielded spans and never decodes the OTLP/JSON it logs: a
    // replay of that record must find the same spans, field for field and type for type.
    const bodies: [string, Uint8Array, ZipkinEncoding][] = readdirSync(fixtures)
      .filter((f) => f.endsWith('.json'))
      .map((f) => [f, readFileSync(new URL(f, fixtures)), 'json-v2']);
    assert.ok(bodies.length >= 10, `${bodies.length} fixtures`);
    const spans = zipkinSpans(2500);
    spans[3].tags = { ...spans[3].tags, 'n.int': '12', 'n.float': '1.5', empty: '', 'text.utf8': 'zürich ✓' };
    spans[4].annotations = [{ timestamp: spans[4].timestamp as number, value: 'retry' }];
    delete spans[5].timestamp;
    delete spans[6].localEndpoint;
    bodies.push(['workload', Buffer.from(JSON.stringify(spans)), 'json-v2']);
    bodies.push(['workload proto3', encodeZipkinProto(spans.map(protoSpanOf)), 'proto3']);
    for (const [name, body, encoding] of bodies) {
      const { conversion, yielded } = inSlices(body, encoding, 300);
      assert.ok(yielded.length > 0, name);
      assert.equal(yielded.length, conversion.spans, name);
      assert.deepStrictEqual(sorted(yielded), spansOf(conversion), name);
    }
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
