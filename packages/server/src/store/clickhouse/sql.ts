/**
 * ClickHouse SQL literals. Every value a client sent (service and span names, attribute keys and
 * values, trace ids) reaches a statement through these functions, never by concatenation: the
 * store runs on servers without query parameters (18.16), so one escaping path serves every
 * engine, and it is tested on both (sql.test.ts).
 *
 * ClickHouse reads a quoted string byte by byte, with backslash escapes; escaping the backslash,
 * the quote and the control characters leaves nothing that can end the literal early.
 */

/** A string literal: `'…'`, with `\`, `'` and control characters escaped. */
export function sqlString(value: string): string {
  let out = "'";
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x27) out += "\\'";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += value[i];
  }
  return `${out}'`;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** An unsigned 64-bit integer literal; throws on anything that is not one. */
export function sqlUInt64(value: bigint | number): string {
  const n = typeof value === 'bigint' ? value : BigInt(value);
  if (n < 0n || n > U64_MAX) throw new RangeError(`not an unsigned 64-bit integer: ${n}`);
  return n.toString();
}

/** `u64` clamped into the unsigned 64-bit range (for open-ended filters such as a huge limit). */
export function clampUInt64(value: bigint): bigint {
  return value < 0n ? 0n : value > U64_MAX ? U64_MAX : value;
}

/** An array of string literals: `['a', 'b']`. */
export function sqlStringArray(values: readonly string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}

/** A database or table name: only the characters the store's own names use. */
export function sqlIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new Error(`invalid ClickHouse identifier ${JSON.stringify(name)}: use letters, digits and _`);
  }
  return name;
}
