import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { Span } from '@ariadne/core';
import type { SpanPreparer, SpanPreparerModule } from '../query/span-store.ts';
import { CollectAfterHuge } from './collect-after-huge.ts';
import { DECODE_SLICE_BYTES, OtlpDecodeError, type RequestVerdict } from './decode-otlp.ts';
import { decodeRecordInSlices } from './decode-record.ts';
import { readZipkinRecord, ZipkinDecodeError, zipkinSpansInSlices } from './decode-zipkin.ts';
import type { FromPrepareWorker, PrepareWorkerData, ToPrepareWorker, WorkerRequest } from './prepare-worker.ts';

/**
 * The prepare worker thread (see prepare-worker.ts): decodes and validates requests, prepares the
 * rows of each request's valid spans at once (`preparePart` of the store's preparer, loaded from
 * the module the store names) and keeps them under a ticket until the queue asks for a batch,
 * which combines the kept parts; the batch's buffers are transferred back. A large protobuf
 * request is decoded and prepared in slices of `DECODE_SLICE_BYTES` (a large OTLP/JSON one parsed a
 * slice of spans at a time, ingest/otlp-json-split.ts), with a pause between them in
 * which other messages are taken: one client's huge request must not hold up every other
 * client's answer while it is decoded (BENCHMARKS.md, session 15). Preparing at once lets the
 * decoded span objects die young: kept until their batch, they outlived the young generation
 * whenever the store fell behind (a checkpoint), and copying them to the old generation was a
 * fifth of this thread's time. A request whose parts are not kept (a retry, a reset, or a new
 * worker) is decoded again from its body by the same decoders, so it yields the same spans.
 */

const port = parentPort;
if (port === null) throw new Error('prepare-worker-thread.ts runs as a worker thread');
const { preparerModule, state } = workerData as PrepareWorkerData;
const { createPreparer } = (await import(preparerModule)) as SpanPreparerModule;
let preparer: SpanPreparer = createPreparer(state);
/** Bumped by each reset: parts prepared by an earlier preparer are never kept. */
let generation = 0;
/**
 * Each decoded request's parts (one per slice with valid spans) and the size of its body, by
 * ticket.
 */
const kept = new Map<number, { parts: unknown[]; bodyBytes: number }>();

/**
 * Collects this thread's heap after a huge request (4 MiB of body or more), once it is idle, if
 * the heap then holds more than 24 MiB (an idle one: about 13), at most once a second: after
 * decoding it, and again after the batch that took its kept parts (which the first cannot free:
 * they live until that batch).
 * Between the slices of a huge request, it collects whenever the heap holds 48 MiB and half as
 * much again as the last collection left: that request's heap then peaked at about 50 MiB, not
 * 110, and the process's resident memory 40–50 MiB lower; converting it took a quarter longer
 * (1.1 s, was 0.8–0.9), on this thread only (BENCHMARKS.md, session 20).
 */
const collector = new CollectAfterHuge({
  collect: (globalThis as { gc?: () => void }).gc,
  hugeBytes: 4 * 1024 * 1024,
  heapBytes: () => getHeapStatistics().used_heap_size,
  minHeapBytes: 24 * 1024 * 1024,
  minIntervalMs: 1_000,
  between: { growth: 1.5, minBetweenHeapBytes: 48 * 1024 * 1024 },
});

/** Lets the thread take the messages that arrived meanwhile (a small request's verdict). */
const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A request's valid spans, slice by slice, and its verdict. */
function decodeInSlices(request: WorkerRequest): Generator<readonly Span[], RequestVerdict, void> {
  if (request.body === undefined) throw new Error('prepare worker: a request without its body');
  const body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
  return decodeRecordInSlices(request.format, body);
}

/**
 * Prepares the spans of each slice a generator yields, with a pause between slices if `pausing`,
 * so that a huge request (megabytes of spans) never holds up the verdicts of the small ones that
 * arrive meanwhile. Parts are undefined if a reset came in between (they were prepared for
 * assignments the store never took).
 */
async function prepareSlices<R>(
  slices: Generator<readonly Span[], R, void>,
  pausing: boolean,
): Promise<{ parts?: unknown[]; result: R }> {
  const started = generation;
  const parts: unknown[] = [];
  let next = slices.next();
  while (!next.done) {
    if (next.value.length > 0 && started === generation) parts.push(preparer.preparePart(next.value));
    if (pausing) {
      collector.between();
      await pause();
    }
    next = slices.next();
  }
  return { parts: started === generation ? parts : undefined, result: next.value };
}

/** Decodes a request and prepares its valid spans, a slice at a time (`prepareSlices`). */
async function decodeAndPrepare(request: WorkerRequest): Promise<{ parts?: unknown[]; verdict: RequestVerdict }> {
  const sliced = (request.body?.byteLength ?? 0) > DECODE_SLICE_BYTES;
  const { parts, result } = await prepareSlices(decodeInSlices(request), sliced);
  return { parts, verdict: result };
}

