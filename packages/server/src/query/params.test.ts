import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BadParameterError,
  MAX_QUERY_NANOS,
  parseAttributeFilter,
  parseDuration,
  parseInteger,
  parseTime,
} from './params.ts';

describe('query parameters', () => {
  it('parses durations exactly, with units and decimal fractions', () => {
    assert.equal(parseDuration('250ms'), 250_000_000n);
    assert.equal(parseDuration('1.5s'), 1_500_000_000n);
    assert.equal(parseDuration('2m'), 120_000_000_000n);
    assert.equal(parseDuration('100us'), 100_000n);
    assert.equal(parseDuration('7ns'), 7n);
    assert.equal(parseDuration('0.000000001s'), 1n);
    assert.equal(parseDuration('40'), 40_000_000n, 'bare numbers are milliseconds');
    assert.throws(() => parseDuration('fast'), BadParameterError);
    assert.throws(() => parseDuration('-1s'), /cannot parse "-1s"/);
  });
  it('takes integers as plain decimal digits in range, naming the range when refusing', () => {
    assert.equal(parseInteger('20', 'limit', 1, 1000), 20);
    assert.equal(parseInteger('0005', 'limit', 1, 1000), 5);
    assert.equal(parseInteger('1000', 'limit', 1, 1000), 1000);
    // Found by fuzzing the API's old schema-coerced limit: Number() takes all of these.
    for (const text of ['Infinity', '0x10', ' 5', '5 ', '+5', '-0', '5.0', '1e2', '0b11', '', '\n5', '٣']) {
      assert.throws(
        () => parseInteger(text, 'limit', 1, 1000),
        (e: Error) =>
          e instanceof BadParameterError &&
          e.message === `limit: expected a decimal integer from 1 to 1000, got ${JSON.stringify(text)}`,
        text,
      );
    }
    assert.throws(() => parseInteger('0', 'limit', 1, 1000), /limit: "0" is out of range; use 1 to 1000/);
    assert.throws(() => parseInteger('1001', 'limit', 1, 1000), /out of range; use 1 to 1000/);
    assert.throws(() => parseInteger('9'.repeat(400), 'limit', 1, 1000), /limit: "9{40}…" is out of range/);
  });
  it('refuses durations with spaces, signs or beyond 64-bit nanoseconds', () => {
    for (const text of [' 5', '5 ', '5 ms', '+5ms', '1.0000000001s', '5MS']) {
      assert.throws(() => parseDuration(text, 'minDuration'), /minDuration: cannot parse/, text);
    }
    assert.equal(parseDuration('9223372036854775807ns'), MAX_QUERY_NANOS);
    assert.throws(
      () => parseDuration('9223372036854775808ns'),
      /out of range; durations go up to 9223372036854775807ns/,
    );
    assert.throws(() => parseDuration('99999999999999999999999d'), /out of range/);
  });
  it('refuses times that do not exist or do not fit 64-bit nanoseconds', () => {
    // Date.parse rolls these over (February 30 became March 2) or takes them (hour 24).
    for (const text of [
      '2025-02-30T00:00:00Z',
      '2025-02-29T00:00:00Z',
      '2025-01-01T24:00:00Z',
      '2025-12-31T23:59:60Z',
      '2025-01-01T00:00:00+24:00',
      '2025-13-01T00:00:00Z',
    ]) {
      assert.throws(() => parseTime(text, 'start'), /start: ".*" is not a date and time that exists/, text);
    }
    assert.equal(parseTime('2024-02-29T00:00:00Z'), 1_709_164_800_000_000_000n);
    assert.equal(parseTime('2262-04-11T23:47:16.854775807Z'), MAX_QUERY_NANOS);
    assert.equal(parseTime('9223372036854'), 9_223_372_036_854_000_000n);
    for (const text of [
      '2262-04-11T23:47:16.854775808Z',
      '1969-12-31T23:59:59Z',
      '0050-01-01T00:00:00Z',
      '9223372036855',
      '9999999999999999',
    ]) {
      assert.throws(() => parseTime(text, 'end'), /end: ".*" is out of range; use 1970-01-01T00:00:00Z to 2262/, text);
    }
    for (const text of [' 5', '5 ', '+5', '0x10', '1e3', '1.5']) {
      assert.throws(
        () => parseTime(text, 'start'),
        /start: cannot parse .*unix milliseconds \(0 to 9223372036854\)/,
        text,
      );
    }
  });
  it('parses unix milliseconds and RFC 3339 with nanoseconds', () => {
    assert.equal(parseTime('1764079200000'), 1_764_079_200_000_000_000n);
    assert.equal(parseTime('2025-11-25T14:00:00Z'), 1_764_079_200_000_000_000n);
    assert.equal(parseTime('2025-11-25T15:00:00.000000123+01:00'), 1_764_079_200_000_000_123n);
    assert.throws(() => parseTime('yesterday'), /RFC 3339/);
    assert.throws(() => parseTime('2025-11-25T14:00:00'), BadParameterError, 'a time zone is required');
  });
  it('splits attribute filters at the first equals sign', () => {
    assert.deepEqual(parseAttributeFilter('order.id=ORD-1'), { key: 'order.id', value: 'ORD-1' });
    assert.deepEqual(parseAttributeFilter('q=a=b'), { key: 'q', value: 'a=b' });
    assert.throws(() => parseAttributeFilter('=x'), /key=value/);
  });
});
