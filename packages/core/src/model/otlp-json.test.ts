import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  OtlpJsonError,
  parseOtlpJsonText,
  spanFromApiJson,
  spansFromOtlpJson,
  spansToApiJson,
  spansToApiJsonText,
  spansToTracesData,
  spanToApiJson,
} from './otlp-json.ts';
import { validateSpans } from './validate.ts';

const request = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'order' } }] },
      scopeSpans: [
        {
          scope: { name: 'shop', version: '1.0' },
          spans: [
            {
              traceId: '5B8EFFF798038103D269B633813FC60C',
              spanId: 'EEE19B7EC3C1B174',
              parentSpanId: '',
              name: 'save_order',
              kind: 2,
              startTimeUnixNano: '1544712660000000001',
              endTimeUnixNano: '1544712661000000001',
              events: [{ timeUnixNano: 1544712660500000, name: 'retry' }],
              attributes: [
                { key: 'big', value: { intValue: '9007199254740993' } },
                { key: 'neg', value: { intValue: -5 } },
                { key: 'nan', value: { doubleValue: 'NaN' } },
                { key: 'raw', value: { bytesValue: 'AAEC/w==' } },
                {
                  key: 'nested',
                  value: {
                    kvlistValue: {
                      values: [{ key: 'a', value: { arrayValue: { values: [{ boolValue: true }, {}] } } }],
                    },
                  },
                },
              ],
              status: { code: 2, message: 'db timeout' },
              unknownField: 'ignored',
            },
          ],
        },
      ],
    },
  ],
};

