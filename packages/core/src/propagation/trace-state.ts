/**
 * W3C `tracestate` (Trace Context Level 2, §3.3 https://www.w3.org/TR/trace-context-2/#tracestate-header):
 * an ordered list of vendor `key=value` members, the left-most written most recently.
 */

/** Most list-members a tracestate may hold (§3.3.2.1 list: `list-member 0*31( OWS "," OWS list-member )`). */
export const TRACE_STATE_MAX_MEMBERS = 32;
/** Length that vendors SHOULD propagate at least, and our default truncation limit (§3.3.3.1 tracestate Limits). */
export const TRACE_STATE_MAX_LENGTH = 512;
/** Members longer than this are the first to go when truncating (§3.3.3.1). */
const LONG_MEMBER = 128;

// §3.3.2.2.1 Key, current Level 2 grammar. `@` is an ordinary keychar, so the multi-tenant
// form `tenant@system` is one case of it; the Level 1 split into tenant-id (≤ 241) and
// system-id (≤ 14) is gone:
//   key     = ( lcalpha / DIGIT ) 0*255 ( keychar )
//   keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
const KEY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
// §3.3.2.2.2 Value: printable ASCII except "," and "=", at most 256 characters, not ending in a space.
//   value    = 0*255(chr) nblk-chr
//   nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
//   chr      = %x20 / nblk-chr
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
// OWS around list-members: spaces and horizontal tabs (§3.3.2, RFC 9110 OWS).
const OWS = /^[ \t]+|[ \t]+$/g;

/** True if `key` is a valid tracestate key under the current Level 2 grammar (§3.3.2.2.1). */
export function isValidTraceStateKey(key: string): boolean {
  return KEY.test(key);
}

/** True if `value` is a valid tracestate value (§3.3.2.2.2). */
export function isValidTraceStateValue(value: string): boolean {
  return VALUE.test(value);
}

/** Options for {@link TraceState.serialize}. */
export interface TraceStateSerializeOptions {
  /** Longest header to produce, in characters including commas. Defaults to 512 (§3.3.3.1). */
  readonly maxLength?: number;
}

/**
 * An immutable `tracestate`. Every mutation returns a new value and follows §3.5 Mutating the
 * tracestate Field: `set` moves the key to the front (left), `unset` deletes it, the order of
 * other members is kept. It holds valid members only: build it with {@link parseTraceState} or
 * {@link createTraceState}. It does not know which key is "ours"; callers choose the key.
 */
export interface TraceState {
  /** Number of members. */
  readonly size: number;
  /** The value of `key`, or `undefined`. */
  get(key: string): string | undefined;
  /**
   * A trace state with `key=value` at the front (left) and any earlier entry for `key` removed
   * (§3.5 "Update key value", "Add a new key/value pair"). When a new key would make 33
   * members, the right-most member is dropped (§3.3.2.1). Throws a `RangeError` if the key or
   * value does not match the grammar, rather than produce a header receivers discard.
   */
  set(key: string, value: string): TraceState;
  /** A trace state without `key` (§3.5 "Delete a key/value pair"). */
  unset(key: string): TraceState;
  /** The members, left to right. */
  entries(): ReadonlyArray<readonly [string, string]>;
  /**
   * The header value: `key=value` members joined by `,` without optional whitespace. If that
   * is longer than `maxLength` (512 by default) whole members are dropped (§3.3.3.1): members
   * longer than 128 characters first, right-most first, then members from the end, until it
   * fits. Never cuts a member in half. Empty string for an empty trace state (callers should
   * then not send the header, §3.3.2).
   */
  serialize(options?: TraceStateSerializeOptions): string;
}

