import { TraceImportError } from './import-error.ts';

/**
 * Normalises a hex id from Zipkin or Jaeger to the model's form: lowercase, left-padded with
 * zeros to `length` (a 64-bit trace id becomes the low half of a 128-bit one, as the OpenTelemetry
 * Zipkin and Jaeger translators do). Empty stays empty. Throws on non-hex or too long ids.
 */
export function normalizeHexId(value: unknown, length: 16 | 32, path: string): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'string' || !/^[0-9a-fA-F]+$/.test(value) || value.length > length) {
    throw new TraceImportError(`${path}: expected a hex id of at most ${length} digits, got ${JSON.stringify(value)}`);
  }
  return value.toLowerCase().padStart(length, '0');
}

/** Converts an integer count of microseconds (number or decimal string) to exact nanoseconds. */
export function microsToNanos(value: unknown, path: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value) * 1000n;
  if (typeof value === 'string' && /^\d{1,17}$/.test(value)) return BigInt(value) * 1000n;
  throw new TraceImportError(`${path}: expected a non-negative integer of microseconds, got ${JSON.stringify(value)}`);
}
