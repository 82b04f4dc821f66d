import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Span } from '@ariadne/core';
import type { WriteProgress } from '../query/span-store.ts';
import { INGEST_LOG_SOURCE, IngestLog, LogFormat } from './ingest-log.ts';
import { QueueClosedError, QueueFullError, WriteQueue } from './write-queue.ts';

const span = (name: string) => ({ name }) as unknown as Span;

/** A writer that records batches and commits when told to (a test double: only ordering is tested here). */
function gatedWriter() {
  const batches: string[][] = [];
  const progress: (WriteProgress | undefined)[] = [];
  let release: () => void = () => undefined;
  let fail = false;
  const waiters: { readonly writes: number; readonly resolve: () => void }[] = [];
  return {
    batches,
    progress,
    failNext() {
      fail = true;
    },
    /** Commits (or fails) the write in flight. */
    release: () => release(),
    /** Resolves once the queue has started its `writes`th write, which `release` then ends. */
    started(writes: number): Promise<void> {
      if (batches.length >= writes) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ writes, resolve }));
    },
    writer: {
      writeSpans(spans: readonly Span[], p?: WriteProgress) {
        batches.push(spans.map((s) => s.name));
        progress.push(p);
        const written = new Promise<void>((resolve, reject) => {
          release = () => {
            if (fail) {
              fail = false;
              reject(new Error('disk full'));
            } else resolve();
          };
        });
        for (const w of waiters.filter((w) => batches.length >= w.writes)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
        return written;
      },
    },
  };
}

describe('WriteQueue', () => {
  it('gathers requests that arrive within minWriteIntervalMs of the last write into one write', async (t) => {
    // The queue reads the clock with Date.now() and waits with setTimeout: both mocked, so no
    // real time passes between the writes whatever the machine's load.
    t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 1_000_000 });
    const batches: string[][] = [];
    const writer = {
      async writeSpans(spans: readonly Span[]) {
        batches.push(spans.map((s) => s.name));
      },
    };
    const gathering = new WriteQueue({ writer, maxPendingSpans: 100, maxBatchSpans: 100, minWriteIntervalMs: 50 });
    await gathering.enqueue([span('a')]);
    // The write of `a` just started: `b` waits for the interval, and `c` joins it.
    const bc = Promise.all([gathering.enqueue([span('b')]), gathering.enqueue([span('c')])]);
    t.mock.timers.tick(49);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(batches, [['a']], 'nothing written before the interval has passed');
    t.mock.timers.tick(1);
    await bc;
    assert.deepEqual(batches, [['a'], ['b', 'c']]);

    batches.length = 0;
    const eager = new WriteQueue({ writer, maxPendingSpans: 100, maxBatchSpans: 100 });
    await eager.enqueue([span('a')]);
    await Promise.all([eager.enqueue([span('b')]), eager.enqueue([span('c')])]);
    assert.deepEqual(batches, [['a'], ['b'], ['c']], 'without the interval, each request is written as it comes');
  });

  it('batches requests that arrive while a write is in flight, without splitting any', async () => {
    const g = gatedWriter();
    const q = new WriteQueue({ writer: g.writer, maxPendingSpans: 100, maxBatchSpans: 3 });
    const first = q.enqueue([span('a')]);
    const second = q.enqueue([span('b'), span('c')]);
    const third = q.enqueue([span('d')]);
    const fourth = q.enqueue([span('e'), span('f'), span('g'), span('h')]);
    g.release();
    await first;
    assert.deepEqual(g.batches[0], ['a']);
    await new Promise((r) => setImmediate(r));
    g.release();
    await Promise.all([second, third]);
    assert.deepEqual(g.batches[1], ['b', 'c', 'd']);
    await new Promise((r) => setImmediate(r));
    g.release();
    await fourth;
    assert.deepEqual(g.batches[2], ['e', 'f', 'g', 'h'], 'a request larger than a batch is written whole');
    assert.equal(q.pending, 0);
  });

  it('refuses requests over capacity with a retry delay, and accepts again once drained', async () => {
    const g = gatedWriter();
    const q = new WriteQueue({ writer: g.writer, maxPendingSpans: 3, maxBatchSpans: 10 });
    const first = q.enqueue([span('a'), span('b')]);
    await assert.rejects(
      q.enqueue([span('c'), span('c2')]),
      (e: Error) => e instanceof QueueFullError && e.retryAfterSeconds > 0,
    );
    g.release();
    await first;
    const again = q.enqueue([span('c')]);
    g.release();
    await again;
  });

  it('counts a request as at most half of its capacity, so that a huge one does not shut out the others', async () => {
    const g = gatedWriter();
    const q = new WriteQueue({ writer: g.writer, maxPendingSpans: 10, maxBatchSpans: 100 });
    const huge = q.enqueue(Array.from({ length: 40 }, (_, i) => span(`h${i}`)));
    assert.equal(q.pending, 40);
    assert.equal(q.load, 5);
    const small = q.enqueue([span('s1'), span('s2'), span('s3'), span('s4'), span('s5')]);
    await assert.rejects(q.enqueue([span('s6')]), (e: Error) => e instanceof QueueFullError);
    g.release();
    await huge;
    await g.started(2);
    g.release();
    await small;
    assert.equal(q.load, 0);
    assert.deepEqual(g.batches[1], ['s1', 's2', 's3', 's4', 's5']);
  });

  it('rejects every request of a failed batch and keeps going', async () => {
    const g = gatedWriter();
    const q = new WriteQueue({ writer: g.writer, maxPendingSpans: 10, maxBatchSpans: 10 });
    g.failNext();
    const first = q.enqueue([span('a')]);
    g.release();
    await assert.rejects(first, /disk full/);
    const second = q.enqueue([span('b')]);
    g.release();
    await second;
    assert.equal(q.pending, 0);
  });

  it('waits for accepted spans on close and refuses new ones', async () => {
    const g = gatedWriter();
    const q = new WriteQueue({ writer: g.writer, maxPendingSpans: 10, maxBatchSpans: 10 });
    const first = q.enqueue([span('a')]);
    let closed = false;
    const closing = q.close().then(() => {
      closed = true;
    });
    await assert.rejects(q.enqueue([span('b')]), QueueClosedError);
    await new Promise((r) => setImmediate(r));
    assert.equal(closed, false);
    g.release();
    await first;
    await closing;
    assert.equal(closed, true);
  });
});

