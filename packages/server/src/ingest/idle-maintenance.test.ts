import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dirBytes } from '../../bench/serve-process.ts';
import { DuckDbSpanStore } from '../store/duckdb-store.ts';
import { decodeOtlpProtobuf } from './decode-otlp.ts';
import { IdleMaintenance, type IntervalTimers } from './idle-maintenance.ts';
import { INGEST_LOG_SOURCE, IngestLog, LogFormat } from './ingest-log.ts';
import { requestTraceId, traceRequest } from './testdata/ariadne-process.ts';
import { WriteQueue } from './write-queue.ts';

/**
 * The quiet footprint: once ingest pauses, the data directory is the database file and little
 * else (the WAL folded in, the ingest log down to one empty segment), and the same after a clean
 * stop. Real DuckDB file, real ingest log; the ticks come from a hand-driven clock.
 */

/** Timers whose interval runs only when the test says so. */
function handClock(): IntervalTimers & { fire(): void } {
  let callback: (() => void) | undefined;
  return {
    setInterval(fn) {
      callback = fn;
      return 1;
    },
    clearInterval() {
      callback = undefined;
    },
    fire() {
      callback?.();
    },
  };
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'ariadne-idle-'));
  const store = await DuckDbSpanStore.open({ dataDir: dir });
  // Small segments, so that a load spans several and the trim deletes whole ones before the last.
  const log = await IngestLog.open({ dir: join(dir, 'ingest-log'), segmentBytes: 256 * 1024 });
  const queue = new WriteQueue({
    writer: store,
    log,
    maxPendingSpans: 100_000,
    maxBatchSpans: 5_000,
    trimmable: () => store.checkpointedProgress(INGEST_LOG_SOURCE),
  });
  const errors: unknown[] = [];
  const clock = handClock();
  const collected = { count: 0 };
  const idle = new IdleMaintenance({
    store,
    queue,
    log,
    timers: clock,
    onError: (e) => errors.push(e),
    collect: () => collected.count++,
  });
  idle.start();
  const send = async (from: number, count: number, spans: number) => {
    await Promise.all(
      Array.from({ length: count }, (_, i) => {
        const body = traceRequest(7, from + i, spans, 'idle');
        return queue.enqueue(decodeOtlpProtobuf(body).spans, { format: LogFormat.OTLP_PROTOBUF, body });
      }),
    );
    assert.equal(await queue.waitForCommitted(60_000), true);
  };
  const database = join(dir, 'ariadne.duckdb');
  const footprint = () => ({ dir: dirBytes(dir), database: statSync(database).size });
  const logFiles = () => readdirSync(join(dir, 'ingest-log')).filter((n) => n.endsWith('.log'));
  return { dir, store, log, queue, idle, clock, errors, send, footprint, logFiles, collected };
}

describe('IdleMaintenance', () => {
  it('leaves a data directory of at most 1.2x the database once ingest pauses, and after a clean stop', async () => {
    const s = await setup();
    try {
      await s.send(0, 200, 100);
      const busy = s.footprint();
      assert.ok(s.store.walBytes() > 0, 'the writes are in the WAL');
      assert.ok(
        busy.dir > 1.2 * busy.database,
        `before the pause: ${busy.dir} bytes for a ${busy.database}-byte database`,
      );

      // The first tick only notes what it saw; spans arriving before the next one mean not idle.
      s.clock.fire();
      await s.send(200, 20, 100);
      s.clock.fire();
      await s.idle.settling();
      assert.ok(s.store.walBytes() > 0, 'still receiving: nothing folded in');
      assert.equal(s.collected.count, 0, 'nor collected');

      // A whole interval with nothing new: checkpoint and trim.
      s.clock.fire();
      await s.idle.settling();
      assert.deepEqual(s.errors, []);
      assert.equal(s.store.walBytes(), 0, 'the WAL is folded into the database');
      assert.equal(s.collected.count, 1, 'and the heap collected, once');
      assert.equal(s.logFiles().length, 1, 'one segment left');
      assert.equal(statSync(join(s.dir, 'ingest-log', s.logFiles()[0])).size, 16, 'and it holds no record');
      const atRest = s.footprint();
      assert.ok(
        atRest.dir <= 1.2 * atRest.database,
        `at rest: ${atRest.dir} bytes for a ${atRest.database}-byte database`,
      );

      // Ingest resumes after the trim: appends go to the fresh segment, and everything is stored.
      await s.send(220, 20, 100);
      assert.equal(await s.store.countTraces(), 240);

      // A clean stop: drain, checkpoint, trim everything, close.
      await s.idle.stop();
      await s.queue.close();
      await s.store.checkpoint();
      await s.queue.trimLog(s.log, true);
      await s.log.close();
      await s.store.close();
      const stopped = s.footprint();
      assert.ok(stopped.dir <= 1.2 * stopped.database, `stopped: ${stopped.dir} bytes for ${stopped.database}`);

      const reopened = await DuckDbSpanStore.open({ dataDir: s.dir });
      try {
        assert.equal(await reopened.countTraces(), 240);
        assert.equal((await reopened.getTrace(requestTraceId(7, 239))).length, 100);
      } finally {
        await reopened.close();
      }
    } finally {
      await s.idle.stop();
      await s.queue.close();
      await s.log.close();
      await s.store.close();
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  it('does nothing at rest when there is nothing to fold in or trim', async () => {
    const s = await setup();
    try {
      let checkpoints = 0;
      const checkpoint = s.store.checkpoint.bind(s.store);
      s.store.checkpoint = () => {
        checkpoints++;
        return checkpoint();
      };
      await s.send(0, 5, 10);
      for (let i = 0; i < 5; i++) {
        s.clock.fire();
        await s.idle.settling();
      }
      assert.equal(checkpoints, 1, 'one settle after the pause, none after that');
      assert.equal(s.collected.count, 1, 'one collection with it');
    } finally {
      await s.idle.stop();
      await s.queue.close();
      await s.log.close();
      await s.store.close();
      rmSync(s.dir, { recursive: true, force: true });
    }
  });
});
