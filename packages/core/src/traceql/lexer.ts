/**
 * The TraceQL lexer (spec §2, after Tempo's `pkg/traceql/lexer.go`, which builds on Go's
 * text/scanner). It is context-sensitive in one place only: after `.`, `span.`, `resource.`,
 * `event.`, `link.`, `instrumentation.` or `parent.` it reads an attribute name up to whitespace or
 * one of `{ } ( ) = ~ ! < > & | ^ ,`, so `.foo-bar` and `.a+1` are names. That state depends on
 * the previous characters only, so the lexer runs without the parser.
 */

import type { DurationNanos } from '../model/units.ts';
import { durationNanos } from '../model/units.ts';
import type { AttributeScope, IntrinsicName } from './ast.ts';
import { TraceQLError } from './traceql-error.ts';

/** Operators and delimiters, matched longest first (`!>>` before `!>` before `!`). */
export type TraceQLPunctuation =
  | '{'
  | '}'
  | '('
  | ')'
  | ','
  | '='
  | '!='
  | '=~'
  | '!~'
  | '<'
  | '<='
  | '>'
  | '>='
  | '>>'
  | '<<'
  | '~'
  | '!>'
  | '!<'
  | '!>>'
  | '!<<'
  | '&>'
  | '&<'
  | '&>>'
  | '&<<'
  | '&~'
  | '&&'
  | '||'
  | '!'
  | '|'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^';

/**
 * Where a token starts and ends: UTF-16 offsets (`end` exclusive), 1-based line and column
 * (columns in code points), and the exact source text.
 */
export interface TraceQLTokenPosition {
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly col: number;
  readonly text: string;
}

/**
 * One token. `word` covers keywords and identifiers alike (`true`, `status`, `count`, `with`,
 * `minInt`, `foo`): which words mean what depends on where they stand, so the parser decides.
 * `intrinsic` is only the scoped spelling (`span:duration`); unscoped intrinsics are words.
 * `!~` is one punctuation token; the parser reads it as "not regex" inside `{ }` and as "not
 * sibling" between spansets.
 */
export type TraceQLToken =
  | (TraceQLTokenPosition & { readonly kind: 'punct'; readonly value: TraceQLPunctuation })
  | (TraceQLTokenPosition & { readonly kind: 'word'; readonly value: string })
  | (TraceQLTokenPosition & { readonly kind: 'string'; readonly value: string })
  | (TraceQLTokenPosition & { readonly kind: 'int'; readonly value: bigint })
  | (TraceQLTokenPosition & { readonly kind: 'float'; readonly value: number })
  | (TraceQLTokenPosition & { readonly kind: 'duration'; readonly value: DurationNanos })
  | (TraceQLTokenPosition & {
      readonly kind: 'attribute';
      readonly scope: AttributeScope;
      readonly parent: boolean;
      readonly name: string;
    })
  | (TraceQLTokenPosition & { readonly kind: 'intrinsic'; readonly name: IntrinsicName })
  | (TraceQLTokenPosition & { readonly kind: 'eof' });

/** A pull lexer over one query: `next()` returns the following token, then `eof` forever. */
export interface TraceQLLexer {
  next(): TraceQLToken;
}

/** Every operator and bracket of TraceQL, longest first where one is a prefix of another. */
export const TRACEQL_PUNCTUATION: readonly TraceQLPunctuation[] = [
  '!>>',
  '!<<',
  '&>>',
  '&<<',
  '!=',
  '!~',
  '!>',
  '!<',
  '=~',
  '<=',
  '>=',
  '>>',
  '<<',
  '&&',
  '||',
  '&>',
  '&<',
  '&~',
  '{',
  '}',
  '(',
  ')',
  ',',
  '=',
  '<',
  '>',
  '~',
  '!',
  '|',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
];

