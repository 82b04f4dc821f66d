/**
 * What the TraceQL editor can offer at the cursor: the kind of spot (a field, an attribute name
 * after `resource.`, an operator, a value …) worked out from the text before the cursor. Pure, so
 * that the rules are tested without a browser; the editor turns a spot into suggestions.
 *
 *   { resource.serv|                 attribute names of scope resource, from after "resource."
 *   { status = |                     values of status
 *   { span.http.method = "GE|        values of span.http.method, from the opening quote
 *   { name = "x" |                   && || }
 *   { a } |                          spanset operators and |
 *   { a } | |                        count() by() select() …
 *
 * The scan is tolerant where the parser is not (unfinished strings and names are what a cursor
 * sits in); it does not parse, so a spot inside a query that is wrong elsewhere is still found.
 */

import { INTRINSIC_TYPES, type IntrinsicType, TRACEQL_PUNCTUATION } from '@ariadne/core';

/** An attribute scope as written before the name: `.` is `none`. */
export type CompletionScope = 'none' | 'span' | 'resource' | 'event' | 'link' | 'instrumentation';

/** Where the cursor is, and from which offset a suggestion replaces the text. */
export type CompletionSpot =
  /** Where a spanset starts, outside `{ }`. */
  | { readonly kind: 'spanset'; readonly from: number }
  /** After a whole spanset: `&&`, `>>` … or `|`. */
  | { readonly kind: 'afterSpanset'; readonly from: number }
  /** After `|`: aggregates and pipeline functions. */
  | { readonly kind: 'pipeline'; readonly from: number }
  /** Where a field starts, inside `{ }` or `by( )`. */
  | { readonly kind: 'field'; readonly from: number }
  /** The name part of an attribute (`from` is just after `resource.`). */
  | { readonly kind: 'attribute'; readonly scope: CompletionScope; readonly from: number }
  /** After a field: comparison operators. */
  | { readonly kind: 'operator'; readonly from: number; readonly field: string }
  /**
   * After `field op`: values of `field` (its text as written: `resource.service.name`, `status`).
   * `where` is the spanset's earlier conditions when they are joined to this one by `&&`
   * (`{ resource.service.name = "order" }` for `{ resource.service.name = "order" && span.x = ‸`):
   * values outside them cannot match, so the tags API is asked for values under them.
   */
  | { readonly kind: 'value'; readonly from: number; readonly field: string; readonly where?: string }
  /** After a whole condition inside `{ }`: `&&`, `||`, `}`. */
  | { readonly kind: 'connective'; readonly from: number };

type TokenType = 'string' | 'openString' | 'attribute' | 'intrinsic' | 'word' | 'number' | 'punct' | 'other';

interface Token {
  readonly type: TokenType;
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** For attributes: the scope and where the name starts. */
  readonly scope?: CompletionScope;
  readonly nameStart?: number;
}

const DOT_SCOPES: ReadonlyMap<string, CompletionScope> = new Map([
  ['span', 'span'],
  ['resource', 'resource'],
  ['event', 'event'],
  ['link', 'link'],
  ['instrumentation', 'instrumentation'],
  ['parent', 'none'],
]);
const COLON_SCOPES = new Set(['span', 'trace', 'event', 'link', 'instrumentation']);
const COMPARISONS = new Set(['=', '!=', '<', '<=', '>', '>=', '=~', '!~']);
/** Between spansets: the spanset operators, and `(` that groups them. */
const SPANSET_STARTERS = new Set([
  '&&',
  '||',
  '>',
  '<',
  '>>',
  '<<',
  '~',
  '!>',
  '!<',
  '!>>',
  '!<<',
  '!~',
  '&>',
  '&<',
  '&>>',
  '&<<',
  '&~',
  '(',
]);
const FIELD_STARTERS = new Set(['{', '&&', '||', '(', '!', ',', '+', '-', '*', '/', '%', '^']);
const VALUE_WORDS = new Set(['true', 'false', 'nil', 'ok', 'error', 'unset', 'minInt', 'maxInt']);
const FIELD_FUNCTIONS = new Set(['by', 'select', 'avg', 'min', 'max', 'sum']);

