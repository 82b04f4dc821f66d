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
 * Parses a duration such as `250ms`, `1.5s`, `2m`, `100us` or `3h` into exact nanoseconds
 * (decimal fractions are exact, never through a float). A bare number is milliseconds.
 */
export function parseDuration(text: string, name = 'duration'): bigint {
  const m = /^(\d+)(?:\.(\d{1,9}))?\s*(ns|us|µs|ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) {
    throw new BadParameterError(
      `${name}: cannot parse ${JSON.stringify(text)}; use a number with a unit, e.g. 250ms, 1.5s, 2m`,
    );
  }
  const unit = UNITS[m[3] ?? 'ms'];
  const fraction = m[2] ?? '';
  const scaled = BigInt(m[1] + fraction) * unit;
  const value = scaled / 10n ** BigInt(fraction.length);
  return value;
}

/**
 * Parses a point in time: unix milliseconds (digits only) or an RFC 3339 timestamp with a time
 * zone, including fractional seconds down to nanoseconds.
 */
export function parseTime(text: string, name = 'time'): UnixNanos {
  const trimmed = text.trim();
  if (/^\d{1,16}$/.test(trimmed)) return unixNanos(BigInt(trimmed) * 1_000_000n);
  const m = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/.exec(trimmed);
  if (m) {
    const millis = Date.parse(`${m[1].replace(/[t ]/, 'T')}${m[3].toUpperCase()}`);
    if (!Number.isNaN(millis)) {
      const fraction = (m[2] ?? '').padEnd(9, '0');
      return unixNanos(BigInt(millis) * 1_000_000n + BigInt(fraction));
    }
  }
  throw new BadParameterError(
    `${name}: cannot parse ${JSON.stringify(text)}; use unix milliseconds or RFC 3339 (2026-11-25T14:00:00Z)`,
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