/** A real ingest log in a temporary directory. */
async function withLog(run: (log: IngestLog) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'ariadne-queue-log-'));
  const log = await IngestLog.open({ dir });
  try {
    await run(log);
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const raw = (text: string) => ({ format: LogFormat.OTLP_PROTOBUF, body: Buffer.from(text) });

describe('WriteQueue with an ingest log', () => {
  it('acknowledges once the request is in the log, before the store commits, then commits it with its position', async () => {
    await withLog(async (log) => {
      const g = gatedWriter();
      const q = new WriteQueue({ writer: g.writer, log, maxPendingSpans: 100, maxBatchSpans: 100 });
      await q.enqueue([span('a')], raw('request-a'));
      assert.equal(log.durable, log.end, 'acknowledged only after the fdatasync');
      assert.equal(q.pending, 1, 'acknowledged, not yet committed');
      await q.enqueue([span('b'), span('c')], raw('request-bc'));
      const caughtUp = q.waitForCommitted(5_000);
      g.release(); // commits [a]
      await g.started(2);
      g.release(); // commits [b, c], which waited behind it
      assert.equal(await caughtUp, true);
      assert.deepEqual(g.batches, [['a'], ['b', 'c']]);
      assert.deepEqual(
        g.progress.map((p) => p?.source),
        [INGEST_LOG_SOURCE, INGEST_LOG_SOURCE],
      );
      assert.equal(g.progress[1]?.position, log.end, 'the position after the last record of the batch');
      assert.equal(q.committedPosition, log.end);
      assert.equal(q.pending, 0);
    });
  });

  it('reports a bounded wait for commits that do not come', async () => {
    await withLog(async (log) => {
      const g = gatedWriter();
      const q = new WriteQueue({ writer: g.writer, log, maxPendingSpans: 100, maxBatchSpans: 100 });
      assert.equal(await q.waitForCommitted(1), true, 'nothing acknowledged, nothing to wait for');
      await q.enqueue([span('a')], raw('a'));
      assert.equal(await q.waitForCommitted(20), false);
      g.release();
      assert.equal(await q.waitForCommitted(5_000), true);
    });
  });

  it('refuses over the span bound and over the log-byte bound, with a retry delay', async () => {
    await withLog(async (log) => {
      const g = gatedWriter();
      const q = new WriteQueue({
        writer: g.writer,
        log,
        maxPendingSpans: 3,
        maxBatchSpans: 10,
        maxPendingLogBytes: 100,
      });
      await q.enqueue([span('a'), span('b')], raw('ab'));
      await assert.rejects(q.enqueue([span('c'), span('c2')], raw('cc')), (e: Error) => e instanceof QueueFullError);
      await g.started(1);
      g.release();
      assert.equal(await q.waitForCommitted(5_000), true, 'a and b committed');
      await q.enqueue([span('d')], raw('x'.repeat(80)));
      await assert.rejects(
        q.enqueue([span('e')], raw('y'.repeat(80))),
        (e: Error) => e instanceof QueueFullError && /ingest log is full/.test(e.message),
      );
      await g.started(2);
      g.release();
      assert.equal(await q.waitForCommitted(5_000), true, 'd committed');
      const end = log.end;
      await q.enqueue([span('f')], raw('z'));
      assert.ok(log.end > end);
      await g.started(3);
      g.release();
      assert.equal(await q.waitForCommitted(5_000), true, 'f committed');
    });
  });

  it('retries a failed store write after a pause, without losing or repeating spans', async (t) => {
    await withLog(async (log) => {
      const g = gatedWriter();
      const errors: unknown[] = [];
      let reported: () => void = () => undefined;
      const failed = new Promise<void>((resolve) => {
        reported = resolve;
      });
      const q = new WriteQueue({
        writer: g.writer,
        log,
        maxPendingSpans: 10,
        maxBatchSpans: 10,
        onWriteError: (e) => {
          errors.push(e);
          reported();
        },
      });
      g.failNext();
      await q.enqueue([span('a')], raw('a'));
      // The pause before a retry is a setTimeout: mocked, so the test moves the clock itself.
      t.mock.timers.enable({ apis: ['setTimeout'] });
      try {
        g.release(); // fails
        await failed;
        await new Promise((r) => setImmediate(r));
        assert.equal(g.batches.length, 1, 'no retry before the pause has passed');
        t.mock.timers.tick(5_000); // the longest pause
        await g.started(2);
        g.release(); // the retry commits
        assert.equal(await q.waitForCommitted(5_000), true);
      } finally {
        t.mock.timers.reset();
      }
      assert.equal(errors.length, 1);
      assert.deepEqual(g.batches, [['a'], ['a']]);
      assert.equal(q.pending, 0);
    });
  });

  it('drains everything acknowledged on close, and refuses new requests', async () => {
    await withLog(async (log) => {
      const g = gatedWriter();
      const q = new WriteQueue({ writer: g.writer, log, maxPendingSpans: 10, maxBatchSpans: 10 });
      await q.enqueue([span('a')], raw('a'));
      const inFlight = q.enqueue([span('b')], raw('b'));
      let closed = false;
      const closing = q.close().then(() => {
        closed = true;
      });
      await assert.rejects(q.enqueue([span('c')], raw('c')), QueueClosedError);
      await inFlight;
      g.release(); // commits [a]; `b`, durable by now, is written next
      await g.started(2);
      assert.equal(closed, false, 'close waits for what is acknowledged');
      g.release();
      await closing;
      assert.deepEqual(g.batches, [['a'], ['b']]);
      assert.equal(q.committedPosition, log.end);
    });
  });
});
