/**
 * TraceQL values at run time (spec §4): the types a field, an aggregate or a `by()` group can
 * have, how they compare and combine, and how Tempo renders them in a search response (§8).
 *
 * Numbers keep Tempo's three types: `int` (int64, an exact `bigint`), `float` (float64) and
 * `duration` (int64 nanoseconds, a `bigint`). They form one numeric family: any two of them
 * compare by their exact mathematical values (JavaScript compares a `bigint` with a `number`
 * exactly, with no conversion), and a bare number compared with a duration is nanoseconds.
 */

import type { AnyValue } from '../model/span.ts';
import type { DurationNanos } from '../model/units.ts';
import { durationNanos } from '../model/units.ts';
import type { KindValue, StatusValue } from './ast.ts';

/**
 * A value at run time. `nil` is a missing attribute (or a value TraceQL cannot search: OTLP
 * bytes, kvlists and empty values). `array` holds an OTLP array attribute's elements.
 */
export type TraceQLValue =
  | { readonly type: 'nil' }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'int'; readonly value: bigint }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'duration'; readonly value: DurationNanos }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'status'; readonly value: StatusValue }
  | { readonly type: 'kind'; readonly value: KindValue }
  | { readonly type: 'array'; readonly value: readonly TraceQLValue[] };

/** The shared `nil` value. */
export const NIL: TraceQLValue = Object.freeze({ type: 'nil' });
/** The shared `true` value. */
export const TRUE: TraceQLValue = Object.freeze({ type: 'bool', value: true });
/** The shared `false` value. */
export const FALSE: TraceQLValue = Object.freeze({ type: 'bool', value: false });

/** Status words by OTLP status code; unknown codes count as `unset`. */
export const STATUS_BY_CODE: readonly StatusValue[] = ['unset', 'ok', 'error'];
/** Kind words by OTLP span kind; unknown kinds count as `unspecified`. */
export const KIND_BY_NUMBER: readonly KindValue[] = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];

/** The status word of an OTLP status code (unknown codes are `unset`). */
export function statusWord(code: number): StatusValue {
  return STATUS_BY_CODE[code] ?? 'unset';
}

/** The kind word of an OTLP span kind (unknown kinds are `unspecified`). */
export function kindWord(kind: number): KindValue {
  return KIND_BY_NUMBER[kind] ?? 'unspecified';
}

/**
 * Scalar type codes, so that comparisons can run on an OTLP `AnyValue` or a literal without first
 * building a `TraceQLValue` (the hot path of a filter allocates nothing).
 */
export const Kind = {
  Nil: 0,
  Bool: 1,
  Int: 2,
  Float: 3,
  Duration: 4,
  String: 5,
  Status: 6,
  SpanKind: 7,
  Array: 8,
} as const;
/** One of the `Kind` codes. */
export type Kind = (typeof Kind)[keyof typeof Kind];

/** The type code of a `TraceQLValue`. */
export function kindOf(value: TraceQLValue): Kind {
  switch (value.type) {
    case 'nil':
      return Kind.Nil;
    case 'bool':
      return Kind.Bool;
    case 'int':
      return Kind.Int;
    case 'float':
      return Kind.Float;
    case 'duration':
      return Kind.Duration;
    case 'string':
      return Kind.String;
    case 'status':
      return Kind.Status;
    case 'kind':
      return Kind.SpanKind;
    case 'array':
      return Kind.Array;
  }
}

/** The type code of an OTLP value; bytes, kvlists and empty values are not searchable (nil). */
export function kindOfAny(value: AnyValue): Kind {
  switch (value.type) {
    case 'string':
      return Kind.String;
    case 'int':
      return Kind.Int;
    case 'double':
      return Kind.Float;
    case 'bool':
      return Kind.Bool;
    case 'array':
      return Kind.Array;
    default:
      return Kind.Nil;
  }
}

/** Converts an OTLP value (or a missing one) to a TraceQL value. Allocates: not for hot loops. */
export function fromAnyValue(value: AnyValue | undefined): TraceQLValue {
  if (value === undefined) return NIL;
  switch (value.type) {
    case 'string':
      return { type: 'string', value: value.value };
    case 'int':
      return { type: 'int', value: value.value };
    case 'double':
      return { type: 'float', value: value.value };
    case 'bool':
      return value.value ? TRUE : FALSE;
    case 'array':
      return { type: 'array', value: value.value.map((v) => fromAnyValue(v)) };
    default:
      return NIL;
  }
}

