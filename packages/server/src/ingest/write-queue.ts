import type { Span } from '@ariadne/core';
import type { SpanWriter } from '../query/span-store.ts';
import { INGEST_LOG_SOURCE, type IngestLog, type LogFormat } from './ingest-log.ts';

/** The queue is full: the caller should answer 429/503 (HTTP) or UNAVAILABLE (gRPC) with a retry delay. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  constructor(
    readonly retryAfterSeconds: number,
    message = 'write queue is full; retry later',
  ) {
    super(message);
  }
}

/** The queue is closed (the server is shutting down). */
export class QueueClosedError extends Error {
  override readonly name = 'QueueClosedError';
  constructor() {
    super('server is shutting down');
  }
}

/** An export request as received (decompressed), which the ingest log keeps for replay. */
export interface RawRequest {
  readonly format: LogFormat;
  readonly body: Buffer;
}

export interface WriteQueueOptions {
  readonly writer: SpanWriter;
  /** Spans accepted but not yet committed to the store before new requests are refused. */
  readonly maxPendingSpans: number;
  /** Upper bound of spans per transaction (a single larger request is still written whole). */
  readonly maxBatchSpans: number;
  /**
   * With an ingest log, a request is acknowledged once it is durable in the log, and written to
   * the store later, with the log position committed in the same transaction. Without one, a
   * request is acknowledged once the store has committed it.
   */
  readonly log?: IngestLog;
  /** Bytes of log records not yet committed to the store before new requests are refused (default 512 MiB). */
  readonly maxPendingLogBytes?: number;
  /** Told about store writes that failed and will be retried (with a log; default: stderr). */
  readonly onWriteError?: (error: unknown) => void;
}

interface Pending {
  readonly spans: readonly Span[];
  /** Log position after the request's record (with a log). */
  readonly end: bigint;
  /** Bytes of the request's log record. */
  readonly logBytes: number;
  /** Durable in the log, ready to be written to the store. Always true without a log. */
  ready: boolean;
  readonly resolve?: () => void;
  readonly reject?: (error: unknown) => void;
}

interface Waiter {
  readonly target: bigint;
  readonly resolve: (caughtUp: boolean) => void;
}

const DEFAULT_MAX_PENDING_LOG_BYTES = 512 * 1024 * 1024;
const MAX_RETRY_DELAY_MS = 5_000;

/**
 * Writes accepted requests to the store in transactions, one at a time. A request is never split
 * across transactions, so it is stored whole or not at all. While one batch is being written, new
 * requests wait and are written together as the next batch: the busier the server, the larger the
 * batches.
 *
 * Two ways to acknowledge:
 * - without a log, `enqueue` resolves once the transaction holding the spans has committed, and
 *   rejects if it fails;
 * - with an ingest log (`ingest-log.ts`), `enqueue` resolves once the request's record is durable
 *   in the log; the queue keeps the decoded spans and writes them to the store in the background,
 *   committing the log position of the batch's last record in the same transaction. A failed store
 *   write is retried (the spans are safe in the log); a crash is repaired by `replayIngestLog` at
 *   the next start. Records are written to the store in log order, so "position P committed"
 *   means every record before P is in the store.
 *
 * Either way the spans accepted and not yet committed are bounded (`maxPendingSpans`, and the log
 * bytes): beyond, `enqueue` throws `QueueFullError` at once.
 */
export class WriteQueue {
  private queue: Pending[] = [];
  private pendingSpans = 0;
  private pendingLogBytes = 0;
  private writing = false;
  private closed = false;
  private gaveUp = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private acknowledged: bigint;
  private committed: bigint;
  private waiters: Waiter[] = [];
  private readonly maxPendingLogBytes: number;

  constructor(private readonly options: WriteQueueOptions) {
    this.acknowledged = options.log?.end ?? 0n;
    this.committed = this.acknowledged;
    this.maxPendingLogBytes = options.maxPendingLogBytes ?? DEFAULT_MAX_PENDING_LOG_BYTES;
  }

  /** Spans accepted and not yet committed to the store. */
  get pending(): number {
    return this.pendingSpans;
  }

  /** Log position up to which every acknowledged request is committed to the store (with a log). */
  get committedPosition(): bigint {
    return this.committed;
  }