describe('OTLP JSON', () => {
  it('decodes hex ids, int64 as string or number, NaN, bytes and nested values exactly', () => {
    const [span] = spansFromOtlpJson(request);
    assert.equal(span.traceId, '5b8efff798038103d269b633813fc60c');
    assert.equal(span.serviceName, 'order');
    assert.equal(span.startTimeUnixNano, 1544712660000000001n);
    assert.equal(span.endTimeUnixNano, 1544712661000000001n);
    assert.equal(span.events[0].timeUnixNano, 1544712660500000n);
    assert.deepEqual(span.attributes[0].value, { type: 'int', value: 9007199254740993n });
    assert.deepEqual(span.attributes[1].value, { type: 'int', value: -5n });
    assert.ok(span.attributes[2].value.type === 'double' && Number.isNaN(span.attributes[2].value.value));
    assert.deepEqual(span.attributes[3].value, { type: 'bytes', value: new Uint8Array([0, 1, 2, 255]) });
    assert.equal(span.status.code, 2);
  });

  it('round-trips through the API encoding and TracesData', () => {
    const spans = spansFromOtlpJson(request);
    const api = JSON.parse(JSON.stringify(spans.map(spanToApiJson)));
    const shared = [...spans, { ...spans[0], spanId: '0000000000000009' }];
    assert.deepEqual(
      spansToApiJson(shared),
      shared.map(spanToApiJson),
      'the batch form encodes each span the same way',
    );
    assert.equal(
      spansToApiJsonText(shared),
      JSON.stringify(spansToApiJson(shared)),
      'the text form is the same JSON, character for character',
    );
    assert.deepEqual(
      api.map((s: unknown) => spanFromApiJson(s)),
      spans,
    );
    const again = spansFromOtlpJson(JSON.parse(JSON.stringify(spansToTracesData(spans))));
    assert.deepEqual(again, spans);
  });

  it('names the path of a field that cannot be decoded', () => {
    const bad = structuredClone(request) as { resourceSpans: { scopeSpans: { spans: { spanId: string }[] }[] }[] };
    bad.resourceSpans[0].scopeSpans[0].spans[0].spanId = '7uGbfsPBsXQ=';
    assert.throws(
      () => spansFromOtlpJson(bad),
      (e: Error) => {
        assert.ok(e instanceof OtlpJsonError);
        assert.match(e.message, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.spanId: ids must be hex/);
        return true;
      },
    );
    assert.throws(() => spansFromOtlpJson({ resourceSpans: {} }), /resourceSpans: expected an array/);
    assert.throws(
      () => spansFromOtlpJson({ resourceSpans: [{ scopeSpans: [{ spans: [{ startTimeUnixNano: 1.5 }] }] }] }),
      /startTimeUnixNano/,
    );
  });

  it('rejects spans with a wrong id length, all-zero ids or an end before the start', () => {
    const base = spansFromOtlpJson(request)[0];
    const result = validateSpans([
      base,
      { ...base, traceId: base.traceId.slice(2) },
      { ...base, spanId: '0000000000000000' },
      { ...base, endTimeUnixNano: base.startTimeUnixNano - 1n } as typeof base,
      { ...base, parentSpanId: '0000000000000000' },
    ]);
    assert.equal(result.spans.length, 2);
    assert.equal(result.spans[1].parentSpanId, '');
    assert.equal(result.rejectedSpans, 3);
    assert.match(result.errorMessage, /span 1 .*trace id must be 16 bytes, got 15/);
    assert.match(result.errorMessage, /span 2 .*span id is all zeros/);
    assert.match(result.errorMessage, /span 3 .*end time is before start time/);
  });

  it('rejects ids with anything but lowercase hex digits, at either end of the digit ranges', () => {
    const base = spansFromOtlpJson(request)[0];
    const bad = ['/', ':', '`', 'g', 'A', 'F', ' '];
    const result = validateSpans([
      ...bad.map((c) => ({ ...base, traceId: `${c}${base.traceId.slice(1)}` })),
      ...bad.map((c) => ({ ...base, spanId: `${base.spanId.slice(0, 15)}${c}` })),
      ...bad.map((c) => ({ ...base, parentSpanId: `${c}${'1'.repeat(15)}` })),
      {
        ...base,
        traceId: '0123456789abcdef0123456789abcdef',
        spanId: '9a0f9a0f9a0f9a0f',
        parentSpanId: 'fedcba9876543210',
      },
    ]);
    assert.equal(result.rejectedSpans, bad.length * 3);
    assert.equal(result.spans.length, 1);
  });

  it('decodes enums by name or as any int32, and refuses the rest naming the names', () => {
    const kindOf = (kind: unknown) =>
      spansFromOtlpJson({ resourceSpans: [{ scopeSpans: [{ spans: [{ kind }] }] }] })[0].kind;
    assert.equal(kindOf('SPAN_KIND_CLIENT'), 3);
    assert.equal(kindOf(999), 999, 'decoded, then rejected by validateSpans, as from protobuf');
    assert.equal(kindOf(-1), -1);
    assert.equal(kindOf('-2147483648'), -(2 ** 31));
    // Before: `"constructor" in names` was true, and the kind became the Object function.
    for (const bad of ['constructor', '__proto__', 'toString', 'SPAN_KIND_NONE', 2 ** 31, 1.5, '1e3', [], {}]) {
      assert.throws(
        () => kindOf(bad),
        /kind: expected one of SPAN_KIND_UNSPECIFIED, .* or a 32-bit integer/,
        String(bad),
      );
    }
  });

  it('rejects span kinds and status codes OTLP does not define', () => {
    const base = spansFromOtlpJson(request)[0];
    const result = validateSpans([
      { ...base, kind: 6 },
      { ...base, kind: -1 },
      { ...base, status: { code: 3, message: '' } },
      { ...base, kind: 5, status: { code: 2, message: '' } },
    ]);
    assert.equal(result.spans.length, 1);
    assert.equal(
      result.errorMessage,
      'span 0 (save_order): span kind 6 is not one OTLP defines (0 to 5); ' +
        'span 1 (save_order): span kind -1 is not one OTLP defines (0 to 5); ' +
        'span 2 (save_order): status code 3 is not one OTLP defines (0 to 2)',
    );
  });

  it('rejects spans holding lone surrogates when asked to check text, anywhere in the span', () => {
    const base = spansFromOtlpJson(request)[0];
    const lone = '\udcff';
    const spans = [
      { ...base, name: `a${lone}` },
      {
        ...base,
        attributes: [
          { key: 'k', value: { type: 'kvlist' as const, value: [{ key: lone, value: { type: 'empty' as const } }] } },
        ],
      },
      { ...base, resource: { ...base.resource, schemaUrl: lone } },
      { ...base, name: 'pair \ud83d\ude00' },
    ];
    assert.equal(validateSpans(spans).rejectedSpans, 0, 'text is not checked unless asked');
    const result = validateSpans(spans, { checkText: true });
    assert.deepEqual(
      result.spans.map((s) => s.name),
      ['pair 😀'],
    );
    assert.equal(
      result.errorMessage,
      'span 0 (a\uFFFD): invalid UTF-8 in the name; span 1 (save_order): invalid UTF-8 in attribute "k"; ' +
        'span 2 (save_order): invalid UTF-8 in the resource',
    );
  });

  it('refuses what JSON.parse refuses, though long integer literals are quoted', () => {
    for (const text of [
      '{1234567890123456: 1}',
      '{"a": 00000000000000001}',
      '[-0000000000000000001]',
      '["a" 1234567890123456]',
    ]) {
      assert.throws(() => parseOtlpJsonText(text), SyntaxError, text);
    }
    assert.deepEqual(parseOtlpJsonText('[1234567890123456, -12345678901234567]'), [
      '1234567890123456',
      '-12345678901234567',
    ]);
  });

  it('keeps large integer literals exact and leaves strings and doubles alone', () => {
    const text =
      '{"a":1152921504606846977,"b":-9223372036854775808,"c":"12345678901234567890","d":1.5e300,"e":1234567890123456.0,"f":"x\\"1234567890123456789"}';
    assert.deepEqual(parseOtlpJsonText(text), {
      a: '1152921504606846977',
      b: '-9223372036854775808',
      c: '12345678901234567890',
      d: 1.5e300,
      e: 1234567890123456,
      f: 'x"1234567890123456789',
    });
  });
});