/** TraceQLPunctuation grouped by first character, longest first within each group. */
const PUNCTUATION_BY_FIRST: ReadonlyMap<string, readonly TraceQLPunctuation[]> = (() => {
  const byFirst = new Map<string, TraceQLPunctuation[]>();
  for (const p of TRACEQL_PUNCTUATION) byFirst.set(p[0], [...(byFirst.get(p[0]) ?? []), p]);
  return byFirst;
})();

const DOT_SCOPES: ReadonlyMap<string, AttributeScope | 'parent'> = new Map([
  ['span', 'span'],
  ['resource', 'resource'],
  ['event', 'event'],
  ['link', 'link'],
  ['instrumentation', 'instrumentation'],
  ['parent', 'parent'],
]);

/** The scoped intrinsics, exactly the table of spec §3.2. `trace:rootServiceName` is not one. */
const SCOPED_INTRINSICS: ReadonlyMap<string, IntrinsicName> = new Map<string, IntrinsicName>([
  ['span:name', 'span:name'],
  ['span:status', 'span:status'],
  ['span:statusMessage', 'span:statusMessage'],
  ['span:kind', 'span:kind'],
  ['span:duration', 'span:duration'],
  ['span:id', 'span:id'],
  ['span:parentID', 'span:parentID'],
  ['span:childCount', 'span:childCount'],
  ['trace:duration', 'trace:duration'],
  ['trace:rootName', 'trace:rootName'],
  ['trace:rootService', 'trace:rootService'],
  ['trace:id', 'trace:id'],
  ['event:name', 'event:name'],
  ['event:timeSinceStart', 'event:timeSinceStart'],
  ['link:traceID', 'link:traceID'],
  ['link:spanID', 'link:spanID'],
  ['instrumentation:name', 'instrumentation:name'],
  ['instrumentation:version', 'instrumentation:version'],
]);
const COLON_SCOPES = new Set(['span', 'trace', 'event', 'link', 'instrumentation']);

const WORD = /[\p{L}_][\p{L}\p{Nd}_]*/uy;
const DIGITS = /[0-9]*/y;
const EXPONENT = /[eE][+-]?[0-9]+/y;
/** What Tempo lets follow a number before deciding whether it is a duration. */
const DURATION_TAIL = /[0-9.nsumhdwyµμ]+/y;
const INT64_MAX = (1n << 63n) - 1n;

/**
 * True if `c` may be part of an unquoted attribute name: anything but Go's `unicode.IsSpace`
 * and `{ } ( ) = ~ ! < > & | ^ ,`. Note that `+ - * / % . : "` and digits are name characters.
 */
export function isAttributeNameChar(c: string): boolean {
  return !isGoSpace(c) && !'{}()=~!<>&|^,'.includes(c);
}

function isGoSpace(c: string): boolean {
  switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case '\u0085':
    case '\u00a0':
    case '\u1680':
    case '\u2028':
    case '\u2029':
    case '\u202f':
    case '\u205f':
    case '\u3000':
      return true;
    default:
      return c >= '\u2000' && c <= '\u200a';
  }
}

/**
 * Creates a pull lexer for `source`. `next()` throws a `TraceQLError` (code `syntax`) for an
 * unterminated string or comment, a bad escape, an out-of-range number, an unknown scoped
 * intrinsic (`trace:status`) or a character that starts no token.
 *
 * Differences from Tempo, all in corners: a scoped intrinsic must be written without spaces
 * (`span:duration`, not `span: duration`); integers are decimal only (Go's scanner also reads
 * `0x1f` and then fails in `Atoi`); `μs` (Greek mu) is accepted next to `µs` (micro sign).
 */
