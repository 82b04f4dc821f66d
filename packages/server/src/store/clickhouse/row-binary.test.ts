import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RowBinaryWriter } from './row-binary.ts';

describe('RowBinaryWriter', () => {
  it('writes integers little-endian, strings and arrays with LEB128 lengths, hex ids as bytes', () => {
    const w = new RowBinaryWriter(4);
    w.uint8(7);
    w.uint32(0x01020304);
    w.uint64(2n ** 64n - 2n);
    w.string('ü');
    w.string('x'.repeat(200));
    w.fixedHex('0a0b', 2);
    w.fixedHex('', 3);
    w.stringArray(['a', '']);
    const b = w.bytes();
    assert.deepEqual([...b.subarray(0, 5)], [7, 4, 3, 2, 1]);
    assert.deepEqual([...b.subarray(5, 13)], [0xfe, 255, 255, 255, 255, 255, 255, 255]);
    assert.deepEqual([...b.subarray(13, 16)], [2, 0xc3, 0xbc]);
    assert.deepEqual([...b.subarray(16, 18)], [0xc8, 0x01], '200 as LEB128');
    const rest = b.subarray(218);
    assert.deepEqual([...rest], [0x0a, 0x0b, 0, 0, 0, 2, 1, 0x61, 0]);
  });
  it('refuses an id of the wrong length or with non-hex digits', () => {
    const w = new RowBinaryWriter();
    assert.throws(() => w.fixedHex('abc', 2), /not 2 bytes of hex/);
    assert.throws(() => w.fixedHex('zz11', 2), /not 2 bytes of hex/);
  });
});
