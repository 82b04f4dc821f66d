import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Span } from '@ariadne/core';
import { QueueClosedError, QueueFullError, WriteQueue } from './write-queue.ts';

const span = (name: string) => ({ name }) as unknown as Span;

/** A writer that records batches and commits when told to (a test double: only ordering is tested here). */
function gatedWriter() {
  const batches: string[][] = [];
  let release: () => void = () => undefined;
  let fail = false;
  return {
    batches,
    failNext() {
      fail = true;
    },
    release: () => release(),
    writer: {
      writeSpans(spans: readonly Span[]) {
        batches.push(spans.map((s) => s.name));
        return new Promise<void>((resolve, reject) => {
          release = () => {
            if (fail) {
              fail = false;
              reject(new Error('disk full'));
            } else resolve();
          };
        });
      },
    },
  };
}

describe('WriteQueue', () => {
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
    const q = new WriteQueue({ writer: g.writer, maxPendingSpans: 2, maxBatchSpans: 10 });
    const first = q.enqueue([span('a'), span('b')]);
    await assert.rejects(q.enqueue([span('c')]), (e: Error) => e instanceof QueueFullError && e.retryAfterSeconds > 0);
    g.release();
    await first;
    const again = q.enqueue([span('c')]);
    g.release();
    await again;
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
