import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Span } from '@ariadne/core';
import Fastify from 'fastify';
import { NotYetCommittedError, type WriteProgress } from '../query/span-store.ts';
import { DuckDbSpanStore } from '../store/duckdb-store.ts';
import { decodeOtlpProtobuf } from './decode-otlp.ts';
import { IngestLog, LogFormat } from './ingest-log.ts';
import { ExportTraceServiceRequest } from './otlp-proto-schema.ts';
import { CONSISTENCY_HEADER, ReadConsistencyScope, ReadYourWritesStore } from './read-your-writes.ts';
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

/**
 * A real DuckDB store and ingest log; store writes wait for `release()`, to hold the drain. Reads
 * outside a request have the `consistency` given (the server's default).
 */
async function setup(maxWaitMs: number, consistency: 'committed' | 'read-your-writes' = 'read-your-writes') {
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
  const scope = new ReadConsistencyScope(consistency);
  const reader = new ReadYourWritesStore(store, queue, { scope, maxWaitMs });
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
  return { store, reader, scope, queue, ack, release: () => release(), cleanup };
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
      await s.store.listServices(); // a round trip through the database: the read had time to answer
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

  it('answers at once from what is committed by default, while acknowledged spans wait for the store', async () => {
    const s = await setup(10_000, 'committed');
    try {
      await s.ack('acknowledged');
      // The store write is held: a read that waited would never answer before `release()`.
      assert.deepEqual(await s.reader.getTrace(TRACE), [], 'not committed yet: not found, and no wait');
      assert.deepEqual(await s.reader.listServices(), []);
      s.release();
      assert.equal(await s.queue.waitForCommitted(10_000), true);
      assert.deepEqual(
        (await s.reader.getTrace(TRACE)).map((span) => span.name),
        ['acknowledged'],
      );
    } finally {
      await s.cleanup();
    }
  });

  it('waits for a request that asks with the X-Ariadne-Consistency header, and only for it', async () => {
    const s = await setup(10_000, 'committed');
    const app = Fastify();
    app.addHook('preHandler', s.scope.hook());
    // Two reads in one request: they share one wait.
    app.get('/trace', async () => {
      const spans = await s.reader.getTrace(TRACE);
      const services = await s.reader.listServices();
      return { names: spans.map((span) => span.name), services };
    });
    try {
      await s.ack('acknowledged');
      const plain = await app.inject({ url: '/trace' });
      assert.deepEqual(plain.json(), { names: [], services: [] }, 'without the header: what is committed, at once');

      let answered = false;
      const asking = app.inject({ url: '/trace', headers: { [CONSISTENCY_HEADER]: 'Read-Your-Writes' } }).then((r) => {
        answered = true;
        return r;
      });
      const meanwhile = await app.inject({ url: '/trace', headers: { [CONSISTENCY_HEADER]: 'committed' } });
      assert.deepEqual(meanwhile.json(), { names: [], services: [] }, 'a committed read does not queue behind it');
      assert.equal(answered, false, 'the read-your-writes request waits for the drain');
      s.release();
      assert.deepEqual((await asking).json(), { names: ['acknowledged'], services: ['ryw'] });

      const bad = await app.inject({ url: '/trace', headers: { [CONSISTENCY_HEADER]: 'eventually' } });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().message, /committed or read-your-writes/);
    } finally {
      await app.close();
      await s.cleanup();
    }
  });
});