export function createTraceQLLexer(source: string): TraceQLLexer {
  let pos = 0;
  // Line and column of `pos`, advanced incrementally as tokens are produced.
  let cursor = 0;
  let line = 1;
  let col = 1;

  function moveCursorTo(offset: number): void {
    for (; cursor < offset; cursor++) {
      const c = source.charCodeAt(cursor);
      if (c === 10) {
        line++;
        col = 1;
      } else if (!(c >= 0xdc00 && c <= 0xdfff && cursor > 0 && isHigh(source.charCodeAt(cursor - 1)))) {
        col++;
      }
    }
  }

  function fail(reason: string, start: number, end = start + 1): never {
    throw new TraceQLError('syntax', reason, source, start, Math.min(end, source.length));
  }

  function position(start: number, end: number): TraceQLTokenPosition {
    moveCursorTo(start);
    return { start, end, line, col, text: source.slice(start, end) };
  }

  function skipSpaceAndComments(): void {
    for (;;) {
      const c = source[pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        pos++;
      } else if (c === '/' && source[pos + 1] === '/') {
        const nl = source.indexOf('\n', pos);
        pos = nl === -1 ? source.length : nl + 1;
      } else if (c === '/' && source[pos + 1] === '*') {
        const close = source.indexOf('*/', pos + 2);
        if (close === -1) fail('unterminated comment: expected "*/"', pos, pos + 2);
        pos = close + 2;
      } else {
        return;
      }
    }
  }

  function scan(): TraceQLToken {
    skipSpaceAndComments();
    const start = pos;
    if (pos >= source.length) return { ...position(start, start), kind: 'eof' };
    const c = source[pos];
    if (c === '"') return goString(start);
    if (c === '`') return rawString(start);
    if (isDigit(c) || (c === '.' && isDigit(source[pos + 1]))) return number(start);
    if (c === '.') {
      pos++;
      return attribute(start, 'none', false);
    }
    const word = isWordStart(c) ? readWord() : undefined;
    if (word !== undefined) {
      pos += word.length;
      const scope = DOT_SCOPES.get(word);
      if (scope !== undefined && source[pos] === '.') {
        pos++;
        if (scope !== 'parent') return attribute(start, scope, false);
        // `parent.span.x` and `parent.resource.x`: only the first prefix after `parent.` is a scope.
        for (const inner of ['span', 'resource'] as const) {
          if (source.startsWith(`${inner}.`, pos)) {
            pos += inner.length + 1;
            return attribute(start, inner, true);
          }
        }
        return attribute(start, 'none', true);
      }
      if (COLON_SCOPES.has(word) && source[pos] === ':') return scopedIntrinsic(start, word);
      return { ...position(start, pos), kind: 'word', value: word };
    }
    for (const p of PUNCTUATION_BY_FIRST.get(c) ?? []) {
      if (source.startsWith(p, pos)) {
        pos += p.length;
        return { ...position(start, pos), kind: 'punct', value: p };
      }
    }
    const cp = String.fromCodePoint(source.codePointAt(pos)!);
    return fail(`unexpected character ${JSON.stringify(cp)}`, start, start + cp.length);
  }

  function readWord(): string | undefined {
    WORD.lastIndex = pos;
    return WORD.exec(source)?.[0];
  }

  function scopedIntrinsic(start: number, scope: string): TraceQLToken {
    pos++; // the colon
    const word = readWord();
    if (word === undefined) fail(`expected an intrinsic name after "${scope}:"`, pos);
    pos += word.length;
    const text = source.slice(start, pos);
    const name = SCOPED_INTRINSICS.get(text);
    if (name === undefined) fail(`unknown intrinsic "${text}"`, start, pos);
    return { ...position(start, pos), kind: 'intrinsic', name };
  }

  function attribute(start: number, scope: AttributeScope, parent: boolean): TraceQLToken {
    const nameStart = pos;
    let name = '';
    for (;;) {
      const c = source[pos];
      if (c === '"') {
        name += quotedNamePart();
      } else if (c !== undefined && isAttributeNameChar(c)) {
        name += c;
        pos++;
      } else {
        break;
      }
    }
    if (pos === nameStart) {
      const prefix = source.slice(start, nameStart);
      fail(`expected an attribute name after "${prefix}"`, nameStart);
    }
    return { ...position(start, pos), kind: 'attribute', scope, parent, name };
  }

  /** `"…"` inside an attribute name: only `\"` and `\\` are escapes (spec §2). */
  function quotedNamePart(): string {
    const open = pos;
    pos++;
    let out = '';
    for (;;) {
      const c = source[pos];
      if (c === undefined) fail('unterminated quoted attribute name: expected "\\""', open, pos);
      if (c === '"') {
        pos++;
        return out;
      }
      if (c === '\\') {
        const e = source[pos + 1];
        if (e !== '"' && e !== '\\') {
          fail('invalid escape in a quoted attribute name: only \\" and \\\\ are allowed', pos, pos + 2);
        }
        out += e;
        pos += 2;
      } else {
        out += c;
        pos++;
      }
    }
  }

  function number(start: number): TraceQLToken {
    DIGITS.lastIndex = pos;
    pos += DIGITS.exec(source)![0].length;
    let isFloat = false;
    if (source[pos] === '.') {
      isFloat = true;
      pos++;
      DIGITS.lastIndex = pos;
      pos += DIGITS.exec(source)![0].length;
    }
    EXPONENT.lastIndex = pos;
    const exponent = EXPONENT.exec(source)?.[0];
    if (exponent !== undefined) {
      isFloat = true;
      pos += exponent.length;
    }
    const numberText = source.slice(start, pos);
    // A number followed directly by unit letters is a duration if the whole run parses as one;
    // otherwise the number stands alone and the letters become the next token (an error later).
    DURATION_TAIL.lastIndex = pos;
    const tail = DURATION_TAIL.exec(source)?.[0];
    if (tail !== undefined) {
      const nanos = parseDuration(numberText + tail);
      if (nanos !== undefined) {
        pos += tail.length;
        return { ...position(start, pos), kind: 'duration', value: nanos };
      }
    }
    if (isFloat) {
      const value = Number(numberText);
      if (!Number.isFinite(value)) fail(`float ${numberText} is out of range`, start, pos);
      return { ...position(start, pos), kind: 'float', value };
    }
    const value = BigInt(numberText);
    if (value > INT64_MAX) fail(`integer ${numberText} is out of range (int64)`, start, pos);
    return { ...position(start, pos), kind: 'int', value };
  }

  /** A Go interpreted string literal, decoded as `strconv.Unquote` does (bytes, then UTF-8). */
  function goString(start: number): TraceQLToken {
    pos++;
    const bytes: number[] = [];
    const encoder = new TextEncoder();
    let chunkStart = pos;
    const flush = (): void => {
      if (pos > chunkStart) bytes.push(...encoder.encode(source.slice(chunkStart, pos)));
    };
    for (;;) {
      const c = source[pos];
      if (c === undefined || c === '\n') fail('unterminated string: expected "\\""', start, pos);
      if (c === '"') {
        flush();
        pos++;
        break;
      }
      if (c !== '\\') {
        pos++;
        continue;
      }
      flush();
      bytes.push(...readEscape());
      chunkStart = pos;
    }
    const value = new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array(bytes));
    return { ...position(start, pos), kind: 'string', value };
  }

  /** One escape sequence at `pos` (the backslash); returns its bytes and moves past it. */
  function readEscape(): number[] {
    const at = pos;
    const e = source[pos + 1];
    const simple = SIMPLE_ESCAPES[e as keyof typeof SIMPLE_ESCAPES];
    if (simple !== undefined) {
      pos += 2;
      return [simple];
    }
    const hex = (n: number): number => {
      const digits = source.slice(pos + 2, pos + 2 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digits)) {
        fail(`invalid escape "\\${e}": expected ${n} hexadecimal digits`, at, pos + 2 + n);
      }
      pos += 2 + n;
      return Number.parseInt(digits, 16);
    };
    if (e === 'x') return [hex(2)];
    if (e === 'u' || e === 'U') {
      const cp = hex(e === 'u' ? 4 : 8);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail('escape is not a valid Unicode code point', at, pos);
      return [...new TextEncoder().encode(String.fromCodePoint(cp))];
    }
    if (e !== undefined && e >= '0' && e <= '7') {
      const digits = source.slice(pos + 1, pos + 4);
      if (!/^[0-7]{3}$/.test(digits) || Number.parseInt(digits, 8) > 255) {
        fail('invalid octal escape: expected three octal digits up to \\377', at, pos + 4);
      }
      pos += 4;
      return [Number.parseInt(digits, 8)];
    }
    const shown = e === undefined ? '\\' : `\\${e}`;
    return fail(`invalid escape "${shown}" in string`, at, pos + 2);
  }

  function rawString(start: number): TraceQLToken {
    const close = source.indexOf('`', pos + 1);
    if (close === -1) fail('unterminated raw string: expected "`"', start, source.length);
    pos = close + 1;
    // Go's strconv.Unquote drops carriage returns from raw strings.
    const value = source.slice(start + 1, close).replace(/\r/g, '');
    return { ...position(start, pos), kind: 'string', value };
  }

  let done = false;
  let eof: TraceQLToken | undefined;
  return {
    next(): TraceQLToken {
      if (done) return eof!;
      const token = scan();
      if (token.kind === 'eof') {
        done = true;
        eof = token;
      }
      return token;
    },
  };
}

