/**
 * How one memory limit (`ariadne serve --memory-limit`) is shared between the database and the
 * server's own buffers: DuckDB gets half (its buffer pool, sorts and joins spill to disk beyond
 * it), the spans accepted but not yet committed get a quarter (a decoded span with about twenty
 * attributes takes roughly 4 KiB of JavaScript heap), request bodies being received or decoded an
 * eighth (ingest/admission.ts refuses beyond), the bodies the write queue keeps until they are
 * committed an eighth at most, and Node itself (decoding, query results) what those leave. It does
 * not cap the V8 heap.
 */

/**
 * Spans per store transaction at most. Small enough that the ingest worker prepares one batch
 * (~40 ms) while the main thread writes the one before, so neither waits long for the other;
 * large enough that commits stay cheap. Measured with bench:ingest (BENCHMARKS.md): batches of
 * 4,096–8,192 spans ingest 72–76k spans/s, 16,384 about 70k, 50,000 about 68k.
 */
export const DEFAULT_MAX_BATCH_SPANS = 8_192;

/** The least of the body budgets: one default-sized largest request. */
const MIN_BODY_BYTES = 16 * 1024 * 1024;

/** Estimated JavaScript heap per decoded, pending span. */
const BYTES_PER_PENDING_SPAN = 4096;

/** The share of each consumer. */
export interface MemoryBudget {
  /** DuckDB `memory_limit`, e.g. `1024MiB`. */
  readonly databaseMemoryLimit: string;
  /** Spans accepted but not yet committed before receivers answer 503 / UNAVAILABLE. */
  readonly maxPendingSpans: number;
  /** Spans per store transaction. */
  readonly maxBatchSpans: number;
  /** Bytes of request bodies being received or decoded at once (ingest/admission.ts). */
  readonly maxInflightBodyBytes: number;
  /** Bytes of acknowledged request bodies not yet committed (the write queue keeps them). */
  readonly maxPendingLogBytes: number;
}

/** DuckDB's share of a total memory limit in bytes, as a DuckDB setting. */
export function databaseMemoryLimit(totalBytes: number): string {
  return `${Math.max(64, Math.floor(totalBytes / 2 / 1024 ** 2))}MiB`;
}

/** Splits a total memory limit in bytes. */
export function memoryBudget(totalBytes: number): MemoryBudget {
  const maxPendingSpans = Math.max(10_000, Math.min(200_000, Math.floor(totalBytes / 4 / BYTES_PER_PENDING_SPAN)));
  return {
    databaseMemoryLimit: databaseMemoryLimit(totalBytes),
    maxPendingSpans,
    maxBatchSpans: Math.min(DEFAULT_MAX_BATCH_SPANS, Math.ceil(maxPendingSpans / 4)),
    // At least one largest request (16 MiB by default) fits, however small the limit.
    maxInflightBodyBytes: Math.max(MIN_BODY_BYTES, Math.floor(totalBytes / 8)),
    maxPendingLogBytes: Math.max(MIN_BODY_BYTES, Math.floor(totalBytes / 8)),
  };
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** Parses a DuckDB-style size (`512MiB`, `2GB`, `1.5GiB`, plain bytes); undefined if it cannot. */
export function parseMemorySize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  return m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : undefined;
}
