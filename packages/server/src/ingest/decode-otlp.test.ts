import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SPAN_LIMITS } from '@ariadne/core';
import fc from 'fast-check';
import { otlpRequest, requestToJson, requestToProtobuf } from './decode-otlp.fuzz.ts';
import { decodeOtlpJson, decodeOtlpProtobuf, encodeExportResponseJson, OtlpDecodeError } from './decode-otlp.ts';
import { ExportTraceServiceRequest } from './otlp-proto-schema.ts';

/**
 * Protobuf against JSON: the same request sent in both encodings is accepted, rejected or refused
 * in the same way, with the same spans and the same partial-success message.
 */

const TRACE = new Uint8Array(16).fill(0xab);
const SPAN = new Uint8Array(8).fill(0xcd);
const TRACE_HEX = 'ab'.repeat(16);
const SPAN_HEX = 'cd'.repeat(8);

function protobuf(spans: object[], resourceAttributes: object[] = []): Uint8Array {
  const request = { resourceSpans: [{ resource: { attributes: resourceAttributes }, scopeSpans: [{ spans }] }] };
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish();
}
const pbSpan = (name: string, extra: object = {}) => ({
  traceId: TRACE,
  spanId: SPAN,
  name,
  startTimeUnixNano: 1,
  endTimeUnixNano: 2,
  ...extra,
});
const jsonSpan = (name: string, extra: object = {}) => ({
  traceId: TRACE_HEX,
  spanId: SPAN_HEX,
  name,
  startTimeUnixNano: '1',
  endTimeUnixNano: '2',
  ...extra,
});
const json = (spans: object[], resourceAttributes: object[] = []) =>
  new TextEncoder().encode(
    JSON.stringify({ resourceSpans: [{ resource: { attributes: resourceAttributes }, scopeSpans: [{ spans }] }] }),
  );

/** `bytes` with every `marker` (ASCII, as long as `replacement`) replaced by `replacement`. */
function replaced(bytes: Uint8Array, marker: string, replacement: number[]): Uint8Array {
  const out = Buffer.from(bytes);
  const needle = Buffer.from(marker, 'latin1');
  assert.equal(needle.length, replacement.length);
  for (let at = out.indexOf(needle); at >= 0; at = out.indexOf(needle, at + 1)) out.set(replacement, at);
  return out;
}