  /**
   * Accepts a request's spans; `raw` is the request as received, required with a log. Resolves
   * once the spans are durable (see the class comment). Throws `QueueFullError` at once when over
   * capacity, `QueueClosedError` after `close`.
   */
  enqueue(spans: readonly Span[], raw?: RawRequest): Promise<void> {
    if (this.closed) return Promise.reject(new QueueClosedError());
    if (spans.length === 0) return Promise.resolve();
    if (this.pendingSpans > 0 && this.pendingSpans + spans.length > this.options.maxPendingSpans) {
      return Promise.reject(new QueueFullError(1));
    }
    const { log } = this.options;
    if (!log) {
      return new Promise<void>((resolve, reject) => {
        this.queue.push({ spans, end: 0n, logBytes: 0, ready: true, resolve, reject });
        this.pendingSpans += spans.length;
        if (!this.writing) this.drain();
      });
    }
    if (!raw) return Promise.reject(new Error('WriteQueue: a request needs its raw body when there is an ingest log'));
    if (this.pendingLogBytes > 0 && this.pendingLogBytes + raw.body.length > this.maxPendingLogBytes) {
      return Promise.reject(new QueueFullError(1, 'ingest log is full; retry later'));
    }
    return this.enqueueLogged(log, spans, raw);
  }

  private async enqueueLogged(log: IngestLog, spans: readonly Span[], raw: RawRequest): Promise<void> {
    const before = log.end;
    const appended = log.append(raw.format, raw.body);
    const entry: Pending = { spans, end: appended.end, logBytes: Number(appended.end - before), ready: false };
    this.queue.push(entry);
    this.pendingSpans += spans.length;
    this.pendingLogBytes += entry.logBytes;
    try {
      await appended.durable;
    } catch (error) {
      // Not acknowledged, so never written to the store (after a failed write the log refuses
      // every later append too, so no acknowledged record follows this one).
      this.queue = this.queue.filter((p) => p !== entry);
      this.pendingSpans -= spans.length;
      this.pendingLogBytes -= entry.logBytes;
      throw error;
    }
    entry.ready = true;
    if (entry.end > this.acknowledged) this.acknowledged = entry.end;
    if (!this.writing) this.drain();
  }

  /**
   * Resolves true once every request acknowledged before this call is committed to the store, or
   * false after `timeoutMs` if the store is behind by more than that (it then keeps going).
   * Without a log, acknowledged means committed, so it resolves true at once.
   */
  waitForCommitted(timeoutMs: number): Promise<boolean> {
    const target = this.acknowledged;
    if (this.committed >= target) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter: Waiter = {
        target,
        resolve: (caughtUp) => {
          clearTimeout(timer);
          resolve(caughtUp);
        },
      };
      this.waiters.push(waiter);
    });
  }

  private drain(): void {
    this.writing = true;
    this.idle = new Promise((resolve) => {
      this.markIdle = resolve;
    });
    void this.loop();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.queue.length > 0 && this.queue[0].ready) {
      const batch: Pending[] = [];
      let count = 0;
      for (const next of this.queue) {
        if (!next.ready) break;
        if (batch.length > 0 && count + next.spans.length > this.options.maxBatchSpans) break;
        batch.push(next);
        count += next.spans.length;
      }
      const spans = batch.length === 1 ? batch[0].spans : batch.flatMap((p) => p.spans);
      const { log } = this.options;
      const position = batch[batch.length - 1].end;
      try {
        await this.options.writer.writeSpans(spans, log ? { source: INGEST_LOG_SOURCE, position } : undefined);
      } catch (error) {
        if (!log) {
          this.settle(batch, count);
          for (const p of batch) p.reject?.(error);
          continue;
        }
        // The spans are safe in the log: retry, with a growing pause. While closing, give up
        // after the first failure; the next start replays them from the log.
        (this.options.onWriteError ?? reportWriteError)(error);
        if (this.closed) {
          this.gaveUp = true;
          break;
        }
        failures++;
        await new Promise((r) => setTimeout(r, Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** failures)));
        continue;
      }
      failures = 0;
      this.settle(batch, count);
      for (const p of batch) p.resolve?.();
      if (log) {
        this.committed = position;
        this.waiters = this.waiters.filter((w) => {
          if (w.target > position) return true;
          w.resolve(true);
          return false;
        });
        await log.release(position).catch((error) => (this.options.onWriteError ?? reportWriteError)(error));
      }
    }
    this.writing = false;
    this.markIdle();
  }

  private settle(batch: Pending[], count: number): void {
    this.queue.splice(0, batch.length);
    this.pendingSpans -= count;
    for (const p of batch) this.pendingLogBytes -= p.logBytes;
  }

  /**
   * Stops accepting requests and waits until everything acknowledged is committed to the store
   * (with a log, a store write that fails now is left to the replay at the next start).
   */
  async close(): Promise<void> {
    this.closed = true;
    while (true) {
      await this.idle;
      if (this.queue.length === 0 || this.gaveUp) return;
      // Requests whose log write is in flight start the drain themselves once durable.
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

function reportWriteError(error: unknown): void {
  process.stderr.write(`ariadne: writing spans from the ingest log to the store failed, will retry: ${error}\n`);
}
