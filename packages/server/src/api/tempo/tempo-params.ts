import { type UnixNanos, unixNanos } from '@ariadne/core';
import type { TimeRange } from '../../query/span-store.ts';

/**
 * Parameters of Tempo's HTTP API, parsed as Tempo parses them (`pkg/api/http.go`,
 * `pkg/util/traceid.go`), with the same limits; every value a client sends is checked. A bad one
 * is a {@link TempoRequestError}: 400 with the reason as plain text, as Tempo answers.
 */

/** A request Tempo's API would refuse: answered 400 with this message as plain text. */
export class TempoRequestError extends Error {
  override readonly name = 'TempoRequestError';
}

/** A parameter value for a message: quoted, cut if long. */
export function shown(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/**
 * A trace id as Tempo takes it in a path: hex of either case, at most 32 digits, left-padded with
 * zeros to 32 (a 64-bit id is the low half). Returned lowercase.
 */
export function parseTempoTraceId(text: string): string {
  const bad = /[^0-9a-fA-F]/.exec(text);
  if (bad) {
    throw new TempoRequestError(
      `trace IDs can only contain hex characters: invalid character ${JSON.stringify(bad[0])} at position ${bad.index + 1}`,
    );
  }
  if (text.length === 0) throw new TempoRequestError('please provide a traceID');
  // Tempo reads whole bytes: an odd count gets a leading zero; more than 16 bytes is refused.
  if (text.length > 32) throw new TempoRequestError("trace IDs can't be larger than 128 bits");
  return text.toLowerCase().padStart(32, '0');
}

/** The largest unix second whose nanoseconds still fit the stores' signed 64-bit times. */
const MAX_SECONDS = 9_223_372_035;

/**
 * Unix seconds (digits only) from 0 to `max` (Tempo takes `uint32` for search and tags, and
 * Ariadne's stores go up to 2262 for traces).
 */
export function parseUnixSeconds(text: string, name: string, max = MAX_SECONDS): number {
  if (!/^\d{1,20}$/.test(text) || Number(text) > max) {
    throw new TempoRequestError(`invalid ${name}: expected unix seconds from 0 to ${max}, got ${shown(text)}`);
  }
  return Number(text);
}

/** The largest 32-bit unsigned integer, Tempo's type for seconds and counts in searches. */
export const MAX_UINT32 = 4_294_967_295;

/** A decimal integer from `min` to `max` (Tempo's `strconv.ParseUint`, with bounds). */
export function parseCount(text: string, name: string, min: number, max: number): number {
  if (!/^\d{1,20}$/.test(text)) {
    throw new TempoRequestError(`invalid ${name}: expected a whole number from ${min} to ${max}, got ${shown(text)}`);
  }
  const n = Number(text);
  if (n < min) throw new TempoRequestError(`invalid ${name}: must be at least ${min}, got ${text}`);
  if (n > max) throw new TempoRequestError(`invalid ${name}: ${text} exceeds the maximum of ${max}`);
  return n;
}

/**
 * The window `[start, end]` given in whole unix seconds, as a store's half-open range in
 * nanoseconds: the `end` second is included (`end + 1` seconds, exclusive), because clients send
 * their window's end truncated to the second. Either side may be absent.
 */
export function secondsRange(start: number | undefined, end: number | undefined): TimeRange {
  const range: { startUnixNano?: UnixNanos; endUnixNano?: UnixNanos } = {};
  if (start !== undefined) range.startUnixNano = unixNanos(BigInt(start) * 1_000_000_000n);
  if (end !== undefined) range.endUnixNano = unixNanos((BigInt(end) + 1n) * 1_000_000_000n);
  return range;
}

const GO_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const GO_DURATION_PART = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;

/**
 * A Go duration (`time.ParseDuration`) in exact nanoseconds: a sequence of decimal numbers with a
 * unit each (`300ms`, `1.5h`, `2h45m`, `1µs`), or `0`. Negative durations are refused (Tempo
 * would turn them into a huge unsigned number); fractions below a nanosecond are cut.
 */
export function parseGoDuration(text: string, name: string): bigint {
  const fail = () =>
    new TempoRequestError(
      `invalid ${name}: expected a duration such as 300ms, 1.5s or 2h45m (units ns, us, µs, ms, s, m, h), got ${shown(text)}`,
    );
  if (text === '0') return 0n;
  if (text.length === 0 || text.length > 100) throw fail();
  let rest = text;
  let total = 0n;
  while (rest.length > 0) {
    const m = GO_DURATION_PART.exec(rest);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) throw fail();
    const [part, whole, fraction = '', unit] = m;
    const scale = 10n ** BigInt(fraction.length);
    total += ((BigInt(whole || '0') * scale + BigInt(fraction || '0')) * GO_UNITS[unit]) / scale;
    rest = rest.slice(part.length);
  }
  if (total >= 2n ** 63n) throw new TempoRequestError(`invalid ${name}: ${shown(text)} is out of range`);
  return total;
}

/**
 * Parses logfmt `key=value` pairs as Tempo's `tags` parameter takes them (go-logfmt): pairs
 * separated by spaces or newlines, values bare (`a=b`) or double-quoted with JSON escapes
 * (`a="b c"`), a key alone meaning an empty value. A key set twice is refused, as in Tempo.
 */
export function parseLogfmtTags(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  const fail = (message: string, pos: number) => new TempoRequestError(`invalid tags: ${message} at pos ${pos + 1}`);
  let i = 0;
  const isSpace = (c: string) => c <= ' ';
  while (i < text.length) {
    if (isSpace(text[i])) {
      i++;
      continue;
    }
    const keyStart = i;
    while (i < text.length && !isSpace(text[i]) && text[i] !== '=') {
      if (text[i] === '"') throw fail(`unexpected '"'`, i);
      i++;
    }
    if (i === keyStart) throw fail(`unexpected '='`, i);
    const key = text.slice(keyStart, i);
    let value = '';
    if (text[i] === '=') {
      i++;
      if (text[i] === '"') {
        const end = closingQuote(text, i);
        if (end < 0) throw fail('unterminated quoted value', i);
        try {
          value = JSON.parse(text.slice(i, end + 1));
        } catch {
          throw fail('invalid quoted value', i);
        }
        i = end + 1;
        if (i < text.length && !isSpace(text[i])) throw fail(`unexpected ${JSON.stringify(text[i])}`, i);
      } else {
        const valueStart = i;
        while (i < text.length && !isSpace(text[i])) {
          if (text[i] === '=' || text[i] === '"') throw fail(`unexpected '${text[i]}'`, i);
          i++;
        }
        value = text.slice(valueStart, i);
      }
    }
    if (tags.has(key)) throw new TempoRequestError(`invalid tags: tag ${key} has been set twice`);
    tags.set(key, value);
  }
  return tags;
}

/** The index of the `"` closing the quoted value that opens at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}
