import { Worker } from 'node:worker_threads';
import type { PreparedWriter, WriteProgress } from '../query/span-store.ts';
import { OtlpDecodeError } from './decode-otlp.ts';
import { type ZipkinConversion, ZipkinDecodeError } from './decode-zipkin.ts';
import type { LogFormat } from './ingest-log.ts';
import type { DecodedRequest, PreparedWrite, RawRequest, StagedRequest, StagedWriter } from './write-queue.ts';

/** What the worker thread starts from: the store's preparer module, and the state to start it with. */
export interface PrepareWorkerData {
  readonly preparerModule: string;
  readonly state: unknown;
}

/** A request as sent to the worker thread: its body, or only the ticket its spans are kept under. */
export interface WorkerRequest {
  readonly format: LogFormat;
  readonly body?: Uint8Array;
  readonly ticket?: number;
}

/** Messages to the worker thread. */
export type ToPrepareWorker =
  | { readonly type: 'decode'; readonly id: number; readonly request: WorkerRequest }
  | { readonly type: 'release'; readonly ticket: number }
  | { readonly type: 'prepare'; readonly id: number; readonly requests: WorkerRequest[] }
  /** A Zipkin request's record (`zipkinRecord`), transferred when it can be (`convertZipkin`). */
  | { readonly type: 'zipkin'; readonly id: number; readonly format: LogFormat; readonly record: Uint8Array }
  | { readonly type: 'reset'; readonly state: unknown };

/** Messages from the worker thread. */
export type FromPrepareWorker =
  | { readonly type: 'decoded'; readonly id: number; readonly decoded: DecodedRequest }
  | { readonly type: 'prepared'; readonly id: number; readonly batch: unknown }
  /** The conversion, and the record it was asked for, transferred back. */
  | {
      readonly type: 'converted';
      readonly id: number;
      readonly conversion: ZipkinConversion & { readonly decoded?: DecodedRequest };
      readonly format: LogFormat;
      readonly record: Uint8Array;
    }
  /** Some tickets of a `prepare` without bodies have no kept part (a new worker): send the bodies. */
  | { readonly type: 'missing'; readonly id: number }
  | { readonly type: 'failed'; readonly id: number; readonly message: string; readonly undecodable?: boolean };

/**
 * A Zipkin request converted on the worker: its span count and, when it holds spans, its verdict,
 * the spans prepared and kept under its ticket as `decode` keeps them; and its record, the one
 * the conversion was given (which went to the worker and back).
 */
export interface DecodedZipkin extends ZipkinConversion {
  readonly decoded?: DecodedRequest;
  readonly record: RawRequest;
}

interface Waiting {
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  /** The error for a request the worker found undecodable (the receiver answers 400). */
  readonly undecodable: (message: string) => Error;
}

/**
 * The write queue's staged writer on a worker thread: the worker decodes and validates each
 * request as it arrives (the receivers wait for its verdict to answer), prepares the rows of its
 * valid spans at once and keeps them, and later combines the kept rows of a batch of requests;
 * the calling thread, which owns the database, only copies the rows in (`writePrepared`). Rows
 * are the store's business: the worker loads the preparer from the module the store names
 * (`PreparedWriter.preparerModule`; for DuckDB, store/batch-preparer.ts), so ingest imports no
 * backend. Decoding and preparing were two thirds of the main thread's time under ingest load
 * (BENCHMARKS.md); now they run beside the receivers and the database writes, and each request
 * is decoded once.
 *
 * The worker's preparer starts from the store's `preparerState()` and assumes every batch it
 * prepared gets written, in order; `reset` (after a failed write) gives it the store's state
 * again. If the worker dies, what it had pending fails (receivers answer 503), and the next call
 * starts a new one.
 *
 * A write to the store from elsewhere while the worker runs (the store's own `writeSpans`) makes
 * the worker's next batch stale: the store refuses it (for DuckDB, `StalePreparedBatchError`), and the queue
 * resets the worker and prepares the batch again.
 */
export class PrepareWorker<State = unknown, Batch = unknown> implements StagedWriter {
  private worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private dead: Error | undefined;
  private closed = false;
  /** A new worker being started after the old one died. */
  private respawning: Promise<void> | undefined;

  private constructor(
    private readonly store: PreparedWriter<State, Batch>,
    state: State,
  ) {
    this.worker = this.spawn(state);
  }

  /** Starts the worker from the store's current state. */
  static async start<State, Batch>(store: PreparedWriter<State, Batch>): Promise<PrepareWorker<State, Batch>> {
    return new PrepareWorker(store, await store.preparerState());
  }

