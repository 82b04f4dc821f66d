import { base64ToBytes, bytesToHex, type UnixNanos, unixNanos } from '@ariadne/core';
import { MAX_QUERY_NANOS, parseTime } from '../../query/params.ts';

/**
 * Query parameters as the Jaeger query service reads them (`query_parser.go`, `apiv3/query_parser.go`):
 * Go duration strings, integer microseconds or milliseconds since the epoch, RFC 3339 times, Go
 * booleans, the `tags` JSON object and trace ids in hex or base64. Each parser throws a
 * `JaegerParamError` whose message names the parameter, worded as Jaeger words it.
 */

/** A parameter Jaeger would refuse: answered 400 with this message. */
export class JaegerParamError extends Error {
  override readonly name = 'JaegerParamError';
}

/** The text of a value for an error message: quoted, and cut if long. */
function shown(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
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

/**
 * Parses a Go duration (`time.ParseDuration`): a sequence of decimal numbers, each with an
 * optional fraction and a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), as `1.2s`, `1h30m`,
 * `500us`; `0` alone needs no unit. Exact nanoseconds (fractions below a nanosecond are cut, as
 * Go cuts them). Unlike Go, a negative duration is refused: no span lasts less than nothing.
 */
export function parseGoDuration(text: string, name: string): bigint {
  const fail = (why: string) => new JaegerParamError(`unable to parse param '${name}': ${why}`);
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw fail(`time: invalid duration ${shown(text)}`);
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, fraction] = [m[1], m[2] ?? ''];
    if (whole === '' && fraction === '') throw fail(`time: invalid duration ${shown(text)}`);
    s = s.slice(m[0].length);
    const unitText = /^[^\d.]*/.exec(s)![0];
    if (unitText === '') throw fail(`time: missing unit in duration ${shown(text)}`);
    const unit = GO_UNITS[unitText];
    if (unit === undefined) throw fail(`time: unknown unit ${shown(unitText)} in duration ${shown(text)}`);
    s = s.slice(unitText.length);
    // Too many digits for any duration in range: out of range, without building a huge bigint.
    if (whole.replace(/^0+/, '').length > 20) throw fail(`time: invalid duration ${shown(text)}`);
    const digits = fraction.slice(0, 18);
    total += BigInt(whole || '0') * unit + (BigInt(digits || '0') * unit) / 10n ** BigInt(digits.length);
    if (total > MAX_QUERY_NANOS) throw fail(`time: invalid duration ${shown(text)}`);
  }
  if (negative && total !== 0n) throw fail(`a duration cannot be negative, got ${shown(text)}`);
  return total;
}

/** Parses a signed decimal int64 as Go's `strconv.ParseInt(text, 10, 64)` does. */
function parseInt64(text: string, name: string, unit: string): bigint {
  if (!/^[+-]?\d{1,19}$/.test(text) || BigInt(text) > 2n ** 63n - 1n || BigInt(text) < -(2n ** 63n)) {
    throw new JaegerParamError(`unable to parse param '${name}': expected an integer (${unit}), got ${shown(text)}`);
  }
  return BigInt(text);
}

function clampNanos(nanos: bigint): UnixNanos {
  return unixNanos(nanos < 0n ? 0n : nanos > MAX_QUERY_NANOS ? MAX_QUERY_NANOS : nanos);
}

/** Integer microseconds since the epoch (`start`, `end`), as unix nanoseconds; before 1970 is 1970. */
export function parseMicros(text: string, name: string): UnixNanos {
  return clampNanos(parseInt64(text, name, 'microseconds since the epoch') * 1_000n);
}

/** Integer milliseconds since the epoch (`endTs`), as unix nanoseconds; before 1970 is 1970. */
export function parseMillisTime(text: string, name: string): UnixNanos {
  return clampNanos(parseInt64(text, name, 'milliseconds since the epoch') * 1_000_000n);
}

/** An integer number of milliseconds (`lookback`), as nanoseconds; a negative one is refused. */
export function parseMillisDuration(text: string, name: string): bigint {
  const ms = parseInt64(text, name, 'milliseconds');
  if (ms < 0n) throw new JaegerParamError(`unable to parse param '${name}': must not be negative, got ${shown(text)}`);
  return ms * 1_000_000n > MAX_QUERY_NANOS ? MAX_QUERY_NANOS : ms * 1_000_000n;
}

