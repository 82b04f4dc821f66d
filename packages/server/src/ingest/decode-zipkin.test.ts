import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type Span, spansToZipkin, unixNanos, type ZipkinSpan } from '@ariadne/core';
import { decodeRecord } from './decode-record.ts';
import {
  decodeZipkin,
  decodeZipkinRecord,
  ZIPKIN_RECORD_HEADROOM,
  ZipkinDecodeError,
  type ZipkinEncoding,
  zipkinRecord,
  zipkinSpansInSlices,
} from './decode-zipkin.ts';
import { readBody } from './http-body.ts';
import { IngestLog, LogFormat } from './ingest-log.ts';
import { workloadSpans } from './testdata/workload-spans.ts';
import { encodeZipkinProto, protoSpanOf } from './testdata/zipkin-proto-writer.ts';

const AT = unixNanos(1_760_000_000_000_000_000n);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Zipkin v2 spans of the benchmark workload (whole traces, at least `count` spans). */
function zipkinSpans(count: number): Mutable<ZipkinSpan>[] {
  return spansToZipkin(workloadSpans(17, count).spans).map((z) => ({ ...z }));
}

/**
 * How a v2 JSON list is read: parsed whole, or a piece at a time (`jsonListPieces`), which
 * `zipkinSpansInSlices` does from 2 MiB on and the tests ask for at any size.
 */
const READINGS = [
  ['parsed whole', Number.POSITIVE_INFINITY],
  ['parsed piecewise', 0],
] as const;

/** Runs the sliced conversion to its end, counting its pauses and keeping the spans they yield. */
function inSlices(
  body: Uint8Array,
  encoding: ZipkinEncoding,
  sliceSpans: number,
  piecewiseFrom: number = Number.POSITIVE_INFINITY,
) {
  const slices = zipkinSpansInSlices(body, encoding, AT, sliceSpans, piecewiseFrom);
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
    // A span without a timestamp takes its start from its trace's others, wherever they are:
    // before it, and after it (read piecewise, in pieces not yet parsed).
    delete spans[spans.length - 1].timestamp;
    const moved = spans.pop() as Mutable<ZipkinSpan>;
    spans.push(spans[0]);
    spans[0] = moved;
    const body = Buffer.from(JSON.stringify(spans));
    const expected = whole(body, 'json-v2');
    const placed = expected.find((s) => s.traceId === moved.traceId.padStart(32, '0') && s.spanId === moved.id);
    assert.ok(placed && placed.startTimeUnixNano !== AT, 'placed from its trace, not at the time received');
    for (const [reading, from] of READINGS) {
      const { conversion, pauses, yielded } = inSlices(body, 'json-v2', 37, from);
      assert.equal(conversion.spans, spans.length, reading);
      // Parsed whole, reading the list pauses too.
      const slices = Math.floor(spans.length / 37);
      assert.ok(pauses >= (from === 0 ? slices : 2 * slices), `${reading}: ${pauses} pauses`);
      assert.deepStrictEqual(sorted(yielded), expected, reading);
    }
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
        for (const [reading, from] of READINGS) {
          const { conversion, yielded } = inSlices(body, encoding, 300, from);
          assert.ok(yielded.length > 0, name);
          assert.equal(yielded.length, conversion.spans, name);
          assert.equal(records[i].format, encoding === 'proto3' ? LogFormat.ZIPKIN_PROTO3 : LogFormat.ZIPKIN_JSON_V2);
          const replayed = sorted(decodeRecord(records[i].format, records[i].body).spans);
          assert.deepStrictEqual(sorted(yielded), replayed, `${name}, ${reading}`);
        }
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

  it('builds the record around a body read with headroom, without copying it; any other body is copied', async () => {
    const text = JSON.stringify(zipkinSpans(40));
    for (const encoding of ['identity', 'gzip']) {
      const stream = new PassThrough();
      const read = readBody(stream, encoding, 1e9, { headroom: ZIPKIN_RECORD_HEADROOM });
      const sent = encoding === 'gzip' ? gzipSync(text) : Buffer.from(text);
      // In several chunks, as a socket delivers a large body.
      for (let at = 0; at < sent.length; at += 1000) stream.write(sent.subarray(at, at + 1000));
      stream.end();
      const body = await read;
      assert.equal(body.toString(), text, encoding);
      assert.equal(body.byteOffset, ZIPKIN_RECORD_HEADROOM);
      assert.equal(body.buffer.byteLength, ZIPKIN_RECORD_HEADROOM + body.byteLength, 'a buffer of its own');
      const record = zipkinRecord(body, 'json-v2', AT, { inHeadroom: true });
      assert.equal(record.body.buffer, body.buffer, 'in place');
      assert.deepEqual(record, zipkinRecord(Buffer.from(text), 'json-v2', AT));
      assert.deepStrictEqual(
        decodeRecord(record.format, record.body).spans,
        decodeZipkin(Buffer.from(text), 'json-v2', { receivedUnixNano: AT }),
      );
    }
    // Without the headroom, or without asking, the body is copied and left as it was.
    const view = Buffer.from(`12345678${text}`).subarray(ZIPKIN_RECORD_HEADROOM);
    const copied = zipkinRecord(view, 'json-v2', AT);
    assert.notEqual(copied.body.buffer, view.buffer);
    assert.equal(Buffer.from(view.buffer, 0, ZIPKIN_RECORD_HEADROOM).toString(), '12345678');
    const plain = Buffer.from(text);
    assert.notEqual(zipkinRecord(plain, 'json-v2', AT, { inHeadroom: true }).body.buffer, plain.buffer);
  });

  it('refuses what the whole conversion refuses, with the same message', () => {
    const spans = zipkinSpans(120);
    const bad = structuredClone(spans);
    bad[90].id = 'not-hex';
    const invalid = structuredClone(spans);
    invalid[100].duration = -5;
    // A span Zipkin cannot read early, and a v1 span late: the v1 span is what Zipkin names.
    const v1Late: unknown[] = structuredClone(spans);
    (v1Late[3] as Mutable<ZipkinSpan>).id = 'not-hex';
    v1Late[110] = { traceId: 'a'.repeat(16), id: 'b'.repeat(16), name: 'v1', binaryAnnotations: [] };
    const listed = JSON.stringify(spans);
    for (const [body, encoding] of [
      [JSON.stringify(bad), 'json-v2'],
      [JSON.stringify(invalid), 'json-v2'],
      [JSON.stringify(v1Late), 'json-v2'],
      // Broken JSON late in the list, an element missing, bytes after the list.
      [`${listed.slice(0, -200)}}}]`, 'json-v2'],
      [`${listed.slice(0, -1)},]`, 'json-v2'],
      [`${listed.slice(0, 2000)},,${listed.slice(2000 + listed.slice(2000).indexOf('{"traceId"'))}`, 'json-v2'],
      [`${listed} x`, 'json-v2'],
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
      for (const [reading, from] of READINGS) {
        assert.equal(
          failure(() => inSlices(bytes, encoding, 7, from)),
          refused,
          `${reading}: ${body.slice(0, 60)}`,
        );
      }
    }
    for (const [, from] of READINGS) {
      assert.deepEqual(inSlices(Buffer.from(' [ ] '), 'json-v2', 7, from).conversion, { spans: 0 });
      assert.deepEqual(inSlices(Buffer.from(''), 'json-v2', 7, from).conversion, { spans: 0 });
    }
  });
});
