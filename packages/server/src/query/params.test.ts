import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadParameterError, parseAttributeFilter, parseDuration, parseTime } from './params.ts';

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
