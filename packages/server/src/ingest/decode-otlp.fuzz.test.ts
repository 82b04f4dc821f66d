import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { checkDecoder, decoderFuzzTargets } from './decode-otlp.fuzz.ts';
import { decodeOtlpJson, decodeOtlpProtobuf, spansFromOtlpProtobuf } from './decode-otlp.ts';

/**
 * The decoder fuzz targets with a few hundred inputs each (`npm run fuzz` runs a million), the
 * inputs they once failed on, and the memory a decoder may take for a given input.
 */

describe('OTLP decoders under fuzzing', () => {
  for (const target of decoderFuzzTargets()) {
    it(target.name, () => {
      fc.assert(target.property, { numRuns: 200 });
    });
  }
});

// `gc` for a test: the flag set at run time, the function taken from a fresh context.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 127; n >>>= 7) out.push((n & 127) | 128);
  out.push(n);
  return out;
}
/** A length-delimited field `field` holding `body`. */
function field(number: number, body: Uint8Array): Uint8Array {
  return Uint8Array.from([(number << 3) | 2, ...varint(body.length), ...body]);
}
function repeated(unit: number[], times: number): Uint8Array {
  const out = new Uint8Array(unit.length * times);
  for (let i = 0; i < times; i++) out.set(unit, i * unit.length);
  return out;
}
/** A trace id (field 1) and a span id (field 2): the least a valid span holds. */
const IDS = [0x0a, 16, ...new Array(16).fill(1), 0x12, 8, ...new Array(8).fill(2)];
/** One valid span holding `rest` too, in a request. */
function inValidSpan(rest: Uint8Array): Uint8Array {
  return field(1, field(2, field(2, Uint8Array.from([...IDS, ...rest]))));
}

/** Heap still held by what `decode` returns, per input byte. */
function heldPerByte(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = decode(bytes);
  gc();
  const held = process.memoryUsage().heapUsed - before;
  assert.ok(kept !== undefined);
  return held / bytes.length;
}

describe('OTLP decoders: memory for what an input says', () => {
  const MIB = 1 << 20;

  it('allocates nothing for huge declared lengths, at every level', () => {
    const huge = [0xff, 0xff, 0xff, 0xff, 0x0f];
    const bombs = [
      [0x0a, ...huge],
      [...field(1, Uint8Array.from([0x12, ...huge]))],
      [...field(1, field(2, Uint8Array.from([0x12, ...huge])))],
      [...field(1, field(2, field(2, Uint8Array.from([0x4a, ...huge]))))],
      [...field(1, field(2, field(2, Uint8Array.from([0x2a, ...huge]))))],
    ];
    for (const bomb of bombs) {
      gc();
      const before = process.memoryUsage().heapUsed;
      checkDecoder(decodeOtlpProtobuf, Uint8Array.from(bomb));
      gc();
      assert.ok(process.memoryUsage().heapUsed - before < MIB, `${bomb}`);
    }
  });

  it('keeps no span object from a request of empty, invalid spans (it held 128 bytes a byte)', () => {
    const request = field(1, field(2, repeated([0x12, 0x00], MIB / 2)));
    const result = decodeOtlpProtobuf(request);
    assert.equal(result.rejectedSpans, MIB / 2);
    assert.ok(heldPerByte(decodeOtlpProtobuf, request) < 1);
    const json = new TextEncoder().encode(
      `{"resourceSpans":[{"scopeSpans":[{"spans":[${'{},'.repeat(100_000)}{}]}]}]}`,
    );
    assert.ok(heldPerByte(decodeOtlpJson, json) < 1);
  });

  it('holds at most 48 bytes of decoded spans for each byte of input, however it is made', () => {
    // The smallest things that each become an object: empty events, links, attributes, values.
    // An empty link (2 bytes) is an object of six fields, the most: 42 bytes a byte.
    const worst = {
      'valid spans': field(1, field(2, repeated([...field(2, Uint8Array.from(IDS))], 20_000))),
      events: inValidSpan(repeated([0x5a, 0x00], MIB / 4)),
      links: inValidSpan(repeated([0x6a, 0x00], MIB / 4)),
      attributes: inValidSpan(repeated([0x4a, 0x00], MIB / 4)),
      'array values': inValidSpan(field(9, field(2, field(5, repeated([0x0a, 0x00], MIB / 4))))),
      'kvlist values': inValidSpan(field(9, field(2, field(6, repeated([0x0a, 0x00], MIB / 4))))),
    };
    for (const [name, bytes] of Object.entries(worst)) {
      assert.equal(spansFromOtlpProtobuf(bytes).length > 0, true, name);
      const perByte = heldPerByte(decodeOtlpProtobuf, bytes);
      assert.ok(perByte < 48, `${name}: ${perByte.toFixed(1)} bytes held per input byte`);
    }
  });
});
