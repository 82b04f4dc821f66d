import type { Span } from '@ariadne/core';
import type { SpanWriter } from '../query/span-store.ts';
import { decodeRecord } from './decode-record.ts';
import { INGEST_LOG_SOURCE, type IngestLog, IngestLogError, type LogRecord } from './ingest-log.ts';

/** What a replay did. */
export interface ReplayResult {
  /** Log records written to the store. */
  readonly records: number;
  readonly spans: number;
  /** The log position the store has now applied up to. */
  readonly position: bigint;
  /** Spans of the log the store has applied, counted from the store's first (`ingest-log.spans`). */
  readonly appliedSpans: bigint;
  /** Spans replayed from records that end at or before `ReplayOptions.acknowledgedAt`. */
  readonly spansUpToAcknowledged: bigint;
}

export interface ReplayOptions {
  readonly log: IngestLog;
  readonly writer: SpanWriter;
  /** The position the store has applied up to (`readProgress(INGEST_LOG_SOURCE)`), 0 if none. */
  readonly after: bigint;
  /** Spans per transaction; a record's spans are never split. */
  readonly maxBatchSpans: number;
  /** Spans of the log the store had applied before (its `ingest-log.spans` counter). */
  readonly appliedSpans?: bigint;
  /** The position the store last recorded as acknowledged, to count the spans replayed before it. */
  readonly acknowledgedAt?: bigint;
}

/**
 * The spans a logged request contributed when it was acknowledged: decoded again by the same
 * decoder, keeping the same spans (validation is deterministic, so the spans rejected through
 * partial success then are rejected again). Throws `IngestLogError` if the record no longer
 * decodes, which would mean the decoders changed incompatibly.
 */
export function spansOfRecord(record: LogRecord): readonly Span[] {
  try {
    return decodeRecord(record.format, record.body).spans;
  } catch (error) {
    throw new IngestLogError(
      `ingest log record at position ${record.position} was acknowledged but no longer decodes: ${(error as Error).message}`,
    );
  }
}

/**
 * Writes every log record after `after` to the store, oldest first, in batches of about
 * `maxBatchSpans`, each committing the position after its last record in the same transaction:
 * exactly once, even if this replay is itself interrupted. Run it before the receivers listen.
 * It deletes nothing: the caller trims the log once the store holds the records for good.
 */
export async function replayIngestLog(options: ReplayOptions): Promise<ReplayResult> {
  const { log, writer } = options;
  let records = 0;
  let spans = 0;
  let position = options.after;
  let appliedSpans = options.appliedSpans ?? 0n;
  let spansUpToAcknowledged = 0n;
  let batch: Span[] = [];
  let batchEnd = position;
  const flush = async () => {
    if (batchEnd === position) return;
    const total = appliedSpans + BigInt(batch.length);
    await writer.writeSpans(batch, { source: INGEST_LOG_SOURCE, position: batchEnd, counters: { spans: total } });
    appliedSpans = total;
    spans += batch.length;
    position = batchEnd;
    batch = [];
  };
  for (const record of log.records(options.after)) {
    const decoded = spansOfRecord(record);
    if (batch.length > 0 && batch.length + decoded.length > options.maxBatchSpans) await flush();
    for (const s of decoded) batch.push(s);
    if (options.acknowledgedAt !== undefined && record.end <= options.acknowledgedAt)
      spansUpToAcknowledged += BigInt(decoded.length);
    batchEnd = record.end;
    records++;
  }
  await flush();
  return { records, spans, position, appliedSpans, spansUpToAcknowledged };
}
