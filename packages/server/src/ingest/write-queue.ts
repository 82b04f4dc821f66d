import type { Span } from '@ariadne/core';
import type { RequestRefusal, WriteQueueMetrics } from '../metrics.ts';
import { type SpanWriter, StalePreparationError, type WriteProgress } from '../query/span-store.ts';
import { decodeRecord } from './decode-record.ts';
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

/**
 * The refusal reason (metrics.ts) of an error from `decode` or `enqueue`: the queue full, the
 * queue closed, or anything else (the ingest log or the store failing, the decoder gone).
 */
export function refusalReason(error: unknown): RequestRefusal {
  if (error instanceof QueueFullError) return 'queue_full';
  if (error instanceof QueueClosedError) return 'shutting_down';
  return 'unavailable';
}

/** An export request as received (decompressed), which the ingest log keeps for replay. */
export interface RawRequest {
  readonly format: LogFormat;
  readonly body: Buffer;
}

/** A request decoded and validated: what the receiver answers, and what the queue stores. */
export interface DecodedRequest {
  /** The valid spans, when decoded on this thread. */
  readonly spans?: readonly Span[];
  /** Where a staged writer keeps the valid spans it decoded (see `StagedWriter.decode`). */
  readonly ticket?: number;
  /** How many spans are valid (to be stored). */
  readonly accepted: number;
  /** Spans rejected as invalid, and why (OTLP partial success). */
  readonly rejectedSpans: number;
  readonly errorMessage: string;
}

/** A logged request for a staged writer: its body, and its ticket if it was decoded there. */
export interface StagedRequest {
  readonly raw: RawRequest;
  readonly ticket?: number;
}

/**
 * Writes batches of logged requests in two steps, so that the next batch is prepared (decoded,
 * turned into rows: on another thread, see prepare-worker.ts) while the previous one is written.
 */
export interface StagedWriter {
  /**
   * Decodes and validates a request (throwing `OtlpDecodeError` if it cannot be decoded) and
   * keeps its valid spans (or what it made of them) under the returned ticket until `prepare` or
   * `release`.
   */
  decode(raw: RawRequest): Promise<DecodedRequest>;
  /** Forgets the spans kept for a ticket (a request that will not be written). */
  release(ticket: number): void;
  /**
   * Prepares the requests' spans for one write: the kept spans of each ticket (which are then
   * forgotten), or, for a request without them, its body decoded again.
   */
  prepare(requests: readonly StagedRequest[]): Promise<PreparedWrite>;
  /**
   * Forgets every preparation not yet written. After a failed write: preparations assume that
   * every earlier one was written.
   */
  reset(): Promise<void>;
}

/** One prepared batch; `write` commits it (with the log position, when there is a log). */
export interface PreparedWrite {
  write(progress?: WriteProgress): Promise<void>;
}

export interface WriteQueueOptions {
  readonly writer: SpanWriter;
  /**
   * Write batches through this instead of `writer.writeSpans`: requests are decoded by it, the
   * queue keeps their bodies, not their decoded spans, and each batch is prepared while the one
   * before is written.
   */
  readonly staged?: StagedWriter;
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
  /**
   * With a log: spans of it the store has applied so far (its `ingest-log.spans` counter, after
   * the startup replay). Each batch commits, with its position, the applied and acknowledged
   * span counts and the acknowledged position, from which a later start tells exactly what a
   * damaged log lost.
   */
  readonly appliedSpans?: bigint;
  /**
   * With a log: how far it may be trimmed, if not as far as is committed (the store's
   * checkpointed position: records its database file does not hold without its WAL are kept).
   */
  readonly trimmable?: () => bigint | undefined;
  /**
   * Without a log: at least this long between the starts of two writes, so that requests arriving
   * meanwhile are gathered into one (ClickHouse wants few, large inserts). Default 0.
   */
  readonly minWriteIntervalMs?: number;
  /** Where store write durations, depth and lag are recorded (default: nowhere). */
  readonly metrics?: WriteQueueMetrics;
}