/** True for int, float and duration. */
export function isNumericKind(kind: Kind): boolean {
  return kind === Kind.Int || kind === Kind.Float || kind === Kind.Duration;
}

/** The comparison operators of filters and scalar filters. */
export type CompareOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/**
 * The byte-wise (UTF-8) order of two strings, as Go compares strings: -1, 0 or 1. UTF-16 code
 * unit order differs from it only between a surrogate (a character above U+FFFF) and a character
 * in U+E000..U+FFFF, which this corrects.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Move surrogates above U+E000..U+FFFF: their code points (and UTF-8 bytes) are larger.
      if (x <= 0xdfff) x += 0x2000;
      else x -= 0x800;
      if (y <= 0xdfff) y += 0x2000;
      else y -= 0x800;
    }
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/**
 * Exact order of two numbers of the numeric family (`bigint` or `number`, mixed freely): -1, 0,
 * 1, or NaN when either is NaN (every comparison with NaN is false, as in Go).
 */
export function compareNumbers(a: bigint | number, b: bigint | number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (typeof a === 'number' && Number.isNaN(a)) return Number.NaN;
  if (typeof b === 'number' && Number.isNaN(b)) return Number.NaN;
  return 0;
}

function holds(op: CompareOperator, order: number): boolean {
  switch (op) {
    case '=':
      return order === 0;
    case '!=':
      return order === 1 || order === -1;
    case '<':
      return order === -1;
    case '<=':
      return order === -1 || order === 0;
    case '>':
      return order === 1;
    case '>=':
      return order === 1 || order === 0;
  }
}

/**
 * Compares two scalars given as type code and raw value (`bigint`, `number`, `string`,
 * `boolean`, or a status or kind word). Numbers compare across int, float and duration;
 * strings with every operator (byte order); bools, statuses and kinds with `=` and `!=` only.
 * Any other pairing, and nil, is false (spec §4: a type mismatch is false, never an error).
 * Arrays are not scalars: see `compareValues`.
 */
export function compareScalars(op: CompareOperator, ka: Kind, a: unknown, kb: Kind, b: unknown): boolean {
  if (isNumericKind(ka)) {
    return isNumericKind(kb) && holds(op, compareNumbers(a as bigint | number, b as bigint | number));
  }
  if (ka !== kb) return false;
  switch (ka) {
    case Kind.String:
      if (op === '=') return a === b;
      if (op === '!=') return a !== b;
      return holds(op, compareStrings(a as string, b as string));
    case Kind.Bool:
    case Kind.Status:
    case Kind.SpanKind:
      if (op === '=') return a === b;
      if (op === '!=') return a !== b;
      return false;
    default:
      return false;
  }
}

/**
 * Compares an OTLP array with a scalar (spec §3.5): `=`, `<`, `<=`, `>`, `>=` hold when some
 * element satisfies them; `!=` holds when no element equals the scalar and at least one element
 * has a comparable type (an array of ints is never `!= "a"`, as an int is not). An empty array
 * satisfies nothing. `arrayOnLeft` is false for `scalar op array`.
 */
export function compareAnyArray(
  op: CompareOperator,
  elements: readonly AnyValue[],
  kb: Kind,
  b: unknown,
  arrayOnLeft: boolean,
): boolean {
  if (op === '!=') {
    let comparable = false;
    for (const element of elements) {
      const ke = kindOfAny(element);
      if (ke === Kind.Nil || ke === Kind.Array) continue;
      const value = (element as { readonly value: unknown }).value;
      if (compareScalars('=', ke, value, kb, b)) return false;
      // Comparable when `!=` has a meaning: both numeric, or the same type.
      comparable ||= (isNumericKind(ke) && isNumericKind(kb)) || ke === kb;
    }
    return comparable;
  }
  for (const element of elements) {
    const ke = kindOfAny(element);
    if (ke === Kind.Nil || ke === Kind.Array) continue;
    const value = (element as { readonly value: unknown }).value;
    if (arrayOnLeft ? compareScalars(op, ke, value, kb, b) : compareScalars(op, kb, b, ke, value)) return true;
  }
  return false;
}

