import { type UnixNanos, unixNanos } from '@ariadne/core';

/** A query parameter that cannot be understood; the API answers 400 with this message. */
export class BadParameterError extends Error {
  override readonly name = 'BadParameterError';
}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
};

/**
 * The largest time or duration a query takes, in nanoseconds: stores keep them as signed 64-bit
 * integers. As a time, 2262-04-11T23:47:16.854775807Z; as unix milliseconds, 9223372036854.
 */
export const MAX_QUERY_NANOS = 2n ** 63n - 1n;
const MAX_MILLIS = MAX_QUERY_NANOS / 1_000_000n;

/** The text of a parameter for an error message: quoted, and cut if long. */
function shown(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/**
 * Parses a plain decimal integer (digits only: no sign, space, fraction, exponent, hex prefix or
 * `Infinity`, all of which `Number()` accepts) in `[min, max]`; both bounds are named in the error.
 */
export function parseInteger(text: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) {
    throw new BadParameterError(`${name}: expected a decimal integer from ${min} to ${max}, got ${shown(text)}`);
  }
  // Leading zeros stripped, more than 15 digits cannot be in a range of safe integers.
  const digits = text.replace(/^0+(?=\d)/, '');
  const value = digits.length > 15 ? Number.POSITIVE_INFINITY : Number(digits);
  if (value < min || value > max) {
    throw new BadParameterError(`${name}: ${shown(text)} is out of range; use ${min} to ${max}`);
  }
  return value;
}

/**
 * Parses a duration such as `250ms`, `1.5s`, `2m`, `100us` or `3h` into exact nanoseconds
 * (decimal fractions are exact, never through a float; below a nanosecond they are cut). A bare
 * number is milliseconds. No spaces or signs; at most `MAX_QUERY_NANOS` (about 106,751 days).
 */
export function parseDuration(text: string, name = 'duration'): bigint {
  const m = /^(\d+)(?:\.(\d{1,9}))?(ns|us|µs|ms|s|m|h|d)?$/.exec(text);
  if (!m) {
    throw new BadParameterError(`${name}: cannot parse ${shown(text)}; use a number with a unit, e.g. 250ms, 1.5s, 2m`);
  }
  const unit = UNITS[m[3] ?? 'ms'];
  const fraction = m[2] ?? '';
  // More digits than any duration in range has are out of range: no need to make a huge bigint.
  const value =
    m[1].replace(/^0+(?=\d)/, '').length > 20
      ? MAX_QUERY_NANOS + 1n
      : (BigInt(m[1] + fraction) * unit) / 10n ** BigInt(fraction.length);
  if (value > MAX_QUERY_NANOS) {
    throw new BadParameterError(
      `${name}: ${shown(text)} is out of range; durations go up to ${MAX_QUERY_NANOS}ns (about 106751d)`,
    );
  }
  return value;
}

const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parses a point in time: unix milliseconds (digits only, 0 to 9223372036854) or an RFC 3339
 * timestamp with a time zone, including fractional seconds down to nanoseconds, from
 * 1970-01-01T00:00:00Z to 2262-04-11T23:47:16.854775807Z. Dates that do not exist (February 30,
 * hour 24) are refused, not rolled over as `Date.parse` does; so are leap seconds.
 */
export function parseTime(text: string, name = 'time'): UnixNanos {
  const outOfRange = () =>
    new BadParameterError(
      `${name}: ${shown(text)} is out of range; use 1970-01-01T00:00:00Z to 2262-04-11T23:47:16.854775807Z, or unix milliseconds 0 to ${MAX_MILLIS}`,
    );
  if (/^\d+$/.test(text)) {
    const digits = text.replace(/^0+(?=\d)/, '');
    if (digits.length > 13 || BigInt(digits) > MAX_MILLIS) throw outOfRange();
    return unixNanos(BigInt(digits) * 1_000_000n);
  }
  const m = RFC_3339.exec(text);
  if (m) {
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
    const offsetHours = m[9] === undefined ? 0 : Number(m[9]);
    const offsetMinutes = m[10] === undefined ? 0 : Number(m[10]);
    if (
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= daysInMonth(year, month) &&
      hour <= 23 &&
      minute <= 59 &&
      second <= 59 &&
      offsetHours <= 23 &&
      offsetMinutes <= 59
    ) {
      // Years before 1970 are out of range anyway; Date.UTC would read 0 to 99 as 1900 to 1999.
      if (year < 1970) throw outOfRange();
      const offset = (m[8] === '-' ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
      const seconds = Date.UTC(year, month - 1, day, hour, minute, second) / 1000 - offset;
      const nanos = BigInt(seconds) * 1_000_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
      if (nanos < 0n || nanos > MAX_QUERY_NANOS) throw outOfRange();
      return unixNanos(nanos);
    }
    throw new BadParameterError(
      `${name}: ${shown(text)} is not a date and time that exists (month 01-12, a day of that month, hour 00-23, minute and second 00-59, zone offset up to 23:59)`,
    );
  }
  throw new BadParameterError(
    `${name}: cannot parse ${shown(text)}; use unix milliseconds (0 to ${MAX_MILLIS}) or RFC 3339 (2026-11-25T14:00:00Z)`,
  );
}

/** Parses `key=value` (the value may itself contain `=`). */
export function parseAttributeFilter(text: string): { key: string; value: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new BadParameterError(`attr: expected key=value, got ${JSON.stringify(text)}`);
  return { key: text.slice(0, eq), value: text.slice(eq + 1) };
}

/** True for a 32-character hex trace id (either case), not all zeros. */
export function isTraceId(text: string): boolean {
  return /^[0-9a-fA-F]{32}$/.test(text) && !/^0+$/.test(text);
}