const SIMPLE_ESCAPES = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 92,
  '"': 34,
} as const;

/**
 * Every token of `source`, ending with one `eof` token. Throws a `TraceQLError` (code `syntax`)
 * at the first lexical error; see {@link createTraceQLLexer} for what the lexer accepts.
 */
export function tokenizeTraceQL(source: string): readonly TraceQLToken[] {
  const lexer = createTraceQLLexer(source);
  const tokens: TraceQLToken[] = [];
  for (;;) {
    const token = lexer.next();
    tokens.push(token);
    if (token.kind === 'eof') return tokens;
  }
}

const NANOS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
  w: 604_800_000_000_000n,
  y: 31_536_000_000_000_000n,
};

const PROMETHEUS_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const PROMETHEUS_UNITS = ['y', 'w', 'd', 'h', 'm', 's', 'ms'] as const;
const GO_DURATION_PART = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a duration the way Tempo does (spec §2): first Prometheus syntax (integers, units
 * `y w d h m s ms` in that order, each at most once), then Go's `time.ParseDuration` (fractions,
 * any order, units `ns us µs ms s m h`). Returns nanoseconds, or undefined if neither accepts
 * the text or the value passes int64. Exported for tests; not a general-purpose parser (no sign).
 */
export function parseDuration(text: string): DurationNanos | undefined {
  const prometheus = PROMETHEUS_DURATION.exec(text);
  if (text !== '' && prometheus !== null) {
    let total = 0n;
    PROMETHEUS_UNITS.forEach((unit, i) => {
      const digits = prometheus[i + 1];
      if (digits !== undefined) total += BigInt(digits) * NANOS[unit];
    });
    if (total <= INT64_MAX) return durationNanos(total);
  }
  let total = 0n;
  let at = 0;
  while (at < text.length) {
    GO_DURATION_PART.lastIndex = at;
    const part = GO_DURATION_PART.exec(text);
    if (part === null) return undefined;
    const [whole, intDigits, fracDigits = '', unit] = part;
    if (intDigits === '' && fracDigits === '') return undefined;
    const scale = 10n ** BigInt(fracDigits.length);
    const frac = fracDigits === '' ? 0n : BigInt(fracDigits);
    total += BigInt(intDigits || '0') * NANOS[unit] + (frac * NANOS[unit]) / scale;
    at += whole.length;
  }
  return at > 0 && total <= INT64_MAX ? durationNanos(total) : undefined;
}

/** Cheap pre-check before the Unicode word regex: ASCII letters, `_`, or anything non-ASCII. */
function isWordStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c >= '\u0080';
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
