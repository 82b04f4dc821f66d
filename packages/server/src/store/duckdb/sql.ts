/**
 * Small SQL helpers shared by the DuckDB store's modules: bound parameters, results as columns,
 * the conversions between hex ids and DuckDB's unsigned integers, and clamping to UBIGINT.
 */
import type { DuckDBResultReader, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { UBIGINT } from '@duckdb/node-api';
import type { TimeRange } from '../../query/span-store.ts';

export const NANOS_PER_MINUTE = 60_000_000_000n;
export const U64_MAX = 0xffffffffffffffffn;

/** A SQL fragment with its bound parameters. */
export class Params {
  readonly values: DuckDBValue[] = [];
  readonly types: DuckDBType[] = [];
  add(value: DuckDBValue, type: DuckDBType): string {
    this.values.push(value);
    this.types.push(type);
    return `$${this.values.length}`;
  }
}

/** A result as one array per column (also when there are no rows). */
export function columnsOf(result: DuckDBResultReader): unknown[][] {
  const columns = result.getColumnsJS() as unknown[][];
  return columns.length === result.columnCount ? columns : Array.from({ length: result.columnCount }, () => []);
}

/** A hex id as stored (UHUGEINT trace ids, UBIGINT span ids); the empty string is 0. */
export function hexToBigInt(hex: string): bigint {
  return hex.length === 0 ? 0n : BigInt(`0x${hex}`);
}

/** A stored id as `length` hex digits; a 0 span id (16 digits: no parent) is the empty string. */
export function bigIntToHex(value: bigint, length: number): string {
  return value === 0n && length === 16 ? '' : value.toString(16).padStart(length, '0');
}

/** `value` cut to what a UBIGINT column holds. */
export function clampU64(value: bigint): bigint {
  return value < 0n ? 0n : value > U64_MAX ? U64_MAX : value;
}

/** `Math.max` for bigints. */
export function maxBig(a: bigint, b: bigint): bigint {
  if (a >= b) return a;
  return b;
}

/** `Math.min` for bigints. */
export function minBig(a: bigint, b: bigint): bigint {
  if (a <= b) return a;
  return b;
}

/** Adds the conditions of `range` on `column` to `where`. */
export function addRange(range: TimeRange, column: string, where: string[], p: Params) {
  if (range.startUnixNano !== undefined) where.push(`${column} >= ${p.add(clampU64(range.startUnixNano), UBIGINT)}`);
  if (range.endUnixNano !== undefined) where.push(`${column} < ${p.add(clampU64(range.endUnixNano), UBIGINT)}`);
}
