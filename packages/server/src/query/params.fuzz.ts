import fc from 'fast-check';
import type { FuzzTarget } from '../ingest/decode-otlp.fuzz.ts';
import {
  BadParameterError,
  isTraceId,
  MAX_QUERY_NANOS,
  parseAttributeFilter,
  parseDuration,
  parseInteger,
  parseTime,
} from './params.ts';

/**
 * Property-based fuzz targets for the query parameter parsers, shared by params.fuzz.test.ts and
 * `npm run fuzz` (bench/fuzz.ts). Test-only. Each parser is checked against an oracle written
 * another way (BigInt arithmetic, `Date.UTC` for the calendar) on inputs built to be near the
 * edges, and against arbitrary text: it returns what the oracle says, or throws
 * `BadParameterError` exactly when the oracle refuses, and nothing else.
 */

/** Runs `parse`: its value, or `undefined` if it threw `BadParameterError` (anything else is rethrown). */
function attempt<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (error instanceof BadParameterError) return undefined;
    throw error;
  }
}

function expectSame<T>(input: string, actual: T | undefined, expected: T | undefined): void {
  if (actual !== expected) {
    throw new Error(`${JSON.stringify(input)}: parsed as ${String(actual)}, expected ${String(expected)}`);
  }
}

/** Text made of characters that `Number()`, `parseInt` or a loose regular expression would take. */
const numberish = fc.string({
  unit: fc.constantFrom(...'0123456789', '0', '9', ' ', '\t', '\n', '+', '-', '.', 'e', 'E', 'x', 'b', '_', '٣', '５'),
  maxLength: 24,
});
const decimal = fc.stringMatching(/^[0-9]{1,25}$/);
const prefixed = fc
  .tuple(
    fc.constantFrom('', '', '', ' ', '+', '-', '0x', '\u00a0', '0'),
    decimal,
    fc.constantFrom('', '', '', ' ', '.0', 'e1', '\n'),
  )
  .map(([a, b, c]) => a + b + c);
const specials = fc.constantFrom('Infinity', '-Infinity', 'NaN', '', '1e2', '0x10', ' 5', '5 ', '0b11', '1_000', '٣');
const anyText = fc.string({ unit: 'binary', maxLength: 32 });
const integerInput = fc.oneof(numberish, decimal, prefixed, specials, anyText);

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
const durationParts = fc.record({
  prefix: fc.constantFrom('', '', '', '', ' ', '-', '+'),
  whole: fc.oneof(fc.stringMatching(/^[0-9]{1,4}$/), fc.stringMatching(/^[0-9]{1,25}$/)),
  fraction: fc.option(fc.stringMatching(/^[0-9]{0,11}$/)),
  gap: fc.constantFrom('', '', '', '', ' '),
  unit: fc.constantFrom('', 'ns', 'us', 'µs', 'ms', 's', 'm', 'h', 'd', 'ks', 'S', 'MS', 'μs'),
});

/** What `parseDuration` should make of the parts, by BigInt arithmetic. */
function durationOracle(p: {
  prefix: string;
  whole: string;
  fraction: string | null;
  gap: string;
  unit: string;
}): bigint | undefined {
  if (p.prefix !== '' || p.gap !== '') return undefined;
  if (p.fraction !== null && (p.fraction.length === 0 || p.fraction.length > 9)) return undefined;
  const unit = p.unit === '' ? UNITS.ms : UNITS[p.unit];
  if (unit === undefined) return undefined;
  const fraction = p.fraction ?? '';
  const scale = 10n ** BigInt(fraction.length);
  const value = ((BigInt(p.whole) * scale + BigInt(fraction || '0')) * unit) / scale;
  return value > MAX_QUERY_NANOS ? undefined : value;
}

const two = (n: number) => String(n).padStart(2, '0');
const timeParts = fc.record({
  year: fc.oneof(fc.integer({ min: 1965, max: 2300 }), fc.integer({ min: 0, max: 9999 })),
  month: fc.integer({ min: 0, max: 13 }),
  day: fc.integer({ min: 0, max: 32 }),
  separator: fc.constantFrom('T', 'T', 't', ' ', 'x'),
  hour: fc.integer({ min: 0, max: 25 }),
  minute: fc.integer({ min: 0, max: 61 }),
  second: fc.integer({ min: 0, max: 61 }),
  fraction: fc.option(fc.stringMatching(/^[0-9]{1,10}$/)),
  zone: fc.oneof(
    fc.constantFrom('Z', 'z', '', '+00:00'),
    fc
      .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }))
      .map(([sign, h, m]) => `${sign}${two(h)}:${two(m)}`),
  ),
});
type TimeParts = typeof timeParts extends fc.Arbitrary<infer T> ? T : never;