/** The unscoped intrinsic spellings (Tempo's older names) and their types. */
export const UNSCOPED_INTRINSICS: Readonly<Record<string, IntrinsicType>> = {
  name: 'string',
  status: 'status',
  statusMessage: 'string',
  kind: 'kind',
  duration: 'duration',
  traceDuration: 'duration',
  rootName: 'string',
  rootServiceName: 'string',
};

/** Every intrinsic a field may be, old and colon spellings, with its type. */
export const INTRINSIC_FIELDS: Readonly<Record<string, IntrinsicType>> = { ...UNSCOPED_INTRINSICS, ...INTRINSIC_TYPES };

function isNameChar(c: string): boolean {
  return !/[\s{}()=~!<>&|^,]/u.test(c);
}

/** Splits `text` into tokens, leniently: an unfinished string or name is a token too. */
function scan(text: string): Token[] | undefined {
  const tokens: Token[] = [];
  const word = /[\p{L}_][\p{L}\p{Nd}_]*/uy;
  let i = 0;
  const push = (type: TokenType, start: number, extra: Partial<Token> = {}) =>
    tokens.push({ type, start, end: i, text: text.slice(start, i), ...extra });
  const readName = () => {
    while (i < text.length) {
      if (text[i] === '"') {
        i++;
        while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
        if (i >= text.length) {
          i = text.length;
          return;
        }
        i++;
      } else if (isNameChar(text[i])) {
        i++;
      } else {
        return;
      }
    }
  };
  while (i < text.length) {
    const c = text[i];
    const start = i;
    if (/\s/u.test(c)) {
      i++;
    } else if (c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return undefined; // the cursor is in a comment
      i = nl + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) return undefined;
      i = close + 2;
    } else if (c === '"' || c === '`') {
      i++;
      while (i < text.length && text[i] !== c) i += c === '"' && text[i] === '\\' ? 2 : 1;
      if (i >= text.length) {
        i = text.length;
        push('openString', start);
      } else {
        i++;
        push('string', start);
      }
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      while (i < text.length && /[0-9.a-zµμ]/.test(text[i])) i++;
      push('number', start);
    } else if (c === '.') {
      i++;
      const nameStart = i;
      readName();
      push('attribute', start, { scope: 'none', nameStart });
    } else {
      word.lastIndex = i;
      const w = word.exec(text)?.[0];
      if (w !== undefined) {
        i += w.length;
        const scope = DOT_SCOPES.get(w);
        if (scope !== undefined && text[i] === '.') {
          i++;
          const nameStart = i;
          readName();
          push('attribute', start, { scope, nameStart });
        } else if (COLON_SCOPES.has(w) && text[i] === ':') {
          i++;
          word.lastIndex = i;
          i += word.exec(text)?.[0].length ?? 0;
          push('intrinsic', start);
        } else {
          push(w in UNSCOPED_INTRINSICS || w.startsWith('nestedSet') ? 'intrinsic' : 'word', start);
        }
      } else {
        const p = TRACEQL_PUNCTUATION.find((op) => text.startsWith(op, i));
        i += p === undefined ? 1 : p.length;
        push(p === undefined ? 'other' : 'punct', start);
      }
    }
  }
  return tokens;
}

function isField(t: Token | undefined): boolean {
  return t !== undefined && (t.type === 'attribute' || t.type === 'intrinsic');
}

function isValue(t: Token | undefined): boolean {
  if (t === undefined) return false;
  return (
    t.type === 'string' ||
    t.type === 'number' ||
    (t.type === 'word' && VALUE_WORDS.has(t.text)) ||
    (t.type === 'punct' && t.text === ')')
  );
}

/** Where the tokens leave us: inside `{ }`, inside a function taking fields, or outside. */
function nesting(tokens: readonly Token[]): 'braces' | 'fieldArgs' | 'outside' {
  let braces = 0;
  const parens: boolean[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.type !== 'punct') continue;
    if (t.text === '{') braces++;
    else if (t.text === '}') braces = Math.max(0, braces - 1);
    else if (t.text === '(' && braces === 0) {
      const before = tokens[k - 1];
      parens.push(before?.type === 'word' && FIELD_FUNCTIONS.has(before.text));
    } else if (t.text === ')' && braces === 0) parens.pop();
  }
  if (braces > 0) return 'braces';
  return parens.at(-1) === true ? 'fieldArgs' : 'outside';
}

