/**
 * Cuts a JSON list into pieces of a few elements each, without parsing it, so that a huge list
 * (a 15 MB Zipkin request) can be parsed a piece at a time and never held whole as objects. Each
 * piece is a byte range holding elements and the commas between them: `[` + piece + `]` is a
 * list of those elements, and the pieces joined with commas are the list's elements as sent.
 *
 * Only strings and brackets are looked at: whether each element is valid JSON is left to
 * `JSON.parse` of its piece. What this cannot cut (not a list, trailing bytes, an unterminated
 * string or list, an empty element at a cut) gives undefined, and the caller parses the body
 * whole, which says what is wrong with it.
 *
 * otlp-json-split.ts does the same for OTLP/JSON, on the request's text, following its keys. This
 * one reads the body's bytes instead: the body is never held as one string beside them (15 MB
 * more on the worker's heap for a 15 MB request, with the process near its memory limit), and a
 * Zipkin list has no keys to follow.
 */

import { isWhitespace } from './otlp-json-split.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** A piece of a list: bytes `[start, end)` of the body, holding `count` elements. */
export interface ListPiece {
  readonly start: number;
  readonly end: number;
  readonly count: number;
}

/**
 * The pieces of the JSON list `body`, `perPiece` elements each (the last one fewer), or
 * undefined if the body is not a list this can cut (see the module comment). An empty list has
 * no pieces.
 */
export function jsonListPieces(body: Uint8Array, perPiece: number): ListPiece[] | undefined {
  if (!(perPiece >= 1)) throw new RangeError(`perPiece must be at least 1, not ${perPiece}`);
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const n = bytes.length;
  let i = 0;
  while (i < n && isWhitespace(bytes[i])) i++;
  if (bytes[i] !== OPEN_LIST) return undefined;
  i++;
  const pieces: ListPiece[] = [];
  let start = i;
  let commas = 0;
  let depth = 0;
  let blank = true;
  for (; i < n; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      blank = false;
      i = closingQuote(bytes, i + 1);
      if (i < 0) return undefined;
    } else if (byte === OPEN_LIST || byte === OPEN_OBJECT) {
      blank = false;
      depth++;
    } else if (byte === CLOSE_LIST || byte === CLOSE_OBJECT) {
      if (depth > 0) {
        depth--;
        continue;
      }
      if (byte !== CLOSE_LIST) return undefined;
      // The list's end: only whitespace may follow.
      for (let j = i + 1; j < n; j++) if (!isWhitespace(bytes[j])) return undefined;
      if (blank) {
        // `[]`, or an element missing after a comma (which JSON.parse of the body would refuse).
        return commas === 0 && pieces.length === 0 ? [] : undefined;
      }
      pieces.push({ start, end: i, count: commas + 1 });
      return pieces;
    } else if (byte === COMMA && depth === 0) {
      if (blank) return undefined;
      commas++;
      if (commas === perPiece) {
        pieces.push({ start, end: i, count: perPiece });
        start = i + 1;
        commas = 0;
        blank = true;
      }
    } else if (!isWhitespace(byte)) {
      blank = false;
    }
  }
  return undefined;
}

/** The index of the quote closing a string whose text starts at `from`, or −1 if none does. */
function closingQuote(bytes: Buffer, from: number): number {
  let at = bytes.indexOf(QUOTE, from);
  while (at >= 0) {
    let backslashes = 0;
    while (bytes[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = bytes.indexOf(QUOTE, at + 1);
  }
  return -1;
}

/** The elements of one piece, parsed (throws `SyntaxError` as `JSON.parse` does). */
export function parseListPiece(body: Uint8Array, piece: ListPiece): unknown[] {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return JSON.parse(`[${bytes.toString('utf8', piece.start, piece.end)}]`) as unknown[];
}