interface Pending {
  /** The decoded spans (empty with a staged writer, which decodes `raw` itself). */
  readonly spans: readonly Span[];
  readonly count: number;
  readonly raw?: RawRequest;
  /** With a staged writer: where it keeps the decoded spans (used once: a retry decodes `raw`). */
  ticket?: number;
  /** Log position after the request's record (with a log). */
  readonly end: bigint;
  /** Bytes of the request's log record. */
  readonly logBytes: number;
  /** Durable in the log, ready to be written to the store. Always true without a log. */
  ready: boolean;
  /** When it was acknowledged (`performance.now()`), for the queue's lag. */
  acknowledgedAt: number;
  readonly resolve?: () => void;
  readonly reject?: (error: unknown) => void;
}

interface Waiter {
  readonly target: bigint;
  readonly resolve: (caughtUp: boolean) => void;
}

/** `WriteQueue.charge`: a request's spans, up to half of `maxPendingSpans`. */
export function requestCharge(spans: number, maxPendingSpans: number): number {
  return Math.min(spans, Math.ceil(maxPendingSpans / 2));
}

const DEFAULT_MAX_PENDING_LOG_BYTES = 512 * 1024 * 1024;
const MAX_RETRY_DELAY_MS = 5_000;
/** Batches refused as stale in a row that are prepared again at once; beyond, a failure. */
const MAX_STALE_RETRIES = 3;

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
 * With a staged writer (`StagedWriter`, the prepare worker), with or without a log, receivers
 * decode through `decode` (on the worker) and hand the verdict to `enqueueDecoded`; the queue
 * keeps only the bodies, and each batch is prepared by the staged writer while the batch before
 * it is written.
 *
 * Either way the spans accepted and not yet committed are bounded (`maxPendingSpans`, and the log
 * bytes): beyond, `enqueue` throws `QueueFullError` at once.
 */
export class WriteQueue {
  private queue: Pending[] = [];
  private pendingSpans = 0;
  /** Pending spans as counted against `maxPendingSpans`: each request at most `charge` of them. */
  private chargedSpans = 0;
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
  /** Spans of the log committed to the store, and acknowledged, counted as `appliedSpans`. */
  private appliedSpans: bigint;
  private acknowledgedSpans: bigint;
  private lastStoreFailure: Error | undefined;
  private lastWriteStart = 0;

  constructor(private readonly options: WriteQueueOptions) {
    this.appliedSpans = options.appliedSpans ?? 0n;
    this.acknowledgedSpans = this.appliedSpans;
    this.acknowledged = options.log?.end ?? 0n;
    this.committed = this.acknowledged;
    this.maxPendingLogBytes = options.maxPendingLogBytes ?? DEFAULT_MAX_PENDING_LOG_BYTES;
    options.metrics?.watchQueue(this);
  }

  /** The last failed store write, while none has succeeded since. */
  get storeFailure(): Error | undefined {
    return this.lastStoreFailure;
  }

  /** Spans accepted and not yet committed to the store. */
  get pending(): number {
    return this.pendingSpans;
  }

  /** Bytes of log records not yet committed to the store (0 without a log). */
  get uncommittedLogBytes(): number {
    return this.pendingLogBytes;
  }

  /** Pending spans as counted against `maxPendingSpans` (see `charge`). */
  get load(): number {
    return this.chargedSpans;
  }

  /**
   * How many of a request's spans count against `maxPendingSpans`: all, up to half of it. One
   * huge request then never shuts out every other sender until it is written; its memory is
   * bounded by the body limits instead (so pending spans may exceed `maxPendingSpans`).
   */
  charge(spans: number): number {
    return requestCharge(spans, this.options.maxPendingSpans);
  }

  /** Pending spans beyond which new requests are refused. */
  get maxPendingSpans(): number {
    return this.options.maxPendingSpans;
  }

  /**
   * Seconds the oldest acknowledged request not yet committed has waited (0 when none waits): how
   * far the store is behind what senders were told is safe.
   */
  get lagSeconds(): number {
    // Requests are acknowledged in log order, so the first ready one is the oldest.
    const oldest = this.queue.find((p) => p.ready);
    return oldest ? (performance.now() - oldest.acknowledgedAt) / 1000 : 0;
  }

  /** Log position up to which every acknowledged request is committed to the store (with a log). */
  get committedPosition(): bigint {
    return this.committed;
  }

