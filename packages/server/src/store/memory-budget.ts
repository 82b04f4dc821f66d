/**
 * How one memory limit (`ariadne serve --memory-limit`) is shared. First the process's own
 * baseline is set aside: an idle `ariadne serve` (Node, the prepare worker's isolate, DuckDB and
 * the code's pages) is resident at about 200–215 MiB before it stores a span, and its two
 * JavaScript heaps (the main thread's and the worker's) take 50–60 MiB each once ingest is busy.
 * With 256 MiB set aside, bench:overload at 512 MiB peaked at 541–551 MiB on one core; with 320,
 * at 504–516; with 352, at 502–504 (BENCHMARKS.md, session 20). What is left is shared: DuckDB gets three eighths (its buffer pool;
 * sorts and joins spill to disk beyond it), the spans accepted but not yet committed a quarter (a
 * decoded span with about twenty attributes takes roughly 4 KiB of JavaScript heap), request
 * bodies being received or decoded an eighth (ingest/admission.ts refuses beyond), the bodies the
 * write queue keeps until they are committed an eighth at most, and the JavaScript heaps' growth
 * (decoding, query results) the last eighth. It does not cap the V8 heap. Below about 520 MiB the
 * floors (64 MiB for DuckDB, one largest request) take more than the limit leaves. Measured with
 * bench:overload at 512 MiB (BENCHMARKS.md, session 17): DuckDB used its whole share.
 */

/** Set aside before sharing the limit: what the process takes before it stores anything. */
export const PROCESS_BASELINE_BYTES = 352 * 1024 ** 2;

/** What is shared once the baseline is set aside; never less than a quarter of the limit. */
function shared(totalBytes: number): number {
  return Math.max(totalBytes / 4, totalBytes - PROCESS_BASELINE_BYTES);
}

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
  return `${Math.max(64, Math.floor((shared(totalBytes) * 3) / 8 / 1024 ** 2))}MiB`;
}

/** Splits a total memory limit in bytes. */
export function memoryBudget(totalBytes: number): MemoryBudget {
  const share = shared(totalBytes);
  const maxPendingSpans = Math.max(10_000, Math.min(200_000, Math.floor(share / 4 / BYTES_PER_PENDING_SPAN)));
  return {
    databaseMemoryLimit: databaseMemoryLimit(totalBytes),
    maxPendingSpans,
    maxBatchSpans: Math.min(DEFAULT_MAX_BATCH_SPANS, Math.ceil(maxPendingSpans / 4)),
    // At least one largest request (16 MiB by default) fits, however small the limit.
    maxInflightBodyBytes: Math.max(MIN_BODY_BYTES, Math.floor(share / 8)),
    maxPendingLogBytes: Math.max(MIN_BODY_BYTES, Math.floor(share / 8)),
  };
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** Parses a DuckDB-style size (`512MiB`, `2GB`, `1.5GiB`, plain bytes); undefined if it cannot. */
export function parseMemorySize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  return m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : undefined;
}