/** An int as Go's `strconv.Atoi` reads it (`limit`, `query.searchDepth`). */
export function parseGoInt(text: string, name: string): number {
  if (!/^[+-]?\d{1,15}$/.test(text)) {
    throw new JaegerParamError(`unable to parse param '${name}': expected an integer, got ${shown(text)}`);
  }
  return Number(text);
}

/** A boolean as Go's `strconv.ParseBool` reads it (`raw`, `query.rawTraces`). */
export function parseGoBool(text: string, name: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new JaegerParamError(`unable to parse param '${name}': expected true or false, got ${shown(text)}`);
}

/**
 * An RFC 3339 time with a zone and up to nanoseconds (`query.startTimeMin`, `start_time`), as Go's
 * `time.Parse(time.RFC3339Nano, …)`. A space where the zone's `+` belongs is read as `+`:
 * Grafana appends these times to the URL unencoded, so `+01:00` arrives as ` 01:00`.
 */
export function parseRfc3339(text: string, name: string): UnixNanos {
  const repaired = text.replace(/ (\d{2}:\d{2})$/, '+$1');
  if (/^\d+$/.test(repaired)) {
    throw new JaegerParamError(`malformed parameter ${name}: expected an RFC 3339 time, got ${shown(text)}`);
  }
  try {
    return parseTime(repaired, name);
  } catch (error) {
    throw new JaegerParamError(`malformed parameter ${name}: ${(error as Error).message}`);
  }
}

/** True for a string holding a lone surrogate (not Unicode text). */
function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** Most tag conditions one search takes. */
export const MAX_TAGS = 64;

/**
 * Merges the `tag` (`key:value`, split at the first colon) and `tags` (a JSON object of strings;
 * `null` values are empty strings, as Go reads them) parameters, in that order, later keys
 * replacing earlier ones, as Jaeger's `parseTags` does. `label` names the JSON parameter in
 * errors (`tags`, or `query.attributes` for api_v3).
 */
export function parseTags(simple: readonly string[], json: readonly string[], label = 'tags'): Map<string, string> {
  const tags = new Map<string, string>();
  for (const tag of simple) {
    const colon = tag.indexOf(':');
    if (colon < 0) throw new JaegerParamError(`malformed 'tag' parameter, expecting key:value, received: ${tag}`);
    tags.set(tag.slice(0, colon), tag.slice(colon + 1));
  }
  for (const text of json) {
    const bad = (why: string) => new JaegerParamError(`malformed '${label}' parameter, cannot unmarshal JSON: ${why}`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw bad((error as Error).message);
    }
    if (value === null) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw bad('expected an object of string values');
    for (const [key, v] of Object.entries(value)) {
      if (v !== null && typeof v !== 'string') throw bad(`the value of ${shown(key)} is not a string`);
      tags.set(key, v ?? '');
    }
  }
  for (const [key, value] of tags) {
    if (key === '') throw new JaegerParamError(`malformed '${label}' parameter: a tag needs a key`);
    if (hasLoneSurrogate(key) || hasLoneSurrogate(value)) {
      throw new JaegerParamError(`malformed '${label}' parameter: ${shown(key)} is not valid Unicode text`);
    }
  }
  if (tags.size > MAX_TAGS) {
    throw new JaegerParamError(`too many tags: ${tags.size}; a search takes at most ${MAX_TAGS}`);
  }
  return tags;
}

/**
 * A trace id as Jaeger reads it: 1 to 32 hex digits (left-padded to 128 bits, so a 64-bit id
 * is the low half), or, since Jaeger v2.20, the 16 (or 8) bytes of an id in base64 (standard or
 * URL alphabet, padded or not). Returns 32 lowercase hex digits.
 */
export function parseTraceId(text: string, name = 'traceID'): string {
  if (/^[0-9a-fA-F]{1,32}$/.test(text)) return text.toLowerCase().padStart(32, '0');
  if (text.length > 0 && text.length <= 24 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    try {
      const bytes = base64ToBytes(text);
      if (bytes.length === 16 || bytes.length === 8) return bytesToHex(bytes).padStart(32, '0');
    } catch {
      // Not base64 after all: the error below says what is expected.
    }
  }
  throw new JaegerParamError(
    `cannot parse ${name} ${shown(text)}: expected 1 to 32 hex digits, or the 16 bytes of a trace id in base64`,
  );
}
