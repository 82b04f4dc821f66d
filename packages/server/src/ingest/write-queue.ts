import type { Span } from '@ariadne/core';
import type { SpanWriter } from '../query/span-store.ts';

/** The queue is full: the caller should answer 429/503 (HTTP) or UNAVAILABLE (gRPC) with a retry delay. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  constructor(readonly retryAfterSeconds: number) {
    super('write queue is full; retry later');
  }
}

/** The queue is closed (the server is shutting down). */
export class QueueClosedError extends Error {
  override readonly name = 'QueueClosedError';
  constructor() {
    super('server is shutting down');
  }
}

export interface WriteQueueOptions {
  readonly writer: SpanWriter;
  /** Spans accepted but not yet committed before new requests are refused. */
  readonly maxPendingSpans: number;
  /** Upper bound of spans per transaction (a single larger request is still written whole). */
  readonly maxBatchSpans: number;
}

interface Pending {
  readonly spans: readonly Span[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Groups export requests into store transactions, one at a time. A request is never split across
 * transactions, so it is either stored whole or not at all, and its promise resolves only after
 * the transaction that holds it has committed (acknowledge only what is durable).
 *
 * While one batch is being written, new requests wait and are written together as the next batch:
 * the busier the server, the larger the batches.
 */
export class WriteQueue {
  private queue: Pending[] = [];
  private pendingSpans = 0;
  private writing = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;

  constructor(private readonly options: WriteQueueOptions) {}

  /** Spans accepted and not yet committed. */
  get pending(): number {
    return this.pendingSpans;
  }

  /** Resolves once the spans are committed. Throws `QueueFullError` at once when over capacity. */
  enqueue(spans: readonly Span[]): Promise<void> {
    if (this.closed) return Promise.reject(new QueueClosedError());
    if (spans.length === 0) return Promise.resolve();
    if (this.pendingSpans > 0 && this.pendingSpans + spans.length > this.options.maxPendingSpans) {
      return Promise.reject(new QueueFullError(1));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ spans, resolve, reject });
      this.pendingSpans += spans.length;
      if (!this.writing) this.drain();
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
    while (this.queue.length > 0) {
      const batch: Pending[] = [];
      let count = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0];
        if (batch.length > 0 && count + next.spans.length > this.options.maxBatchSpans) break;
        batch.push(next);
        count += next.spans.length;
        this.queue.shift();
      }
      const spans = batch.length === 1 ? batch[0].spans : batch.flatMap((p) => p.spans);
      try {
        await this.options.writer.writeSpans(spans);
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      } finally {
        this.pendingSpans -= count;
      }
    }
    this.writing = false;
    this.markIdle();
  }

  /** Stops accepting requests and waits until everything accepted is committed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle;
  }
}
