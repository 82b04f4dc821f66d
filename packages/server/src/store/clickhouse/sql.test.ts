import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clampUInt64, sqlIdentifier, sqlString, sqlStringArray, sqlUInt64 } from './sql.ts';

describe('ClickHouse literals', () => {
  it('quotes strings so that quotes, backslashes and control characters stay inside', () => {
    assert.equal(sqlString('plain'), "'plain'");
    assert.equal(sqlString("o'; DROP TABLE spans; --"), "'o\\'; DROP TABLE spans; --'");
    assert.equal(sqlString('a\\'), "'a\\\\'");
    assert.equal(sqlString("\\'"), "'\\\\\\''");
    assert.equal(sqlString('x\ny\x1e\0'), "'x\\x0ay\\x1e\\x00'");
    assert.equal(sqlString('ü😀'), "'ü😀'");
  });
  it('writes unsigned 64-bit integers and refuses anything else', () => {
    assert.equal(sqlUInt64(2n ** 64n - 1n), '18446744073709551615');
    assert.equal(sqlUInt64(7), '7');
    assert.throws(() => sqlUInt64(-1n), /unsigned 64-bit/);
    assert.throws(() => sqlUInt64(2n ** 64n), /unsigned 64-bit/);
    assert.equal(clampUInt64(-5n), 0n);
    assert.equal(clampUInt64(2n ** 70n), 2n ** 64n - 1n);
  });
  it('writes arrays of strings', () => {
    assert.equal(sqlStringArray([]), '[]');
    assert.equal(sqlStringArray(["a'", 'b']), "['a\\'', 'b']");
  });
  it('accepts only plain identifiers', () => {
    assert.equal(sqlIdentifier('ariadne_1'), 'ariadne_1');
    assert.throws(() => sqlIdentifier('a-b'), /invalid ClickHouse identifier/);
    assert.throws(() => sqlIdentifier('x; DROP'), /invalid ClickHouse identifier/);
    assert.throws(() => sqlIdentifier(''), /invalid ClickHouse identifier/);
  });
});
