import {
  type AnyValue,
  anyValueFromJson,
  anyValueToJson,
  attributesFromJson,
  attributesToJson,
  type KeyValue,
} from '@ariadne/core';

/**
 * How stores keep attributes: one string per attribute, `key RS type value`, so that a column of
 * them compresses well (most key/value pairs repeat) and an equality search is one list lookup.
 *
 * Type tags: `s` string, `i` int64 (decimal), `d` double (shortest round-trip text, `-0`, `NaN`,
 * `Infinity`), `b` bool (`1`/`0`), `j` anything else as OTLP JSON (bytes, arrays, kvlists, empty).
 * The separators (0x1E between key and value, 0x1F between attributes) and the escape 0x1D are
 * escaped inside keys and values, so any string survives a round trip.
 */

const ESC = '\x1d';
const KV_SEP = '\x1e';
export const ATTR_SEP = '\x1f';
const NEEDS_ESCAPE = /[\x1d-\x1f]/;

function escapeSeparators(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(/[\x1d-\x1f]/g, (c) => ESC + String.fromCharCode(48 + c.charCodeAt(0) - 0x1d));
}

function unescapeSeparators(text: string): string {
  if (!text.includes(ESC)) return text;
  return text.replace(/\x1d([012])/g, (_, d: string) => String.fromCharCode(0x1d + Number(d)));
}

/** Encodes a value with its type tag (without escaping). */
function encodeValue(value: AnyValue): string {
  switch (value.type) {
    case 'string':
      return `s${value.value}`;
    case 'int':
      return `i${value.value}`;
    case 'double':
      return `d${Object.is(value.value, -0) ? '-0' : String(value.value)}`;
    case 'bool':
      return value.value ? 'b1' : 'b0';
    default:
      return `j${JSON.stringify(anyValueToJson(value))}`;
  }
}

function decodeValue(text: string): AnyValue {
  const body = text.slice(1);
  switch (text[0]) {
    case 's':
      return { type: 'string', value: body };
    case 'i':
      return { type: 'int', value: BigInt(body) };
    case 'd':
      return { type: 'double', value: body === '-0' ? -0 : Number(body) };
    case 'b':
      return { type: 'bool', value: body === '1' };
    case 'j':
      return anyValueFromJson(JSON.parse(body), 'attribute');
    default:
      throw new Error(`corrupt attribute value tag ${JSON.stringify(text[0])}`);
  }
}

/** One attribute as stored: `attributeKeyPrefix(key)` followed by the encoded value. */
export function encodeAttribute(kv: KeyValue): string {
  return attributeKeyPrefix(kv.key) + escapeSeparators(encodeValue(kv.value));
}

/** The part of every stored attribute with this key that comes before the value. */
export function attributeKeyPrefix(key: string): string {
  return escapeSeparators(key) + KV_SEP;
}

/** The value part of a stored attribute (after its key prefix). */
export function attributeValueText(encoded: string): string {
  return encoded.slice(encoded.indexOf(KV_SEP) + 1);
}

/** The key of a stored key part (what precedes the separator), unescaped. */
export function decodeAttributeKey(storedKey: string): string {
  return unescapeSeparators(storedKey);
}

/** Inverse of `encodeAttribute`. */
export function decodeAttribute(text: string): KeyValue {
  const sep = text.indexOf(KV_SEP);
  if (sep < 0) throw new Error('corrupt attribute: no separator');
  return { key: unescapeSeparators(text.slice(0, sep)), value: decodeValue(unescapeSeparators(text.slice(sep + 1))) };
}

/** All attributes joined into one string with `ATTR_SEP` (empty string for none). */
export function encodeAttributeList(attributes: readonly KeyValue[]): string {
  let out = '';
  for (let i = 0; i < attributes.length; i++) {
    if (i > 0) out += ATTR_SEP;
    out += encodeAttribute(attributes[i]);
  }
  return out;
}

/** The stored forms an attribute filter `key=value` can match: as string, int, double or bool. */
export function attributeFilterCandidates(key: string, value: string): string[] {
  const k = escapeSeparators(key) + KV_SEP;
  const out = [k + escapeSeparators(`s${value}`)];
  if (/^-?\d{1,19}$/.test(value)) {
    try {
      const n = BigInt(value);
      if (n >= -(2n ** 63n) && n < 2n ** 63n) out.push(`${k}i${n}`);
    } catch {
      // not an integer after all
    }
  }
  const d = Number(value);
  if (value.trim() !== '' && !Number.isNaN(d)) out.push(`${k}d${Object.is(d, -0) ? '-0' : String(d)}`);
  if (value === 'true') out.push(`${k}b1`);
  if (value === 'false') out.push(`${k}b0`);
  return out;
}

/** Attributes as an OTLP JSON string, for resources, scopes, events and links. */
export function attributesToJsonText(attributes: readonly KeyValue[]): string {
  return JSON.stringify(attributesToJson(attributes));
}

/** Inverse of `attributesToJsonText`. */
export function attributesFromJsonText(text: string): KeyValue[] {
  return attributesFromJson(JSON.parse(text), 'attributes');
}