  /**
   * Decodes and validates a request: on the staged writer's thread when there is one, else here.
   * Throws `OtlpDecodeError` if the body cannot be decoded. Pass the result to `enqueueDecoded`.
   */
  async decode(raw: RawRequest): Promise<DecodedRequest> {
    const { staged } = this.options;
    if (staged) return staged.decode(raw);
    const decoded = decodeRecord(raw.format, raw.body);
    return {
      spans: decoded.spans,
      accepted: decoded.spans.length,
      rejectedSpans: decoded.rejectedSpans,
      errorMessage: decoded.errorMessage,
    };
  }

  /** `enqueue` for a request from `decode`; releases what the staged writer kept if it is refused. */
  enqueueDecoded(decoded: DecodedRequest, raw: RawRequest): Promise<void> {
    const { ticket } = decoded;
    if (ticket === undefined) return this.enqueue(decoded.spans ?? [], raw);
    const release = () => this.options.staged?.release(ticket);
    if (this.closed) {
      release();
      return Promise.reject(new QueueClosedError());
    }
    if (decoded.accepted === 0) {
      release();
      return Promise.resolve();
    }
    const refused = this.refusal(decoded.accepted, raw);
    if (refused) {
      release();
      return Promise.reject(refused);
    }
    const { log } = this.options;
    if (log) return this.enqueueLogged(log, [], raw, decoded.accepted, ticket);
    return this.enqueueUnlogged([], decoded.accepted, raw, ticket);
  }

  /** Why a request of `count` spans is refused for capacity now, if it is. */
  private refusal(count: number, raw: RawRequest | undefined): QueueFullError | undefined {
    if (this.chargedSpans > 0 && this.chargedSpans + this.charge(count) > this.options.maxPendingSpans) {
      return new QueueFullError(1);
    }
    if (
      raw &&
      this.options.log &&
      this.pendingLogBytes > 0 &&
      this.pendingLogBytes + raw.body.length > this.maxPendingLogBytes
    ) {
      return new QueueFullError(1, 'ingest log is full; retry later');
    }
    return undefined;
  }

  /**
   * Accepts a request's spans; `raw` is the request as received, required with a log. Resolves
   * once the spans are durable (see the class comment). Throws `QueueFullError` at once when over
   * capacity, `QueueClosedError` after `close`.
   */
  enqueue(spans: readonly Span[], raw?: RawRequest): Promise<void> {
    if (this.closed) return Promise.reject(new QueueClosedError());
    if (spans.length === 0) return Promise.resolve();
    const { log } = this.options;
    if (!log || raw) {
      const refused = this.refusal(spans.length, raw);
      if (refused) return Promise.reject(refused);
    }
    if (!raw && (log || this.options.staged)) {
      return Promise.reject(
        new Error('WriteQueue: a request needs its raw body when there is an ingest log or a staged writer'),
      );
    }
    if (!log) return this.enqueueUnlogged(this.options.staged ? [] : spans, spans.length, raw, undefined);
    return this.enqueueLogged(log, spans, raw as RawRequest, spans.length, undefined);
  }

