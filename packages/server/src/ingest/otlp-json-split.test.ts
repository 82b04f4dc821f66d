import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spansToTracesData } from '@ariadne/core';
import { sameInSlices } from './decode-otlp.fuzz.ts';
import { decodeOtlpJson, decodeOtlpJsonInSlices, OtlpDecodeError } from './decode-otlp.ts';
import { splitOtlpJson } from './otlp-json-split.ts';
import { workloadSpans } from './testdata/workload-spans.ts';

const ID = (n: number, width: number) => n.toString(16).padStart(width, '0');
/** An OTLP/JSON span with `name`, in trace 1. */
const span = (n: number, name = `op ${n}`) => ({
  traceId: ID(1, 32),
  spanId: ID(n, 16),
  name,
  kind: 2,
  startTimeUnixNano: '1750000000000000000',
  endTimeUnixNano: '1750000000001000000',
});

/** The elements of every span array of `text`, parsed. */
function elements(text: string) {
  const split = splitOtlpJson(text);
  assert.ok(split, 'split');
  return split.arrays.map((a) => a.starts.map((start, i) => JSON.parse(text.slice(start, a.ends[i]))));
}

describe('splitOtlpJson', () => {
  it('finds every span of every scope, and leaves the rest as the skeleton', () => {
    const request = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'a' } }] },
          scopeSpans: [
            { scope: { name: 's0' }, spans: [span(1), span(2)] },
            // The scope after its spans, and an empty list.
            { spans: [span(3)], scope: { name: 's1' } },
            { scope: { name: 's2' }, spans: [] },
          ],
        },
        { scopeSpans: [{ spans: [span(4)] }], resource: { attributes: [] } },
      ],
    };
    const text = JSON.stringify(request, null, 1);
    const split = splitOtlpJson(text);
    assert.ok(split);
    assert.deepEqual(
      split.arrays.map((a) => [a.resourceIndex, a.scopeIndex]),
      [
        [0, 0],
        [0, 1],
        [0, 2],
        [1, 0],
      ],
    );
    assert.deepEqual(elements(text), [[span(1), span(2)], [span(3)], [], [span(4)]]);
    const emptied = structuredClone(request);
    for (const rs of emptied.resourceSpans) for (const ss of rs.scopeSpans) ss.spans = [];
    assert.deepEqual(JSON.parse(split.skeleton), emptied);
  });

  it('skips strings whole: quotes, backslashes and brackets inside them', () => {
    const names = ['a"b', 'back\\', '\\"]}', '[{', '}]', 'ü\u2028\\u0022'];
    const text = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: names.map((n, i) => span(i + 1, n)) }] }] });
    assert.deepEqual(
      elements(text)[0].map((s) => s.name),
      names,
    );
  });

  it('follows escaped keys as JSON.parse reads them', () => {
    const text = '{"resourceSpans":[{"scopeSpans":[{"sp\\u0061ns":[{"name":"x"}]}]}]}';
    assert.deepEqual(elements(text), [[{ name: 'x' }]]);
  });

  it('gives up where JSON.parse would keep the last of a duplicated key, or on broken structure', () => {
    for (const text of [
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"}],"spans":null}]}]}',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[],"sp\\u0061ns":[]}]}]}',
      '{"resourceSpans":[{"scopeSpans":[]}],"resourceSpans":[]}',
      '{"resourceSpans":[{"scopeSpans":[],"scopeSpans":[]}]}',
      // A comma missing between two spans, or one too many: never seen by a slice's JSON.parse.
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"} {"name":"b"}]}]}]}',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"},,{"name":"b"}]}]}]}',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"}x{"name":"b"}]}]}]}',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"}]}]}]} trailing',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a',
    ]) {
      assert.equal(splitOtlpJson(text), undefined, text);
    }
  });
});

describe('decodeOtlpJsonInSlices', () => {
  /** A request of at least `count` benchmark spans (whole traces), as OTLP/JSON. */
  const jsonRequest = (count: number) => Buffer.from(JSON.stringify(spansToTracesData(workloadSpans(5, count).spans)));

  it('parses a huge request a slice at a time, to the spans and verdict of decoding it whole', () => {
    const body = jsonRequest(3_000);
    const sliceBytes = 256 * 1024;
    assert.ok(body.length > 8 * sliceBytes, `${body.length} bytes`);
    const slices = decodeOtlpJsonInSlices(body, sliceBytes);
    const sizes: number[] = [];
    const spans = [];
    let next = slices.next();
    for (; !next.done; next = slices.next()) {
      sizes.push(next.value.length);
      spans.push(...next.value);
    }
    const whole = decodeOtlpJson(body);
    assert.deepEqual(spans, whole.spans);
    assert.deepEqual(next.value, { acceptedSpans: whole.spans.length, rejectedSpans: 0, errorMessage: '' });
    // A pause before the first slice, then slices of at most `sliceBytes` of text each.
    assert.equal(sizes[0], 0);
    const perSpan = body.length / whole.spans.length;
    assert.ok(sizes.length >= body.length / sliceBytes, `${sizes.length} slices`);
    assert.ok(Math.max(...sizes) <= sliceBytes / perSpan + 1, `largest slice ${Math.max(...sizes)} spans`);
  });

  it('refuses a broken huge request with the message of decoding it whole', () => {
    const text = jsonRequest(600).toString();
    const at = text.lastIndexOf('"name":');
    const broken = Buffer.from(`${text.slice(0, at)}"name" ${text.slice(at + 7)}`);
    assert.throws(() => decodeOtlpJson(broken), OtlpDecodeError);
    const message = (() => {
      try {
        decodeOtlpJson(broken);
      } catch (error) {
        return (error as Error).message;
      }
    })();
    assert.throws(() => [...decodeOtlpJsonInSlices(broken, 4096)], { name: 'OtlpDecodeError', message });
  });

  it('decodes alike whole and in slices: invalid spans, type errors, a text it does not split', () => {
    const texts = [
      // An invalid span id among valid ones: partial success.
      { resourceSpans: [{ scopeSpans: [{ spans: [span(1), { ...span(2), spanId: 'zz' }, span(3)] }] }] },
      // A span field of the wrong type after valid spans; a scope of the wrong type.
      { resourceSpans: [{ scopeSpans: [{ spans: [span(1), { ...span(2), name: 5 }] }] }] },
      { resourceSpans: [{ scopeSpans: [{ scope: 7, spans: [span(1)] }] }] },
      { resourceSpans: [{ scopeSpans: [{ spans: 'none' }] }] },
    ].map((r) => JSON.stringify(r));
    texts.push('{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"}],"spans":null}]}]}');
    for (const text of texts) for (const slice of [1, 40, 1 << 20]) sameInSlices(Buffer.from(text), slice);
  });
});
