import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Span, spansToZipkin, unixNanos, type ZipkinSpan } from '@ariadne/core';
import { decodeRecord } from './decode-record.ts';
import {
  decodeZipkin,
  decodeZipkinRecord,
  ZipkinDecodeError,
  type ZipkinEncoding,
  zipkinRecord,
  zipkinSpansInSlices,
} from './decode-zipkin.ts';
import { IngestLog, LogFormat } from './ingest-log.ts';
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
  const slices = zipkinSpansInSlices(body, encoding, AT, sliceSpans);
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

/** The spans of a whole request, as the receiver decodes it on its own thread, in a stable order. */
function whole(body: Uint8Array, encoding: ZipkinEncoding): Span[] {
  return sorted(decodeZipkin(body, encoding, { receivedUnixNano: AT }));
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
    const { conversion, pauses, yielded } = inSlices(body, 'json-v2', 37);
    assert.equal(conversion.spans, spans.length);
    assert.ok(pauses >= 2 * Math.floor(spans.length / 37), `${pauses} pauses`);
    assert.deepStrictEqual(sorted(yielded), whole(body, 'json-v2'));
    // proto3 (and v1 JSON) are read whole, then converted in slices alike.
    const proto = encodeZipkinProto(spans.map(protoSpanOf));
    assert.deepStrictEqual(sorted(inSlices(proto, 'proto3', 37).yielded), whole(proto, 'proto3'));
  });

  it("yields each slice's spans exactly as its ingest log record decodes (what a replay finds)", async () => {
    // The prepare worker prepares the yielded spans and never decodes the record the receiver
    // logs: a replay of that record must find the same spans, field for field and type for type.
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
    // Each request's record through a real log, closed and opened again, as a replay reads it.
    const dir = mkdtempSync(join(tmpdir(), 'ariadne-zipkin-records-'));
    try {
      const log = await IngestLog.open({ dir });
      for (const [, body, encoding] of bodies) {
        const record = zipkinRecord(body, encoding, AT);
        await log.append(record.format, record.body).durable;
      }
      await log.close();
      const again = await IngestLog.open({ dir });
      const records = [...again.records(0n)];
      await again.close();
      assert.equal(records.length, bodies.length);
      for (const [i, [name, body, encoding]] of bodies.entries()) {
        const { conversion, yielded } = inSlices(body, encoding, 300);
        assert.ok(yielded.length > 0, name);
        assert.equal(yielded.length, conversion.spans, name);
        assert.equal(records[i].format, encoding === 'proto3' ? LogFormat.ZIPKIN_PROTO3 : LogFormat.ZIPKIN_JSON_V2);
        assert.deepStrictEqual(sorted(yielded), sorted(decodeRecord(records[i].format, records[i].body).spans), name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the time a request was received in its record: a span with no time of its own replays alike', () => {
    const spans = zipkinSpans(3).slice(0, 1);
    delete spans[0].timestamp;
    delete spans[0].duration;
    const body = Buffer.from(JSON.stringify(spans));
    const later = unixNanos(AT + 5_000_000_000n);
    const [early] = decodeZipkinRecord(LogFormat.ZIPKIN_JSON_V2, zipkinRecord(body, 'json-v2', AT).body);
    const [late] = decodeZipkinRecord(LogFormat.ZIPKIN_JSON_V2, zipkinRecord(body, 'json-v2', later).body);
    assert.equal(early.startTimeUnixNano, AT);
    assert.equal(late.startTimeUnixNano, later);
    const v1 = zipkinRecord(Buffer.from('[]'), 'json-v1', AT);
    assert.equal(v1.format, LogFormat.ZIPKIN_JSON_V1);
    assert.deepEqual(decodeRecord(v1.format, v1.body).spans, []);
    assert.throws(
      () => decodeZipkinRecord(LogFormat.OTLP_JSON, v1.body),
      (e: Error) => e instanceof ZipkinDecodeError && /log format 2 is not a Zipkin format/.test(e.message),
    );
    assert.throws(
      () => decodeZipkinRecord(LogFormat.ZIPKIN_JSON_V2, Buffer.alloc(5)),
      /Zipkin record shorter than its received time/,
    );
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
      const refused = failure(() => decodeZipkin(bytes, encoding, { receivedUnixNano: AT }));
      assert.ok(refused, `refused whole: ${body.slice(0, 60)}`);
      assert.equal(
        failure(() => inSlices(bytes, encoding, 7)),
        refused,
      );
    }
    assert.deepEqual(inSlices(Buffer.from('[]'), 'json-v2', 7).conversion, { spans: 0 });
    assert.deepEqual(inSlices(Buffer.from(''), 'json-v2', 7).conversion, { spans: 0 });
  });
});