/** The spot after `tokens` (the last being the one just before the cursor's word), from `from`. */
function spotAfter(tokens: readonly Token[], from: number): CompletionSpot | undefined {
  const last = tokens.at(-1);
  const where = nesting(tokens);
  if (where === 'outside') {
    if (last === undefined) return { kind: 'spanset', from };
    if (last.type !== 'punct') return undefined;
    if (last.text === '}' || last.text === ')') return { kind: 'afterSpanset', from };
    if (last.text === '|') return { kind: 'pipeline', from };
    return SPANSET_STARTERS.has(last.text) ? { kind: 'spanset', from } : undefined;
  }
  if (last === undefined) return undefined;
  if (last.type === 'punct' && FIELD_STARTERS.has(last.text)) return { kind: 'field', from };
  if (where === 'fieldArgs') return undefined;
  if (isField(last)) return { kind: 'operator', from, field: last.text };
  if (last.type === 'punct' && COMPARISONS.has(last.text)) {
    const field = tokens.at(-2);
    return isField(field) ? { kind: 'value', from, field: field!.text } : undefined;
  }
  if (isValue(last)) return { kind: 'connective', from };
  return undefined;
}

/**
 * The conditions before the field that ends `tokens` (the field, then its operator), as a spanset
 * filter, when they are joined to it by `&&`: `&&` and `||` are one level, left to right, so
 * `{ a || b && x = 1 }` is `(a || b) && x = 1` and everything before the `&&` is a requirement.
 * Undefined with parentheses or `!` in between (then the conditions do not simply come first).
 */
function whereBefore(text: string, tokens: readonly Token[]): string | undefined {
  const and = tokens.at(-3);
  if (and?.type !== 'punct' || and.text !== '&&') return undefined;
  for (let k = tokens.length - 4; k >= 0; k--) {
    const t = tokens[k];
    if (t.type !== 'punct') continue;
    if (t.text === '{') {
      const conditions = text.slice(t.end, and.start).trim();
      return conditions ? `{ ${conditions} }` : undefined;
    }
    if (t.text === '(' || t.text === ')' || t.text === '!' || t.text === '}') return undefined;
  }
  return undefined;
}

/**
 * The completion spot for a cursor at `pos` in `text`, or undefined where nothing fits (inside a
 * comment, right after a finished string, in the middle of a number).
 */
export function completionSpotAt(text: string, pos: number): CompletionSpot | undefined {
  const spot = spotAt(text, pos);
  if (spot?.kind !== 'value') return spot;
  // The tokens up to the operator (the value being typed starts at `from`).
  const tokens = scan(text.slice(0, spot.from)) ?? [];
  const where = whereBefore(text, tokens);
  return where === undefined ? spot : { ...spot, where };
}

function spotAt(text: string, pos: number): CompletionSpot | undefined {
  const tokens = scan(text.slice(0, pos));
  if (tokens === undefined) return undefined;
  const last = tokens.at(-1);
  const touching = last !== undefined && last.end === pos;
  if (!touching) return spotAfter(tokens, pos);
  const before = tokens.slice(0, -1);
  switch (last.type) {
    case 'openString': {
      const spot = spotAfter(before, last.start);
      return spot?.kind === 'value' ? spot : undefined;
    }
    case 'attribute':
      if (nesting(before) === 'outside') return undefined;
      return { kind: 'attribute', scope: last.scope ?? 'none', from: last.nameStart ?? pos };
    case 'word':
    case 'intrinsic':
    case 'number': {
      const spot = spotAfter(before, last.start);
      if (last.type === 'number' && spot?.kind !== 'value') return undefined;
      return spot;
    }
    case 'punct':
      // `status=` is where a value starts; `{`, `&&`, `|` … are where the next thing starts.
      return spotAfter(tokens, pos);
    default:
      return undefined;
  }
}
