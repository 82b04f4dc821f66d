import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CollectAfterHuge } from './collect-after-huge.ts';

/**
 * A collector whose collections are counted, whose heap size and clock the test sets, and whose
 * `later` runs when the test says.
 */
function setup() {
  const laters: (() => void)[] = [];
  const timers: { at: number; fn: () => void }[] = [];
  const state = { collections: 0, heap: 100, now: 0 };
  const collector = new CollectAfterHuge({
    collect: () => state.collections++,
    hugeBytes: 1_000,
    heapBytes: () => state.heap,
    minHeapBytes: 50,
    minIntervalMs: 1_000,
    now: () => state.now,
    later: (fn) => laters.push(fn),
    after: (ms, fn) => timers.push({ at: state.now + ms, fn }),
  });
  const runLater = () => {
    for (const fn of laters.splice(0)) fn();
  };
  /** Moves the clock on by `ms` and runs the timers due by then. */
  const advance = (ms: number) => {
    state.now += ms;
    const due = timers.filter((t) => t.at <= state.now);
    timers.splice(0, timers.length, ...timers.filter((t) => t.at > state.now));
    for (const t of due) t.fn();
  };
  return { collector, runLater, advance, timers, state };
}

/** Work that finishes when `finish` is called. */
function pending() {
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { done, finish };
}

describe('CollectAfterHuge', () => {
  it('collects once after a huge request, never after small ones', async () => {
    const s = setup();
    await s.collector.run(999, async () => undefined);
    s.runLater();
    assert.equal(s.state.collections, 0, 'a small request');
    assert.equal(await s.collector.run(1_000, async () => 'answer'), 'answer');
    assert.equal(s.state.collections, 0, 'not before the answer has gone out');
    s.runLater();
    assert.equal(s.state.collections, 1);
    s.runLater();
    s.state.now += 5_000;
    await s.collector.run(10, async () => undefined);
    s.runLater();
    assert.equal(s.state.collections, 1, 'once');
  });

  it('waits until no request is in work, and collects after a failed one too', async () => {
    const s = setup();
    const small = pending();
    const smallRun = s.collector.run(10, () => small.done);
    await assert.rejects(
      s.collector.run(5_000, async () => {
        throw new Error('undecodable');
      }),
      /undecodable/,
    );
    s.runLater();
    assert.equal(s.state.collections, 0, 'the small request is still in work');
    // Work that arrives between the end of the last one and the collection defers it again.
    small.finish();
    await smallRun;
    const late = pending();
    const lateRun = s.collector.run(10, () => late.done);
    s.runLater();
    assert.equal(s.state.collections, 0, 'a request arrived meanwhile');
    late.finish();
    await lateRun;
    s.runLater();
    assert.equal(s.state.collections, 1);
  });

  it('skips a small heap, and collects at most once an interval', async () => {
    const s = setup();
    s.state.heap = 49;
    await s.collector.run(5_000, async () => undefined);
    s.runLater();
    assert.equal(s.state.collections, 0, 'the heap holds little');
    s.state.heap = 100;
    await s.collector.run(5_000, async () => undefined);
    s.runLater();
    assert.equal(s.state.collections, 1);
    s.state.now += 999;
    await s.collector.run(5_000, async () => undefined);
    s.runLater();
    assert.equal(s.state.collections, 1, 'too soon after the last');
    s.state.now += 1;
    await s.collector.run(5_000, async () => undefined);
    s.runLater();
    assert.equal(s.state.collections, 2);
  });

  it('collects a collection due too soon once the interval has passed', async () => {
    const s = setup();
    await s.collector.run(5_000, async () => undefined);
    s.runLater();
    assert.equal(s.state.collections, 1);
    s.advance(300);
    await s.collector.run(5_000, async () => undefined);
    s.runLater();
    await s.collector.run(5_000, async () => undefined);
    s.runLater();
    assert.equal(s.state.collections, 1, 'too soon after the last');
    assert.equal(s.timers.length, 1, 'one retry, however many came due');
    s.advance(699);
    assert.equal(s.state.collections, 1, 'not before the interval has passed');
    s.advance(1);
    assert.equal(s.state.collections, 2, 'when it has');
    // A retry that finds work going on waits for it to end.
    await s.collector.run(5_000, async () => undefined);
    s.runLater();
    const work = pending();
    const running = s.collector.run(10, () => work.done);
    s.advance(1_000);
    assert.equal(s.state.collections, 2, 'work is going on');
    work.finish();
    await running;
    s.runLater();
    assert.equal(s.state.collections, 3);
  });

  it('between the slices of a huge request, collects once the heap has grown by the factor', () => {
    const state = { collections: 0, heap: 10 };
    const collector = new CollectAfterHuge({
      collect: () => {
        state.collections++;
        state.heap = 40;
      },
      hugeBytes: 1_000,
      heapBytes: () => state.heap,
      minHeapBytes: 5,
      minIntervalMs: 1_000,
      between: { growth: 1.5, minBetweenHeapBytes: 48 },
    });
    collector.between();
    assert.equal(state.collections, 0, 'under the floor');
    state.heap = 48;
    collector.between();
    assert.equal(state.collections, 1, 'at the floor');
    // The collection left 40: the next one comes at 60, however soon.
    state.heap = 59;
    collector.between();
    assert.equal(state.collections, 1);
    state.heap = 60;
    collector.between();
    assert.equal(state.collections, 2);
    const never = new CollectAfterHuge({
      collect: () => state.collections++,
      hugeBytes: 1,
      heapBytes: () => 1e9,
      minHeapBytes: 0,
      minIntervalMs: 0,
    });
    never.between();
    assert.equal(state.collections, 2, 'not without `between` options');
  });

  it('does nothing where the runtime exposes no collection', async () => {
    const laters: (() => void)[] = [];
    const collector = new CollectAfterHuge({
      collect: undefined,
      hugeBytes: 1,
      heapBytes: () => 1e9,
      minHeapBytes: 0,
      minIntervalMs: 0,
      later: (fn) => laters.push(fn),
    });
    await collector.run(100, async () => undefined);
    assert.equal(laters.length, 0);
  });
});