  /** Without a log: resolves once the batch holding the request is committed, rejects if it fails. */
  private enqueueUnlogged(
    spans: readonly Span[],
    count: number,
    raw: RawRequest | undefined,
    ticket: number | undefined,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({
        spans,
        count,
        // A staged writer prepares from the body when it no longer keeps the spans (a new worker).
        raw: this.options.staged ? raw : undefined,
        ticket,
        end: 0n,
        logBytes: 0,
        ready: true,
        acknowledgedAt: performance.now(),
        resolve,
        reject,
      });
      this.pendingSpans += count;
      this.chargedSpans += this.charge(count);
      if (!this.writing) this.drain();
    });
  }

  private async enqueueLogged(
    log: IngestLog,
    spans: readonly Span[],
    raw: RawRequest,
    count: number,
    ticket: number | undefined,
  ): Promise<void> {
    const before = log.end;
    let appended: ReturnType<IngestLog['append']>;
    try {
      appended = log.append(raw.format, raw.body, count);
    } catch (error) {
      if (ticket !== undefined) this.options.staged?.release(ticket);
      throw error;
    }
    const entry: Pending = {
      spans: this.options.staged ? [] : spans,
      count,
      raw: this.options.staged ? raw : undefined,
      ticket,
      end: appended.end,
      logBytes: Number(appended.end - before),
      ready: false,
      acknowledgedAt: 0,
    };
    this.queue.push(entry);
    this.pendingSpans += entry.count;
    this.chargedSpans += this.charge(entry.count);
    this.pendingLogBytes += entry.logBytes;
    try {
      await appended.durable;
    } catch (error) {
      // Not acknowledged, so never written to the store (after a failed write the log refuses
      // every later append too, so no acknowledged record follows this one).
      this.queue = this.queue.filter((p) => p !== entry);
      this.pendingSpans -= entry.count;
      this.chargedSpans -= this.charge(entry.count);
      this.pendingLogBytes -= entry.logBytes;
      if (ticket !== undefined) this.options.staged?.release(ticket);
      throw error;
    }
    entry.ready = true;
    entry.acknowledgedAt = performance.now();
    this.acknowledgedSpans += BigInt(entry.count);
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
    const { staged, log } = this.options;
    void (staged ? this.loopStaged(staged, log) : this.loop());
  }

  /** The ready requests from `queue[from]` on, up to `maxBatchSpans` (at least one if any is ready). */
  private takeBatch(from: number): { batch: Pending[]; count: number } {
    const batch: Pending[] = [];
    let count = 0;
    for (let i = from; i < this.queue.length; i++) {
      const next = this.queue[i];
      if (!next.ready) break;
      if (batch.length > 0 && count + next.count > this.options.maxBatchSpans) break;
      batch.push(next);
      count += next.count;
    }
    return { batch, count };
  }

  /** What a batch of `count` spans ending at `position` commits with its spans. */
  private progress(position: bigint, count: number): WriteProgress {
    return {
      source: INGEST_LOG_SOURCE,
      position,
      counters: {
        spans: this.appliedSpans + BigInt(count),
        acknowledged: this.acknowledged,
        'acknowledged-spans': this.acknowledgedSpans,
      },
    };
  }

  /** After a batch committed up to `position`: answers the reads waiting for it, frees the log. */
  private async committedUpTo(log: IngestLog, position: bigint): Promise<void> {
    this.committed = position;
    this.waiters = this.waiters.filter((w) => {
      if (w.target > position) return true;
      w.resolve(true);
      return false;
    });
    await this.trimLog(log);
  }

  /** Deletes the log segments the store holds (committed, and checkpointed where that counts). */
  async trimLog(log: IngestLog, everything = false): Promise<void> {
    const limit = this.options.trimmable?.();
    const position = limit !== undefined && limit < this.committed ? limit : this.committed;
    await log.release(position, everything).catch((error) => (this.options.onWriteError ?? reportWriteError)(error));
  }

  /**
   * The drain with a staged writer: while batch n is written, batch n + 1 (whatever is ready when
   * n starts to be written) is being prepared. A failed write resets the writer and drops the
   * preparation ahead; with a log it retries from the same requests, without one it fails them
   * (nothing of theirs was acknowledged: their senders retry).
   */
  private async loopStaged(staged: StagedWriter, log: IngestLog | undefined): Promise<void> {
    let failures = 0;
    let stale = 0;
    const interval = log ? 0 : (this.options.minWriteIntervalMs ?? 0);
    type Stage = { batch: Pending[]; count: number; prepared: Promise<PreparedWrite> };
    const stage = (from: number): Stage | undefined => {
      const { batch, count } = this.takeBatch(from);
      if (batch.length === 0) return undefined;
      const requests = batch.map((p) => {
        const request: StagedRequest = { raw: p.raw as RawRequest, ticket: p.ticket };
        p.ticket = undefined; // kept spans are handed over once; a retry decodes the body
        return request;
      });
      const prepared = staged.prepare(requests);
      prepared.catch(() => undefined); // handled where awaited
      return { batch, count, prepared };
    };
    let ahead: Stage | undefined;
    while (true) {
      const current = ahead ?? stage(0);
      ahead = undefined;
      if (current === undefined) break;
      const position = current.batch[current.batch.length - 1].end;
      try {
        const write = await current.prepared;
        const spacing = this.spaceWrites(interval);
        if (spacing) await spacing;
        // The preparer is free: start on the next batch while this one is written.
        ahead = stage(current.batch.length);
        await this.timedWrite(current.count, () =>
          write.write(log ? this.progress(position, current.count) : undefined),
        );
      } catch (error) {
        if (ahead) await ahead.prepared.catch(() => undefined);
        ahead = undefined;
        if (error instanceof StalePreparationError && !this.closed && stale < MAX_STALE_RETRIES) {
          // Not a failure: the store took a write beside the queue; prepare the same requests
          // again from its state, at once (a few times in a row at most).
          stale++;
          await staged.reset().catch((e) => (this.options.onWriteError ?? reportWriteError)(e));
          continue;
        }
        if (!log) {
          this.settle(current.batch, current.count);
          for (const p of current.batch) p.reject?.(error);
          await staged.reset().catch((e) => (this.options.onWriteError ?? reportWriteError)(e));
          continue;
        }
        this.lastStoreFailure = error as Error;
        (this.options.onWriteError ?? reportWriteError)(error);
        if (this.closed) {
          this.gaveUp = true;
          break;
        }
        failures++;
        await staged.reset().catch((e) => (this.options.onWriteError ?? reportWriteError)(e));
        await new Promise((r) => setTimeout(r, Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** failures)));
        continue;
      }
      failures = 0;
      stale = 0;
      this.lastStoreFailure = undefined;
      this.settle(current.batch, current.count);
      for (const p of current.batch) p.resolve?.();
      if (log) await this.committedUpTo(log, position);
    }
    this.writing = false;
    this.markIdle();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    const interval = this.options.log ? 0 : (this.options.minWriteIntervalMs ?? 0);
    while (this.queue.length > 0 && this.queue[0].ready) {
      const spacing = this.spaceWrites(interval);
      if (spacing) await spacing;
      const { batch, count } = this.takeBatch(0);
      const spans = batch.length === 1 ? batch[0].spans : batch.flatMap((p) => p.spans);
      const { log } = this.options;
      const position = batch[batch.length - 1].end;
      try {
        await this.timedWrite(count, () =>
          this.options.writer.writeSpans(spans, log ? this.progress(position, count) : undefined),
        );
      } catch (error) {
        if (!log) {
          this.settle(batch, count);
          for (const p of batch) p.reject?.(error);
          continue;
        }
        // The spans are safe in the log: retry, with a growing pause. While closing, give up
        // after the first failure; the next start replays them from the log.
        this.lastStoreFailure = error as Error;
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
      this.lastStoreFailure = undefined;
      this.settle(batch, count);
      for (const p of batch) p.resolve?.();
      if (log) await this.committedUpTo(log, position);
    }
    this.writing = false;
    this.markIdle();
  }

  /**
   * Waits until `interval` ms after the last write started (not while closing), then marks this
   * one's start. Returns nothing when there is nothing to wait for, so that the caller does not
   * yield (requests arriving meanwhile would join the batch).
   */
  private spaceWrites(interval: number): Promise<void> | undefined {
    const wait = this.lastWriteStart + interval - Date.now();
    if (wait <= 0 || this.closed) {
      this.lastWriteStart = Date.now();
      return undefined;
    }
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        this.lastWriteStart = Date.now();
        resolve();
      }, wait),
    );
  }

  /** Runs one store write of `count` spans, recording how long it took and whether it committed. */
  private async timedWrite(count: number, write: () => Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await write();
    } catch (error) {
      this.options.metrics?.commit((performance.now() - started) / 1000, undefined);
      throw error;
    }
    this.options.metrics?.commit((performance.now() - started) / 1000, count);
  }

  private settle(batch: Pending[], count: number): void {
    this.queue.splice(0, batch.length);
    if (this.options.log) this.appliedSpans += BigInt(count);
    this.pendingSpans -= count;
    for (const p of batch) {
      this.pendingLogBytes -= p.logBytes;
      this.chargedSpans -= this.charge(p.count);
    }
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
