import assert from 'node:assert/strict';
import { Buffer, isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeUtf8Escaping, escapeInvalidUtf8InJson, utf8SequenceLength } from './decode-otlp-utf8.ts';

/** Undoes `decodeUtf8Escaping`: each lone surrogate U+DC80..U+DCFF back to its byte. */
function unescapeBytes(text: string): Uint8Array {
  const parts: Buffer[] = [];
  for (const piece of text.split(/([\uDC80-\uDCFF])/u)) {
    if (piece.length === 1 && piece.charCodeAt(0) >= 0xdc80 && piece.charCodeAt(0) <= 0xdcff) {
      parts.push(Buffer.from([piece.charCodeAt(0) - 0xdc00]));
    } else parts.push(Buffer.from(piece));
  }
  return Buffer.concat(parts);
}

describe('UTF-8 that is not', () => {
  it('judges every sequence as Node does (all of two bytes, random ones of three and four)', () => {
    const valid = (bytes: number[]) => {
      const b = Uint8Array.from(bytes);
      let i = 0;
      while (i < b.length) {
        const n = utf8SequenceLength(b, i, b.length);
        if (n === 0) return false;
        i += n;
      }
      return true;
    };
    for (let a = 0; a < 256; a++)
      for (let b = 0; b < 256; b++) assert.equal(valid([a, b]), isUtf8(Uint8Array.from([a, b])), `${a} ${b}`);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 3, maxLength: 4 }), (b) => assert.equal(valid([...b]), isUtf8(b))),
      { numRuns: 20_000 },
    );
  });

  it('decodes valid runs as text and each bad byte as a lone surrogate, losing nothing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const text = decodeUtf8Escaping(bytes, 0, bytes.length);
        assert.deepEqual(unescapeBytes(text), Buffer.from(bytes));
        if (isUtf8(bytes)) assert.equal(text, Buffer.from(bytes).toString());
      }),
      { numRuns: 2000 },
    );
    assert.equal(
      decodeUtf8Escaping(Uint8Array.from([0x61, 0xed, 0xa0, 0x80, 0xc3, 0xa9]), 0, 6),
      'a\udced\udca0\udc80é',
    );
  });

  it('escapes bad bytes in JSON strings only, and says where one lies outside', () => {
    const bytes = Uint8Array.from([...Buffer.from('{"a":"x'), 0xff, ...Buffer.from('\\"y"}')]);
    assert.deepEqual(escapeInvalidUtf8InJson(bytes), { text: '{"a":"x\\udcff\\"y"}' });
    assert.deepEqual(JSON.parse((escapeInvalidUtf8InJson(bytes) as { text: string }).text), { a: 'x\udcff"y' });
    assert.deepEqual(escapeInvalidUtf8InJson(Uint8Array.from([0x7b, 0xff, 0x7d])), { invalidAt: 1 });
    assert.deepEqual(escapeInvalidUtf8InJson(Uint8Array.from([0x22, 0x5c, 0xff, 0x22])), { invalidAt: 2 });
  });
});
