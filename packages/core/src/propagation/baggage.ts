/**
 * W3C Baggage (https://www.w3.org/TR/baggage/): the `baggage` header codec.
 *
 * ```
 * baggage-string = list-member 0*179( OWS "," OWS list-member )
 * list-member    = key OWS "=" OWS value *( OWS ";" OWS property )
 * property       = key OWS "=" OWS value / key OWS
 * key            = token                      ; RFC 9110 §5.6.2
 * value          = *baggage-octet             ; percent-encoded UTF-8
 * baggage-octet  = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
 * ```
 */
import type { Baggage, BaggageEntry } from './context.ts';

/** List-members a platform MUST propagate at least, and our limit (Baggage §Limits, condition 1). */
export const BAGGAGE_MAX_MEMBERS = 64;
/** Bytes of baggage-string a platform MUST propagate at least, and our limit (Baggage §Limits, condition 2). */
export const BAGGAGE_MAX_BYTES = 8192;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAGGAGE_OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
const OWS = /^[ \t]+|[ \t]+$/g;
const trimOws = (s: string) => s.replace(OWS, '');
const utf8 = new TextEncoder();

/** True if `key` is a valid baggage key: an RFC 9110 `token` (Baggage §key). */
export function isValidBaggageKey(key: string): boolean {
  return TOKEN.test(key);
}

/**
 * Percent-encodes a baggage value (Baggage §value): the value is UTF-8, every byte outside
 * `baggage-octet` and the percent sign itself are written `%XX` (RFC 3986 §2.1, uppercase hex),
 * every other character is kept. So `DF 28` becomes `DF%2028`.
 */
export function encodeBaggageValue(value: string): string {
  let out = '';
  for (const byte of utf8.encode(value)) {
    const isOctet =
      byte === 0x21 ||
      (byte >= 0x23 && byte <= 0x2b && byte !== 0x25) ||
      (byte >= 0x2d && byte <= 0x3a) ||
      (byte >= 0x3c && byte <= 0x5b) ||
      (byte >= 0x5d && byte <= 0x7e);
    out += isOctet ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Decodes a percent-encoded baggage value as UTF-8 (Baggage §value). Percent-encoded octet
 * sequences that are not valid UTF-8 become U+FFFD, as the spec requires. A `%` not followed by
 * two hex digits is kept literally (the spec does not say; failing the whole header for it
 * would lose the other members).
 */
export function decodeBaggageValue(encoded: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      bytes.push(...utf8.encode(encoded[i]));
    }
  }
  return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(new Uint8Array(bytes));
}

/** One property `key` or `key=value` with OWS trimmed, or `undefined` if it breaks the grammar. */
function normaliseProperty(raw: string): string | undefined {
  const property = trimOws(raw);
  const eq = property.indexOf('=');
  if (eq < 0) return isValidBaggageKey(property) ? property : undefined;
  const key = trimOws(property.slice(0, eq));
  const value = trimOws(property.slice(eq + 1));
  return isValidBaggageKey(key) && BAGGAGE_OCTETS.test(value) ? `${key}=${value}` : undefined;
}

/** A list-member parsed into key and entry, or `undefined` if it breaks the grammar. */
function parseMember(raw: string): readonly [string, BaggageEntry] | undefined {
  const [pair, ...properties] = raw.split(';');
  const eq = pair.indexOf('=');
  if (eq < 0) return undefined;
  const key = trimOws(pair.slice(0, eq));
  const value = trimOws(pair.slice(eq + 1));
  if (!isValidBaggageKey(key) || !BAGGAGE_OCTETS.test(value)) return undefined;
  const normalised = properties.map(normaliseProperty);
  if (normalised.some((p) => p === undefined)) return undefined;
  const entry: BaggageEntry =
    normalised.length === 0
      ? { value: decodeBaggageValue(value) }
      : { value: decodeBaggageValue(value), metadata: normalised.join(';') };
  return [key, Object.freeze(entry)];
}

/**
 * Parses one or several `baggage` header values into {@link Baggage}. Several header fields
 * are combined in order with commas, and the limits apply to the combination, not to each
 * field (Baggage §Limits). Per member: OWS around keys, values and properties is trimmed
 * (§key, §value, §property); the value is percent-decoded (§value); properties are kept as
 * opaque metadata (`k1=v1;k2`). A member that breaks the grammar (no `=`, a key that is not a
 * token, a character outside `baggage-octet`, a bad property) is skipped and the others are
 * kept (§Mutating baggage: an entry not in the format MAY be removed). Limits: the first 64
 * valid members are kept, and members are kept only while the header text they came from fits
 * in 8192 bytes; whole members are dropped, never cut (§Limits: "MUST NOT propagate any
 * partial list-members"). A repeated key keeps its last value.
 */
export function parseBaggage(header: string | readonly string[]): Baggage {
  const combined = typeof header === 'string' ? header : header.join(',');
  const result = new Map<string, BaggageEntry>();
  let count = 0;
  let bytes = 0;
  for (const raw of combined.split(',')) {
    const text = trimOws(raw);
    if (text === '') continue;
    const member = parseMember(text);
    if (member === undefined) continue;
    const size = utf8.encode(text).length + (count === 0 ? 0 : 1);
    if (count >= BAGGAGE_MAX_MEMBERS || bytes + size > BAGGAGE_MAX_BYTES) break;
    count++;
    bytes += size;
    result.set(member[0], member[1]);
  }
  return result;
}

/**
 * The `baggage` header value for `baggage`: `key=value;metadata` members joined by `,`, values
 * percent-encoded (§value). Members whose key is not a token or whose metadata breaks the
 * property grammar are left out (they cannot be sent). The result has at most 64 members and
 * at most 8192 bytes: members that would go past a limit are dropped whole (§Limits), a
 * member too big to fit is skipped and smaller later ones still go. Empty string when nothing
 * is left (callers then send no header).
 */
export function serializeBaggage(baggage: Baggage): string {
  const members: string[] = [];
  let bytes = 0;
  for (const [key, entry] of baggage) {
    if (members.length >= BAGGAGE_MAX_MEMBERS) break;
    if (!isValidBaggageKey(key)) continue;
    let member = `${key}=${encodeBaggageValue(entry.value)}`;
    if (entry.metadata !== undefined && trimOws(entry.metadata) !== '') {
      const props = entry.metadata.split(';').map(normaliseProperty);
      if (props.some((p) => p === undefined)) continue;
      member += `;${props.join(';')}`;
    }
    const size = utf8.encode(member).length + (members.length === 0 ? 0 : 1);
    if (bytes + size > BAGGAGE_MAX_BYTES) continue;
    bytes += size;
    members.push(member);
  }
  return members.join(',');
}

/**
 * Baggage from plain entries, in the given order: a string is a value without metadata. Keys
 * are not validated here; {@link serializeBaggage} leaves out keys that are not tokens.
 */
export function createBaggage(entries: Readonly<Record<string, string | BaggageEntry>>): Baggage {
  const map = new Map<string, BaggageEntry>();
  for (const [key, entry] of Object.entries(entries)) {
    map.set(key, Object.freeze(typeof entry === 'string' ? { value: entry } : { ...entry }));
  }
  return map;
}
