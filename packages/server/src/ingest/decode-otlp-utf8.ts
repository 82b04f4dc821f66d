import { Buffer } from 'node:buffer';

/**
 * Text that is not UTF-8, in both OTLP encodings. Protobuf requires `string` fields to be UTF-8 and
 * JSON requires its text to be, but decoding with replacement (as Node's Buffer and TextDecoder
 * do) would store U+FFFD in place of the bad bytes without anyone knowing. Instead each byte that
 * is not part of a valid sequence becomes the lone surrogate U+DC00 + byte, as Python's
 * `surrogateescape` does: lossless, and recognisable afterwards, because no valid UTF-8 decodes to
 * a lone surrogate. Validation then rejects the spans that hold such text (partial success).
 */

/**
 * The length (1 to 4) of the valid UTF-8 sequence at `bytes[i]`, or 0 if there is none: a stray
 * continuation byte, an overlong form, an encoded surrogate, a code point beyond U+10FFFF, or a
 * sequence cut short by `end` (Unicode, table 3-7 "Well-Formed UTF-8 Byte Sequences").
 */
export function utf8SequenceLength(bytes: Uint8Array, i: number, end: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) length = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    length = 3;
    if (b === 0xe0) low = 0xa0;
    else if (b === 0xed) high = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    length = 4;
    if (b === 0xf0) low = 0x90;
    else if (b === 0xf4) high = 0x8f;
  } else return 0;
  if (i + length > end) return 0;
  const second = bytes[i + 1];
  if (second < low || second > high) return 0;
  for (let k = 2; k < length; k++) {
    const c = bytes[i + k];
    if (c < 0x80 || c > 0xbf) return 0;
  }
  return length;
}

/**
 * Decodes `bytes[start, end)`, which is not valid UTF-8: valid sequences as their characters,
 * every other byte `b` as the lone surrogate U+DC00 + `b` (see the file comment).
 */
export function decodeUtf8Escaping(bytes: Uint8Array, start: number, end: number): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = '';
  let run = start;
  let i = start;
  while (i < end) {
    const n = utf8SequenceLength(bytes, i, end);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buffer.toString('utf8', run, i) + String.fromCharCode(0xdc00 + bytes[i]);
    i++;
    run = i;
  }
  return out + buffer.toString('utf8', run, end);
}

/** The text of a JSON body that is not valid UTF-8, or where the first bad byte lies outside a string. */
export type EscapedJsonText = { readonly text: string } | { readonly invalidAt: number };

/**
 * The text of a JSON body that is not valid UTF-8, with every byte that is not part of a valid
 * sequence inside a string written as the escape `\udcXX` (XX the byte): JSON.parse then gives the
 * same lone surrogates as `decodeUtf8Escaping` does for protobuf, so both encodings reject the same
 * spans. A bad byte outside a string, or straight after a backslash, makes the body malformed JSON
 * whatever it means: its offset is returned instead.
 */
export function escapeInvalidUtf8InJson(bytes: Uint8Array): EscapedJsonText {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length;
  let out = '';
  let run = 0;
  let inString = false;
  let escaped = false;
  let i = 0;
  while (i < end) {
    const b = bytes[i];
    if (b < 0x80) {
      if (escaped) escaped = false;
      else if (b === 0x22) inString = !inString;
      else if (b === 0x5c && inString) escaped = true;
      i++;
      continue;
    }
    const n = utf8SequenceLength(bytes, i, end);
    if (n > 0) {
      // A character after a backslash is an invalid escape: left for JSON.parse to refuse.
      escaped = false;
      i += n;
      continue;
    }
    if (!inString || escaped) return { invalidAt: i };
    out += `${buffer.toString('utf8', run, i)}\\udc${b.toString(16)}`;
    i++;
    run = i;
  }
  return { text: out + buffer.toString('utf8', run, end) };
}