function send(message: FromPrepareWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

port.on('message', (message: ToPrepareWorker) => {
  switch (message.type) {
    case 'reset':
      // Kept parts may use assignments the store never committed: prepared again from bodies.
      preparer = createPreparer(message.state);
      generation++;
      kept.clear();
      return;
    case 'release':
      kept.delete(message.ticket);
      return;
    case 'decode':
      void collector.run(message.request.body?.byteLength ?? 0, () => decode(message.id, message.request));
      return;
    case 'prepare': {
      // A kept request counts with the body it was decoded from.
      const bytes = message.requests.reduce(
        (sum, r) => sum + (r.body?.byteLength ?? kept.get(r.ticket as number)?.bodyBytes ?? 0),
        0,
      );
      void collector.run(bytes, () => prepare(message.id, message.requests));
      return;
    }
    case 'zipkin':
      void collector.run(message.record.byteLength, () => convertZipkin(message));
      return;
  }
});

async function decode(id: number, request: WorkerRequest): Promise<void> {
  try {
    const { parts, verdict } = await decodeAndPrepare(request);
    // The request's id is the ticket: ids come from the main thread and are never reused, also
    // across a restarted worker, so a ticket from an earlier worker never finds other spans.
    const ticket = id;
    if (parts !== undefined) kept.set(ticket, { parts, bodyBytes: request.body?.byteLength ?? 0 });
    send({
      type: 'decoded',
      id,
      decoded: {
        ticket,
        accepted: verdict.acceptedSpans,
        rejectedSpans: verdict.rejectedSpans,
        errorMessage: verdict.errorMessage,
      },
    });
  } catch (error) {
    const undecodable = error instanceof OtlpDecodeError || error instanceof ZipkinDecodeError;
    send({ type: 'failed', id, message: (error as Error).message ?? String(error), undecodable });
  }
}

/**
 * Converts a Zipkin request from its record, a slice of spans at a time with a pause between
 * (other requests' verdicts are given meanwhile), prepares each slice's spans as it comes and
 * keeps them as `decode` does (the request's id is the ticket), and sends back the verdict with
 * the record (moved back, not copied). The ingest log keeps the record, which decodes to these
 * spans again.
 */
async function convertZipkin(message: Extract<ToPrepareWorker, { type: 'zipkin' }>): Promise<void> {
  const { format, record } = message;
  const answer = (conversion: Extract<FromPrepareWorker, { type: 'converted' }>['conversion']) =>
    send({ type: 'converted', id: message.id, conversion, format, record }, [record.buffer as ArrayBuffer]);
  try {
    const { body, encoding, receivedUnixNano } = readZipkinRecord(format, record);
    const slices = zipkinSpansInSlices(body, encoding, receivedUnixNano);
    const { parts, result } = await prepareSlices(slices, true);
    const { spans } = result;
    if (spans === 0) return answer({ spans });
    // The request's id is the ticket, as in `decode`.
    const ticket = message.id;
    if (parts !== undefined) kept.set(ticket, { parts, bodyBytes: record.byteLength });
    answer({ spans, decoded: { ticket, accepted: spans, rejectedSpans: 0, errorMessage: '' } });
  } catch (error) {
    const undecodable = error instanceof ZipkinDecodeError;
    send({ type: 'failed', id: message.id, message: (error as Error).message ?? String(error), undecodable });
  }
}

/**
 * Prepares a batch: the kept parts of each request, or its body decoded and prepared again. A
 * request sent without its body whose parts are not kept (this worker did not decode it, or was
 * reset since) makes the answer 'missing', with nothing consumed, and the main thread sends the
 * bodies. (The main thread asks for one batch at a time, and resets only between batches.)
 */
async function prepare(id: number, requests: readonly WorkerRequest[]): Promise<void> {
  try {
    for (const request of requests) {
      if (request.body === undefined && !kept.has(request.ticket as number)) {
        send({ type: 'missing', id });
        return;
      }
    }
    const started = generation;
    const parts: unknown[] = [];
    for (const request of requests) {
      const own = request.ticket === undefined ? undefined : kept.get(request.ticket);
      if (own !== undefined) {
        kept.delete(request.ticket as number);
        parts.push(...own.parts);
        continue;
      }
      // Undefined parts (a reset meanwhile) fail the batch just below.
      parts.push(...((await decodeAndPrepare(request)).parts ?? []));
    }
    if (started !== generation) throw new Error('the preparer was reset while it prepared a batch');
    const batch = preparer.combine(parts);
    send({ type: 'prepared', id, batch }, preparer.transferables(batch));
  } catch (error) {
    send({ type: 'failed', id, message: (error as Error).message ?? String(error) });
  }
}