function fromEntries(entries: ReadonlyArray<readonly [string, string]>): TraceState {
  const members: ReadonlyArray<readonly [string, string]> = Object.freeze(
    entries.map(([k, v]) => Object.freeze([k, v] as const)),
  );
  const state: TraceState = {
    size: members.length,
    get: (key) => members.find(([k]) => k === key)?.[1],
    set(key, value) {
      if (!isValidTraceStateKey(key)) throw new RangeError(`invalid tracestate key: ${key}`);
      if (!isValidTraceStateValue(value)) throw new RangeError(`invalid tracestate value for ${key}: ${value}`);
      const rest = members.filter(([k]) => k !== key);
      const next = [[key, value] as const, ...rest];
      return fromEntries(next.slice(0, TRACE_STATE_MAX_MEMBERS));
    },
    unset: (key) => (members.some(([k]) => k === key) ? fromEntries(members.filter(([k]) => k !== key)) : state),
    entries: () => members,
    serialize(options = {}) {
      const maxLength = options.maxLength ?? TRACE_STATE_MAX_LENGTH;
      const kept = members.map(([k, v]) => `${k}=${v}`);
      const length = () => kept.reduce((n, m) => n + m.length, 0) + Math.max(0, kept.length - 1);
      for (let i = kept.length - 1; i >= 0 && length() > maxLength; i--) {
        if (kept[i].length > LONG_MEMBER) kept.splice(i, 1);
      }
      while (kept.length > 0 && length() > maxLength) kept.pop();
      return kept.join(',');
    },
  };
  return Object.freeze(state);
}

/**
 * A trace state from `[key, value]` pairs, left to right. Throws a `RangeError` if a key or a
 * value is invalid, a key repeats, or there are more than 32 members (§3.3.2).
 */
export function createTraceState(entries: Iterable<readonly [string, string]> = []): TraceState {
  const list = [...entries];
  if (list.length > TRACE_STATE_MAX_MEMBERS) throw new RangeError(`tracestate has more than 32 members`);
  const seen = new Set<string>();
  for (const [k, v] of list) {
    if (!isValidTraceStateKey(k)) throw new RangeError(`invalid tracestate key: ${k}`);
    if (!isValidTraceStateValue(v)) throw new RangeError(`invalid tracestate value for ${k}: ${v}`);
    if (seen.has(k)) throw new RangeError(`duplicate tracestate key: ${k}`);
    seen.add(k);
  }
  return fromEntries(list);
}

/**
 * Parses one or several `tracestate` header values. Several header fields are combined in the
 * order received, joined with commas, as RFC 9110 §5.3 requires (§3.3.2). Empty and
 * whitespace-only members are allowed and skipped, as are spaces and tabs around members
 * (§3.3.2). Returns `undefined`, meaning "discard the whole header", when any member has an
 * invalid key or value, or when there are more than 32 list-members (§3.3.2.1, counted before
 * duplicates are removed, since the limit is on the header as sent); the W3C test suite
 * expects exactly this.
 *
 * A key that repeats is not a reason to drop the header: the first (left-most, most recent)
 * member is kept and later ones are dropped, so `foo=1,bar=2,foo=3` gives `foo=1,bar=2`. Senders
 * MUST NOT produce duplicates, but a receiver "MAY also discard duplicate keys that were not
 * generated by them" (§3.5 Mutating the tracestate Field, Delete a key/value pair), and the W3C
 * test suite at strict level 2 expects the tracestate kept with one of them. Keeping one also
 * keeps {@link TraceState} free of duplicate keys, so `get` and `set` stay unambiguous.
 *
 * An empty header gives an empty trace state. It must only be called after `traceparent`
 * parsed: a vendor that failed to parse `traceparent` MUST NOT parse `tracestate` (§3.3); the
 * propagator does that.
 */
export function parseTraceState(header: string | readonly string[]): TraceState | undefined {
  const combined = typeof header === 'string' ? header : header.join(',');
  const entries: Array<readonly [string, string]> = [];
  const seen = new Set<string>();
  let members = 0;
  for (const raw of combined.split(',')) {
    const member = raw.replace(OWS, '');
    if (member === '') continue;
    if (++members > TRACE_STATE_MAX_MEMBERS) return undefined;
    const eq = member.indexOf('=');
    if (eq < 0) return undefined;
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (!isValidTraceStateKey(key) || !isValidTraceStateValue(value)) return undefined;
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push([key, value]);
  }
  return fromEntries(entries);
}