/** `compareAnyArray` for the elements of a `TraceQLValue` array. */
function compareValueArray(
  op: CompareOperator,
  elements: readonly TraceQLValue[],
  kb: Kind,
  b: unknown,
  arrayOnLeft: boolean,
): boolean {
  if (op === '!=') {
    let comparable = false;
    for (const element of elements) {
      const ke = kindOf(element);
      if (ke === Kind.Nil || ke === Kind.Array) continue;
      const value = (element as { readonly value: unknown }).value;
      if (compareScalars('=', ke, value, kb, b)) return false;
      comparable ||= (isNumericKind(ke) && isNumericKind(kb)) || ke === kb;
    }
    return comparable;
  }
  for (const element of elements) {
    const ke = kindOf(element);
    if (ke === Kind.Nil || ke === Kind.Array) continue;
    const value = (element as { readonly value: unknown }).value;
    if (arrayOnLeft ? compareScalars(op, ke, value, kb, b) : compareScalars(op, kb, b, ke, value)) return true;
  }
  return false;
}

/**
 * Compares two values with the rules of `compareScalars`, an array on either side matching per
 * element (spec §3.5). Two arrays never compare (false), nor does nil with anything: the
 * existence tests `= nil` and `!= nil` are not comparisons and are handled by the evaluator.
 */
export function compareValues(op: CompareOperator, a: TraceQLValue, b: TraceQLValue): boolean {
  if (a.type === 'nil' || b.type === 'nil') return false;
  if (a.type === 'array') {
    if (b.type === 'array') return false;
    return compareValueArray(op, a.value, kindOf(b), b.value, true);
  }
  if (b.type === 'array') return compareValueArray(op, b.value, kindOf(a), a.value, false);
  return compareScalars(op, kindOf(a), a.value, kindOf(b), b.value);
}

/** The arithmetic operators. */
export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^';

/** Wraps to int64, as Go's integer arithmetic does. */
function int64(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}

/** `base ^ exponent` in int64 with Go's wrap-around, for a non-negative exponent. */
function intPower(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = int64(base);
  let e = exponent;
  while (e > 0n) {
    if ((e & 1n) === 1n) result = int64(result * b);
    b = int64(b * b);
    e >>= 1n;
  }
  return result;
}

/**
 * `a op b` (spec §4): int op int is an int64 (wrapping like Go; `/` truncates); any float or
 * duration operand makes a float (durations count as nanoseconds). Division or remainder by
 * zero, and any non-numeric operand, give nil, which then makes the enclosing comparison false
 * for that span. `^` is `a` to the power `b` (Tempo's int `^` has its operands swapped: we do not
 * copy that); an int to a negative power is a float.
 */
export function arithmetic(op: ArithmeticOp, a: TraceQLValue, b: TraceQLValue): TraceQLValue {
  if (a.type === 'int' && b.type === 'int') {
    const x = a.value;
    const y = b.value;
    switch (op) {
      case '+':
        return { type: 'int', value: int64(x + y) };
      case '-':
        return { type: 'int', value: int64(x - y) };
      case '*':
        return { type: 'int', value: int64(x * y) };
      case '/':
        return y === 0n ? NIL : { type: 'int', value: int64(x / y) };
      case '%':
        return y === 0n ? NIL : { type: 'int', value: x % y };
      case '^':
        return y < 0n ? { type: 'float', value: Number(x) ** Number(y) } : { type: 'int', value: intPower(x, y) };
    }
  }
  const x = toFloat(a);
  const y = toFloat(b);
  if (x === undefined || y === undefined) return NIL;
  switch (op) {
    case '+':
      return { type: 'float', value: x + y };
    case '-':
      return { type: 'float', value: x - y };
    case '*':
      return { type: 'float', value: x * y };
    case '/':
      return y === 0 ? NIL : { type: 'float', value: x / y };
    case '%':
      return y === 0 ? NIL : { type: 'float', value: x % y };
    case '^':
      return { type: 'float', value: x ** y };
  }
}

