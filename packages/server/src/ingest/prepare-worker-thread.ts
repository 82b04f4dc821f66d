import { parentPort, workerData } from 'node:worker_threads';
import type { SpanPreparer, SpanPreparerModule } from '../query/span-store.ts';
import { decodeOtlpJson, decodeOtlpProtobuf, OtlpDecodeError } from './decode-otlp.ts';
import { LogFormat } from './ingest-log.ts';
import type { FromPrepareWorker, PrepareWorkerData, ToPrepareWorker, WorkerRequest } from './prepare-worker.ts';

/**
 * The prepare worker thread (see prepare-worker.ts): decodes and validates requests, prepares the
 * rows of each request's valid spans at once (`preparePart` of the store's preparer, loaded from
 * the module the store names) and keeps them under a ticket until
 * the queue asks for a batch, which combines the kept parts; the batch's buffers are transferred
 * back. Preparing at once lets the decoded span objects die young: kept until their batch, they
 * outlived the young generation whenever the store fell behind (a checkpoint), and copying them
 * to the old generation was a fifth of this thread's time. A request whose part is not kept (a
 * retry, a reset, or a new worker) is decoded again from its body by the same decoders, so it
 * yields the same spans.
 */

const port = parentPort;
if (port === null) throw new Error('prepare-worker-thread.ts runs as a worker thread');
const { preparerModule, state } = workerData as PrepareWorkerData;
const { createPreparer } = (await import(preparerModule)) as SpanPreparerModule;
let preparer: SpanPreparer = createPreparer(state);
/** Each decoded request's part, by ticket; null for a request without valid spans. */
const kept = new Map<number, unknown>();

function decode(request: WorkerRequest) {
  if (request.body === undefined) throw new Error('prepare worker: a request without its body');
  const body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
  return request.format === LogFormat.OTLP_JSON ? decodeOtlpJson(body) : decodeOtlpProtobuf(body);
}

function send(message: FromPrepareWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

port.on('message', (message: ToPrepareWorker) => {
  switch (message.type) {
    case 'reset':
      // Kept parts may use assignments the store never committed: prepared again from bodies.
      preparer = createPreparer(message.state);
      kept.clear();
      return;
    case 'release':
      kept.delete(message.ticket);
      return;
    case 'decode':
      try {
        const decoded = decode(message.request);
        // The request's id is the ticket: ids come from the main thread and are never reused, also
        // across a restarted worker, so a ticket from an earlier worker never finds other spans.
        const ticket = message.id;
        kept.set(ticket, decoded.spans.length > 0 ? preparer.preparePart(decoded.spans) : null);
        send({
          type: 'decoded',
          id: message.id,
          decoded: {
            ticket,
            accepted: decoded.spans.length,
            rejectedSpans: decoded.rejectedSpans,
            errorMessage: decoded.errorMessage,
          },
        });
      } catch (error) {
        const undecodable = error instanceof OtlpDecodeError;
        send({ type: 'failed', id: message.id, message: (error as Error).message ?? String(error), undecodable });
      }
      return;
    case 'prepare':
      prepare(message.id, message.requests);
      return;
  }
});

/**
 * Prepares a batch: the kept part of each request, or its body decoded and prepared again. A
 * request sent without its body whose part is not kept (this worker did not decode it, or was
 * reset since) makes the answer 'missing', with nothing consumed, and the main thread sends the
 * bodies.
 */
function prepare(id: number, requests: readonly WorkerRequest[]): void {
  try {
    for (const request of requests) {
      if (request.body === undefined && !kept.has(request.ticket as number)) {
        send({ type: 'missing', id });
        return;
      }
    }
    const parts: unknown[] = [];
    for (const request of requests) {
      let part = request.ticket === undefined ? undefined : kept.get(request.ticket);
      if (part === undefined) {
        const spans = decode(request).spans;
        part = spans.length > 0 ? preparer.preparePart(spans) : null;
      } else kept.delete(request.ticket as number);
      if (part !== null) parts.push(part);
    }
    const batch = preparer.combine(parts);
    send({ type: 'prepared', id, batch }, preparer.transferables(batch));
  } catch (error) {
    send({ type: 'failed', id, message: (error as Error).message ?? String(error) });
  }
}
