/**
 * Branded time units. Time bugs are the most common bugs in tracing code, so a nanosecond
 * timestamp can never be passed where a duration or a float of milliseconds is expected.
 *
 * Nanosecond values are `bigint`: unix nanoseconds pass 2^53 and must never go through a float.
 */

/** Nanoseconds since the unix epoch, exact. */
export type UnixNanos = bigint & { readonly __unit: 'UnixNanos' };

/** A length of time in nanoseconds, exact. May be negative only where a doc comment says so. */
export type DurationNanos = bigint & { readonly __unit: 'DurationNanos' };

/** Brands a bigint as unix nanoseconds. Does not validate the range. */
export function unixNanos(value: bigint): UnixNanos {
  return value as UnixNanos;
}

/** Brands a bigint as a duration in nanoseconds. */
export function durationNanos(value: bigint): DurationNanos {
  return value as DurationNanos;
}

/** Parses a non-negative decimal string (as OTLP JSON encodes fixed64) into unix nanoseconds. */
export function parseUnixNanos(text: string): UnixNanos {
  if (!/^\d{1,20}$/.test(text)) throw new RangeError(`not a non-negative integer: ${JSON.stringify(text)}`);
  const value = BigInt(text);
  if (value > 0xffffffffffffffffn) throw new RangeError(`exceeds 64 bits: ${text}`);
  return value as UnixNanos;
}

/** Converts nanoseconds to milliseconds as a float, for display only (loses precision). */
export function nanosToMillis(value: bigint): number {
  return Number(value) / 1e6;
}

/**
 * Formats a duration for people: `850ns`, `12.3µs`, `4.56ms`, `1.23s`, `2m 3s`.
 * Not for machines: the result is rounded.
 */
export function formatDuration(nanos: bigint): string {
  const negative = nanos < 0n;
  const abs = negative ? -nanos : nanos;
  const sign = negative ? '-' : '';
  if (abs < 1_000n) return `${sign}${abs}ns`;
  if (abs < 1_000_000n) return `${sign}${round3(Number(abs) / 1e3)}µs`;
  if (abs < 1_000_000_000n) return `${sign}${round3(Number(abs) / 1e6)}ms`;
  if (abs < 60_000_000_000n) return `${sign}${round3(Number(abs) / 1e9)}s`;
  const totalSeconds = abs / 1_000_000_000n;
  return `${sign}${totalSeconds / 60n}m ${totalSeconds % 60n}s`;
}

function round3(value: number): string {
  return Number(value.toPrecision(3)).toString();
}