describe('OTLP decoding, protobuf against JSON', () => {
  it('keeps a span within SPAN_LIMITS alike in both encodings, counts what it dropped, and warns', () => {
    const attrs = (n: number, stringValue: (i: number) => unknown) =>
      Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: { stringValue: stringValue(i) } }));
    const over = SPAN_LIMITS.attributes + 976;
    const shape = (id: (hex: string, bytes: Uint8Array) => unknown) => ({
      attributes: attrs(over, (i) => `v${i}`),
      droppedAttributesCount: 3,
      events: Array.from({ length: SPAN_LIMITS.events + 5 }, (_, i) => ({
        name: `e${i}`,
        attributes: i === 0 ? attrs(SPAN_LIMITS.attributes + 2, () => 'x') : [],
      })),
      links: Array.from({ length: SPAN_LIMITS.links + 1 }, () => ({
        traceId: id(TRACE_HEX, TRACE),
        spanId: id(SPAN_HEX, SPAN),
      })),
    });
    const fromProtobuf = decodeOtlpProtobuf(
      protobuf([
        pbSpan(
          'wide',
          shape((_h, b) => b),
        ),
      ]),
    );
    const fromJson = decodeOtlpJson(
      json([
        jsonSpan(
          'wide',
          shape((h) => h),
        ),
      ]),
    );
    assert.deepStrictEqual(fromProtobuf, fromJson);
    const [span] = fromProtobuf.spans;
    assert.equal(span.attributes.length, SPAN_LIMITS.attributes);
    assert.equal(span.attributes.at(-1)?.key, `k${SPAN_LIMITS.attributes - 1}`, 'the first ones are kept');
    assert.equal(span.droppedAttributesCount, 3 + 976);
    assert.equal(span.events.length, SPAN_LIMITS.events);
    assert.equal(span.droppedEventsCount, 5);
    assert.equal(span.events[0].attributes.length, SPAN_LIMITS.attributes);
    assert.equal(span.events[0].droppedAttributesCount, 2);
    assert.equal(span.links.length, SPAN_LIMITS.links);
    assert.equal(span.droppedLinksCount, 1);
    assert.equal(fromProtobuf.rejectedSpans, 0);
    assert.match(fromProtobuf.errorMessage, /^984 attributes, events or links beyond 1024 per list were dropped/);
    // The warning reaches the sender: partial success with nothing rejected, as OTLP allows.
    assert.deepEqual(JSON.parse(encodeExportResponseJson(fromJson)), {
      partialSuccess: { rejectedSpans: '0', errorMessage: fromJson.errorMessage },
    });
    // Attributes dropped from a resource count once, in both encodings, however many spans share it.
    const wideResource = attrs(SPAN_LIMITS.attributes + 7, (i) => `r${i}`);
    const two = [pbSpan('a'), pbSpan('b', { spanId: new Uint8Array(8).fill(0xce) })];
    const twoJson = [jsonSpan('a'), jsonSpan('b', { spanId: 'ce'.repeat(8) })];
    const resourceFromProtobuf = decodeOtlpProtobuf(protobuf(two, wideResource));
    const resourceFromJson = decodeOtlpJson(json(twoJson, wideResource));
    assert.deepStrictEqual(resourceFromProtobuf, resourceFromJson);
    assert.equal(resourceFromJson.spans[0].resource.droppedAttributesCount, 7);
    assert.match(resourceFromJson.errorMessage, /^7 attributes, events or links beyond 1024 per list were dropped/);
    // Nothing over the limits: no warning.
    assert.equal(
      decodeOtlpProtobuf(protobuf([pbSpan('narrow', { attributes: attrs(3, () => 'v') })])).errorMessage,
      '',
    );
  });

  it('decodes 300 generated requests, valid and invalid, to the same result in both encodings', () => {
    fc.assert(
      fc.property(otlpRequest, (request) => {
        const r = request as { resourceSpans: Record<string, unknown>[] };
        assert.deepStrictEqual(decodeOtlpProtobuf(requestToProtobuf(r)), decodeOtlpJson(requestToJson(r)));
      }),
      { numRuns: 300, seed: 20261125 },
    );
  });

  it('rejects spans whose kind or status code OTLP does not define, through partial success', () => {
    // Before: protobuf stored 999 as 231 and -1 as 255; JSON took 999 and refused -1 with a 400.
    const cases = [
      ['kind 999', { kind: 999 }, 'span kind 999 is not one OTLP defines (0 to 5)'],
      ['kind -1', { kind: -1 }, 'span kind -1 is not one OTLP defines (0 to 5)'],
      ['kind 6', { kind: 6 }, 'span kind 6 is not one OTLP defines (0 to 5)'],
      ['status 3', { status: { code: 3 } }, 'status code 3 is not one OTLP defines (0 to 2)'],
      ['status -1', { status: { code: -1 } }, 'status code -1 is not one OTLP defines (0 to 2)'],
    ] as const;
    for (const [name, fields, reason] of cases) {
      const expected = { spans: [], rejectedSpans: 1, errorMessage: `span 1 (${name}): ${reason}` };
      const fromProtobuf = decodeOtlpProtobuf(protobuf([pbSpan('ok'), pbSpan(name, fields)]));
      const fromJson = decodeOtlpJson(json([jsonSpan('ok'), jsonSpan(name, fields)]));
      for (const result of [fromProtobuf, fromJson]) {
        assert.deepEqual(
          result.spans.map((s) => s.name),
          ['ok'],
          name,
        );
        assert.deepEqual({ ...result, spans: [] }, expected, name);
      }
    }
    const named = decodeOtlpJson(
      json([jsonSpan('named', { kind: 'SPAN_KIND_CONSUMER', status: { code: 'STATUS_CODE_ERROR' } })]),
    );
    assert.deepEqual([named.spans[0].kind, named.spans[0].status.code], [5, 2]);
  });

  it('refuses a kind that is no enum value at all, in JSON, as protobuf cannot carry one', () => {
    for (const kind of ['SPAN_KIND_NONE', 'constructor', '__proto__', 4294967295, 1.5, true]) {
      assert.throws(
        () => decodeOtlpJson(json([jsonSpan('x', { kind })])),
        (e: Error) => e instanceof OtlpDecodeError && /kind: expected one of SPAN_KIND_UNSPECIFIED/.test(e.message),
        String(kind),
      );
    }
  });

  it('rejects spans holding text that is not UTF-8, wherever it is, in both encodings alike', () => {
    // Before: protobuf stored U+FFFD in place of the bytes; JSON answered 400 for the whole request.
    const bad = [0xc3, 0x28, 0xff, 0xed]; // a cut-short sequence, a byte that never occurs, another cut short
    const placements: [string, (text: string) => object, string][] = [
      ['name', (t) => ({ name: t }), 'invalid UTF-8 in the name'],
      [
        'attribute',
        (t) => ({ attributes: [{ key: 'k', value: { stringValue: t } }] }),
        'invalid UTF-8 in attribute "k"',
      ],
      [
        'nested',
        (t) => ({ attributes: [{ key: 'k', value: { arrayValue: { values: [{ stringValue: t }] } } }] }),
        'invalid UTF-8 in attribute "k"',
      ],
      ['status', (t) => ({ status: { message: t } }), 'invalid UTF-8 in the status message'],
      ['event', (t) => ({ events: [{ name: t }] }), 'invalid UTF-8 in an event'],
      ['trace state', (t) => ({ traceState: t }), 'invalid UTF-8 in the trace state'],
    ];
    for (const [where, fields, reason] of placements) {
      const pb = replaced(protobuf([pbSpan('ok'), pbSpan('bad', fields('@@@@'))]), '@@@@', bad);
      const js = replaced(json([jsonSpan('ok'), jsonSpan('bad', fields('@@@@'))]), '@@@@', bad);
      // A name that is not UTF-8 is shown with a replacement character for each bad byte.
      const shown = where === 'name' ? '\uFFFD(\uFFFD\uFFFD' : 'bad';
      const expected = { rejectedSpans: 1, errorMessage: `span 1 (${shown}): ${reason}` };
      for (const result of [decodeOtlpProtobuf(pb), decodeOtlpJson(js)]) {
        assert.deepEqual(
          result.spans.map((s) => s.name),
          ['ok'],
          where,
        );
        assert.deepEqual({ rejectedSpans: result.rejectedSpans, errorMessage: result.errorMessage }, expected, where);
      }
    }
  });

  it('rejects every span of a resource whose text is not UTF-8, and the next request is not affected', () => {
    const attributes = (t: string) => [{ key: 'service.name', value: { stringValue: t } }];
    const bad = replaced(protobuf([pbSpan('a'), pbSpan('b')], attributes('@@')), '@@', [0xc0, 0x80]);
    const result = decodeOtlpProtobuf(bad);
    assert.equal(result.rejectedSpans, 2);
    assert.match(result.errorMessage, /span 0 \(a\): invalid UTF-8 in the resource/);
    // The decoder keeps resources it has seen: one that was not UTF-8 must not be kept and reused.
    assert.equal(decodeOtlpProtobuf(bad).rejectedSpans, 2);
    assert.equal(decodeOtlpProtobuf(protobuf([pbSpan('c')], attributes('@@'))).rejectedSpans, 0);
  });

  it('rejects a lone surrogate escape in JSON as text that is not UTF-8', () => {
    const result = decodeOtlpJson(
      json([jsonSpan('ok'), jsonSpan('lone', { attributes: [{ key: 'k', value: { stringValue: '\ud800' } }] })]),
    );
    assert.deepEqual(
      result.spans.map((s) => s.name),
      ['ok'],
    );
    assert.equal(result.errorMessage, 'span 1 (lone): invalid UTF-8 in attribute "k"');
    const pair = decodeOtlpJson(json([jsonSpan('emoji \ud83d\ude00')]));
    assert.equal(pair.spans[0].name, 'emoji 😀', 'an escaped surrogate pair is a character');
  });

  it('refuses JSON whose bytes are not UTF-8 outside a string, and bad bytes after a backslash', () => {
    const outside = replaced(new TextEncoder().encode('{"resourceSpans": []}  @'), '@', [0xff]);
    assert.throws(() => decodeOtlpJson(outside), /invalid JSON: byte 23 is not UTF-8 and not inside a string/);
    const escaped = replaced(json([jsonSpan('a@b')]), '@', [0xff]);
    escaped[escaped.indexOf(0xff) - 1] = 0x5c; // "a\<ff>b": an invalid escape, not text to keep
    assert.throws(() => decodeOtlpJson(escaped), OtlpDecodeError);
  });

  it('refuses JSON that JSON.parse refuses, though it has long integer literals', () => {
    // Before: long literals were quoted wherever they were, which made these valid.
    for (const text of [
      '{1234567890123456: 1}',
      '{"resourceSpans": [], "n": 00000000000000001}',
      '{"resourceSpans": [], "n": -00000000000000001}',
      '{"resourceSpans": [] 1234567890123456}',
    ]) {
      assert.throws(() => decodeOtlpJson(new TextEncoder().encode(text)), /invalid JSON/, text);
    }
    const exact = decodeOtlpJson(
      new TextEncoder().encode(
        `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_HEX}","spanId":"${SPAN_HEX}",` +
          '"startTimeUnixNano":1764079200000000001,"endTimeUnixNano": 1764079200000000002}]}]}]}',
      ),
    );
    assert.deepEqual(
      [exact.spans[0].startTimeUnixNano, exact.spans[0].endTimeUnixNano],
      [1764079200000000001n, 1764079200000000002n],
    );
  });
});
