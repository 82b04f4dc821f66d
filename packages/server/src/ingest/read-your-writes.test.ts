import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Span } from '@ariadne/core';
import { NotYetCommittedError, type WriteProgress } from '../query/span-store.ts';
import { DuckDbSpanStore } from '../store/duckdb-store.ts';
import { decodeOtlpProtobuf } from './decode-otlp.ts';
import { IngestLog, LogFormat } from './ingest-log.ts';
import { ExportTraceServiceRequest } from './otlp-proto-schema.ts';
import { ReadYourWritesStore } from './read-your-writes.ts';
import { WriteQueue } from './write-queue.ts';

const TRACE = 'ab'.repeat(16);

function request(name: string): Buffer {
  return Buffer.from(
    ExportTraceServiceRequest.encode(
      ExportTraceServiceRequest.fromObject({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ryw' } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: Buffer.from(TRACE, 'hex'),
                    spanId: Buffer.from('cd'.repeat(8), 'hex'),
                    name,
                    startTimeUnixNano: 1000,
                    endTimeUnixNano: 2000,
                  },
                ],
              },
            ],
          },
        ],
      }),
    ).finish(),
  );
}

/** A real DuckDB store and ingest log; store writes wait for `release()`, to hold the drain. */
async function setup(maxWaitMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'ariadne-ryw-'));
  const store = await DuckDbSpanStore.open({ dataDir: dir });
  const log = await IngestLog.open({ dir: join(dir, 'ingest-log') });
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const writer = {
    async writeSpans(spans: readonly Span[], progress?: WriteProgress) {
      await gate;
      await store.writeSpans(spans, progress);
    },
  };
  const queue = new WriteQueue({ writer, log, maxPendingSpans: 100, maxBatchSpans: 100 });
  const reader = new ReadYourWritesStore(store, queue, maxWaitMs);
  const ack = async (name: string) => {
    const body = request(name);
    await queue.enqueue(decodeOtlpProtobuf(body).spans, { format: LogFormat.OTLP_PROTOBUF, body });
  };
  const cleanup = async () => {
    release();
    await queue.close();
    await log.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { store, reader, queue, ack, release: () => release(), cleanup };
}

describe('ReadYourWritesStore', () => {
  it('answers a read only once every span acknowledged before it is in the store', async () => {
    const s = await setup(10_000);
    try {
      await s.ack('acknowledged');
      assert.deepEqual(await s.store.getTrace(TRACE), [], 'acknowledged, not yet in the store');
      let answered = false;
      const read = s.reader.getTrace(TRACE).then((spans) => {
        answered = true;
        return spans;
      });
      const services = s.reader.listServices();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(answered, false, 'the read waits for the drain');
      s.release();
      assert.deepEqual(
        (await read).map((span) => span.name),
        ['acknowledged'],
      );
      assert.deepEqual(await services, ['ryw']);
    } finally {
      await s.cleanup();
    }
  });

  it('says a trace is pending, not absent, when the store is still behind after the bounded wait', async () => {
    const s = await setup(30);
    try {
      await s.ack('late');
      await assert.rejects(
        s.reader.getTrace(TRACE),
        (e: Error) =>
          e instanceof NotYetCommittedError && e.pendingSpans === 1 && /not in the store yet/.test(e.message),
      );
      assert.deepEqual(await s.reader.listServices(), [], 'other reads answer from what is committed');
      s.release();
      // The reader's own wait (30 ms here) may run out before the commit on a busy machine.
      assert.equal(await s.queue.waitForCommitted(10_000), true);
      assert.deepEqual(
        (await s.reader.getTrace(TRACE)).map((span) => span.name),
        ['late'],
      );
      assert.deepEqual(await s.reader.getTrace('ef'.repeat(16)), [], 'caught up: an unknown trace is absent');
    } finally {
      await s.cleanup();
    }
  });
});