  private spawn(state: State): Worker {
    this.dead = undefined;
    const workerData: PrepareWorkerData = { preparerModule: this.store.preparerModule, state };
    const worker = new Worker(new URL('./prepare-worker-entry.mjs', import.meta.url), { workerData });
    worker.on('message', (message: FromPrepareWorker) => {
      const waiting = this.waiting.get(message.id);
      if (waiting === undefined) return;
      this.waiting.delete(message.id);
      if (message.type === 'prepared') waiting.resolve(message.batch);
      else if (message.type === 'missing') waiting.resolve('missing');
      else if (message.type === 'decoded') waiting.resolve(message.decoded);
      else if (message.type === 'converted') {
        const record = Buffer.from(message.record.buffer, message.record.byteOffset, message.record.byteLength);
        waiting.resolve({ ...message.conversion, record: { format: message.format, body: record } });
      } else if (message.undecodable) waiting.reject(waiting.undecodable(message.message));
      else waiting.reject(new Error(`the prepare worker failed: ${message.message}`));
    });
    const fail = (error: Error) => {
      if (worker !== this.worker) return;
      this.dead = error;
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
    };
    worker.on('error', (error) => fail(new Error(`the prepare worker failed: ${error.message}`)));
    worker.on('exit', (code) => fail(new Error(`the prepare worker exited (code ${code})`)));
    return worker;
  }

  /** If the worker died, starts a new one from the store's state (once, however many wait). */
  private async alive(): Promise<void> {
    if (!this.dead || this.closed) return;
    this.respawning ??= (async () => {
      try {
        const state = await this.store.preparerState();
        if (this.dead && !this.closed) this.worker = this.spawn(state);
      } finally {
        this.respawning = undefined;
      }
    })();
    await this.respawning;
  }

  /** Sends a message that expects an answer, moving the buffers of `transfer` to the worker. */
  private async ask(
    message: ToPrepareWorker & { id: number },
    undecodable: (message: string) => Error = (text) => new OtlpDecodeError(text),
    transfer: ArrayBuffer[] = [],
  ): Promise<unknown> {
    await this.alive();
    if (this.closed) throw new Error('the prepare worker is closed');
    if (this.dead) throw this.dead;
    const answer = new Promise<unknown>((resolve, reject) =>
      this.waiting.set(message.id, { resolve, reject, undecodable }),
    );
    this.worker.postMessage(message, transfer);
    return await answer;
  }

  async decode(raw: RawRequest): Promise<DecodedRequest> {
    // The body is copied to the worker (structured clone); the queue keeps its own.
    const id = this.nextId++;
    return (await this.ask({ type: 'decode', id, request: { format: raw.format, body: raw.body } })) as DecodedRequest;
  }

  /**
   * A Zipkin request converted on the worker from its record (`zipkinRecord`), 1,000 spans at a
   * time with pauses between (`zipkinSpansInSlices`): a 15 MB Zipkin request takes about a
   * second, which on the receivers' thread held up every query. Its spans are prepared as they
   * are converted and kept as `decode` keeps them: hand `decoded` to the queue's `enqueueDecoded`
   * with the record the conversion gives back. A record that has an ArrayBuffer of its own
   * (`readBody`'s headroom) is moved to the worker and back, not copied: the one given here is
   * then empty, and only the one given back holds the request. Throws `ZipkinDecodeError` for a
   * body it cannot read.
   */
  async convertZipkin(record: RawRequest): Promise<DecodedZipkin> {
    const id = this.nextId++;
    const { body, format } = record;
    const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.byteLength > 0;
    const message: ToPrepareWorker = { type: 'zipkin', id, format, record: body };
    const transfer = own && body.buffer instanceof ArrayBuffer ? [body.buffer] : [];
    return (await this.ask(message, (text) => new ZipkinDecodeError(text), transfer)) as DecodedZipkin;
  }

  release(ticket: number): void {
    if (this.closed || this.dead) return;
    const message: ToPrepareWorker = { type: 'release', ticket };
    this.worker.postMessage(message);
  }

  async prepare(requests: readonly StagedRequest[]): Promise<PreparedWrite> {
    // Tickets only where the worker keeps the spans; bodies (copied, several MB a batch) only
    // where it does not: a retry, which hands no ticket, or, answered 'missing', a worker
    // started after a failure.
    const ask = (withBodies: boolean) =>
      this.ask({
        type: 'prepare',
        id: this.nextId++,
        requests: requests.map(({ raw, ticket }) =>
          withBodies || ticket === undefined
            ? { format: raw.format, body: raw.body, ticket }
            : { format: raw.format, ticket },
        ),
      });
    let answer = await ask(false);
    if (answer === 'missing') answer = await ask(true);
    const batch = answer as Batch;
    return { write: (progress?: WriteProgress) => this.store.writePrepared(batch, progress) };
  }

  async reset(): Promise<void> {
    if (this.dead) return this.alive();
    const state = await this.store.preparerState();
    if (this.closed) return;
    if (this.dead) return this.alive();
    const message: ToPrepareWorker = { type: 'reset', state };
    this.worker.postMessage(message);
  }

  /** Stops the worker; pending preparations fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}