function timeText(p: TimeParts): string {
  const date = `${String(p.year).padStart(4, '0')}-${two(p.month)}-${two(p.day)}`;
  const fraction = p.fraction === null ? '' : `.${p.fraction}`;
  return `${date}${p.separator}${two(p.hour)}:${two(p.minute)}:${two(p.second)}${fraction}${p.zone}`;
}

/** What `parseTime` should make of the parts: the calendar from `Date.UTC`, the rest by BigInt. */
function timeOracle(p: TimeParts): bigint | undefined {
  if (p.separator === 'x' || p.zone === '') return undefined;
  if (p.fraction !== null && p.fraction.length > 9) return undefined;
  if (p.month < 1 || p.month > 12 || p.hour > 23 || p.minute > 59 || p.second > 59) return undefined;
  // The last day of the month: day 0 of the next one.
  const probe = new Date(0);
  probe.setUTCFullYear(p.year, p.month, 0);
  if (p.day < 1 || p.day > probe.getUTCDate()) return undefined;
  let offsetMinutes = 0;
  const zone = /^([+-])(\d\d):(\d\d)$/.exec(p.zone);
  if (zone) {
    if (Number(zone[2]) > 23 || Number(zone[3]) > 59) return undefined;
    offsetMinutes = (zone[1] === '-' ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3]));
  }
  const at = new Date(0);
  at.setUTCFullYear(p.year, p.month - 1, p.day);
  at.setUTCHours(p.hour, p.minute, p.second, 0);
  const nanos =
    (BigInt(at.getTime()) - BigInt(offsetMinutes) * 60_000n) * 1_000_000n + BigInt((p.fraction ?? '').padEnd(9, '0'));
  return nanos < 0n || nanos > MAX_QUERY_NANOS ? undefined : nanos;
}

/** The parameter parser fuzz targets. */
export function paramFuzzTargets(): FuzzTarget[] {
  return [
    {
      name: 'parseInteger: plain decimal integers in range, nothing else',
      weight: 2,
      property: fc.property(
        integerInput,
        fc.constantFrom([1, 1000], [0, 9], [5, 5], [0, 2 ** 53 - 1]),
        (text, range) => {
          const [min, max] = range;
          const expected =
            /^[0-9]+$/.test(text) && BigInt(text) >= min && BigInt(text) <= max ? Number(text) : undefined;
          expectSame(
            text,
            attempt(() => parseInteger(text, 'n', min, max)),
            expected,
          );
        },
      ),
    },
    {
      name: 'parseDuration: exact nanoseconds, strict syntax, in range',
      weight: 2,
      property: fc.property(durationParts, (parts) => {
        const text = `${parts.prefix}${parts.whole}${parts.fraction === null ? '' : `.${parts.fraction}`}${parts.gap}${parts.unit}`;
        expectSame(
          text,
          attempt(() => parseDuration(text)),
          durationOracle(parts),
        );
      }),
    },
    {
      name: 'parseTime: RFC 3339 dates that exist, in range',
      weight: 2,
      property: fc.property(timeParts, (parts) => {
        const text = timeText(parts);
        expectSame(
          text,
          attempt(() => parseTime(text)),
          timeOracle(parts),
        );
      }),
    },
    {
      name: 'parseTime: unix milliseconds',
      weight: 1,
      property: fc.property(integerInput, (text) => {
        const expected =
          /^[0-9]+$/.test(text) && BigInt(text) * 1_000_000n <= MAX_QUERY_NANOS ? BigInt(text) * 1_000_000n : undefined;
        expectSame(
          text,
          attempt(() => parseTime(text)),
          expected,
        );
      }),
    },
    {
      name: 'every parser: arbitrary text gives a value in range or BadParameterError',
      weight: 2,
      property: fc.property(fc.oneof(anyText, fc.string({ unit: 'grapheme', maxLength: 40 }), integerInput), (text) => {
        const duration = attempt(() => parseDuration(text));
        if (duration !== undefined && (duration < 0n || duration > MAX_QUERY_NANOS))
          throw new Error('duration out of range');
        const time = attempt(() => parseTime(text));
        if (time !== undefined && (time < 0n || time > MAX_QUERY_NANOS)) throw new Error('time out of range');
        const filter = attempt(() => parseAttributeFilter(text));
        const eq = text.indexOf('=');
        if ((filter !== undefined) !== eq > 0) throw new Error(`attr ${JSON.stringify(text)}: accepted wrongly`);
        if (filter !== undefined && (filter.key !== text.slice(0, eq) || filter.value !== text.slice(eq + 1))) {
          throw new Error(`attr ${JSON.stringify(text)}: split wrongly`);
        }
        if (isTraceId(text) !== (/^[0-9a-fA-F]{32}$/.test(text) && /[1-9a-fA-F]/.test(text))) {
          throw new Error(`trace id ${JSON.stringify(text)}: judged wrongly`);
        }
      }),
    },
  ];
}