/** A numeric value as a float (durations in nanoseconds), or undefined for other types. */
export function toFloat(value: TraceQLValue): number | undefined {
  switch (value.type) {
    case 'int':
    case 'duration':
      return Number(value.value);
    case 'float':
      return value.value;
    default:
      return undefined;
  }
}

/** Unary minus: ints wrap like Go, durations stay durations; anything else is nil. */
export function negate(value: TraceQLValue): TraceQLValue {
  switch (value.type) {
    case 'int':
      return { type: 'int', value: int64(-value.value) };
    case 'float':
      return { type: 'float', value: -value.value };
    case 'duration':
      return { type: 'duration', value: durationNanos(int64(-value.value)) };
    default:
      return NIL;
  }
}

/**
 * Formats nanoseconds as Go's `time.Duration.String()` does, which is how Tempo renders
 * durations: `0s`, `850ns`, `1.5µs`, `100ms`, `1.5s`, `1m30s`, `1h0m0s`.
 */
export function formatGoDuration(nanos: bigint): string {
  if (nanos === 0n) return '0s';
  const sign = nanos < 0n ? '-' : '';
  const u = nanos < 0n ? -nanos : nanos;
  if (u < 1_000n) return `${sign}${u}ns`;
  if (u < 1_000_000n) return `${sign}${decimal(u, 3)}µs`;
  if (u < 1_000_000_000n) return `${sign}${decimal(u, 6)}ms`;
  const seconds = u / 1_000_000_000n;
  let text = `${seconds % 60n}${fraction(u % 1_000_000_000n, 9)}s`;
  const minutes = seconds / 60n;
  if (minutes > 0n) {
    text = `${minutes % 60n}m${text}`;
    const hours = minutes / 60n;
    if (hours > 0n) text = `${hours}h${text}`;
  }
  return sign + text;
}

/** `value / 10^digits` in decimal, trailing zeros of the fraction trimmed. */
function decimal(value: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  return `${value / scale}${fraction(value % scale, digits)}`;
}

/** `.fff` for a remainder of `digits` decimal places, trailing zeros trimmed; '' for zero. */
function fraction(remainder: bigint, digits: number): string {
  if (remainder === 0n) return '';
  return `.${remainder.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

/**
 * Renders a value as text, the way Tempo's search response shows it: status and kind as words,
 * durations as Go durations, `nil` as "nil" (the label of the `by()` group of missing values),
 * arrays as `[a, b]`.
 */
export function traceqlValueToText(value: TraceQLValue): string {
  switch (value.type) {
    case 'nil':
      return 'nil';
    case 'bool':
      return value.value ? 'true' : 'false';
    case 'int':
      return value.value.toString();
    case 'float':
      return String(value.value);
    case 'duration':
      return formatGoDuration(value.value);
    case 'string':
    case 'status':
    case 'kind':
      return value.value;
    case 'array':
      return `[${value.value.map((v) => traceqlValueToText(v)).join(', ')}]`;
  }
}

/**
 * Converts a value to an OTLP value for a search response's span or spanset `attributes`, as
 * Tempo does: ints, floats, bools, strings and arrays keep their types; durations, statuses,
 * kinds and nil become strings (`1.5s`, `error`, `server`, `nil`).
 */
export function traceqlValueToAnyValue(value: TraceQLValue): AnyValue {
  switch (value.type) {
    case 'bool':
      return { type: 'bool', value: value.value };
    case 'int':
      return { type: 'int', value: value.value };
    case 'float':
      return { type: 'double', value: value.value };
    case 'array':
      return { type: 'array', value: value.value.map((v) => traceqlValueToAnyValue(v)) };
    default:
      return { type: 'string', value: traceqlValueToText(value) };
  }
}

/** A key for grouping equal values (`by()`): equal when type and value are equal. */
export function valueKey(value: TraceQLValue): string {
  switch (value.type) {
    case 'nil':
      return 'nil';
    case 'array':
      return `array:[${value.value.map((v) => valueKey(v)).join(',')}]`;
    case 'string':
      return `string:${JSON.stringify(value.value)}`;
    default:
      return `${value.type}:${String(value.value)}`;
  }
}
