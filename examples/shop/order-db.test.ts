import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Order } from './catalog.ts';
import { DbTimeoutError, LockStalls, OrderDb } from './order-db.ts';
import { seededRandom } from './random.ts';

const dir = mkdtempSync(join(tmpdir(), 'ariadne-order-db-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function order(n: number): Order {
  return {
    orderId: `ORD-TEST${String(n).padStart(4, '0')}`,
    userId: 'user-0001',
    productId: 'SKU-1001',
    quantity: 2,
    amountCents: 998,
    paymentMethod: 'card',
  };
}

/** Lets every callback that is due run (the mock timers leave `setImmediate` real). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** What `promise` came to so far: `pending`, `done`, or the error it was rejected with. */
function watch(promise: Promise<unknown>): () => 'pending' | 'done' | Error {
  let outcome: 'pending' | 'done' | Error = 'pending';
  promise.then(
    () => {
      outcome = 'done';
    },
    (error: Error) => {
      outcome = error;
    },
  );
  return () => outcome;
}

describe('OrderDb', () => {
  it('saves an order in the DuckDB file and reads it back after reopening', async () => {
    const path = join(dir, 'plain.duckdb');
    const db = await OrderDb.open({ path });
    await db.insert(order(1));
    await db.close();
    const again = await OrderDb.open({ path });
    const saved = await again.find(order(1).orderId);
    assert.equal(saved?.amountCents, 998);
    assert.equal(saved?.paymentMethod, 'card');
    assert.deepEqual(await again.orderIds(), new Set([order(1).orderId]));
    assert.equal(await again.find('ORD-NOPE'), undefined);
    await again.close();
  });

  // Time in these tests is node:test's mock clock (`Date.now` and `setTimeout`), moved by `tick`.
  it('times out a write that waits for a stalled lock, writes nothing, and works again after the stall', async (t) => {
    const draws = [0, 0.99, 0.99, 0.99];
    const stalls = new LockStalls({ rate: 0.5, stallMs: 400, random: () => draws.shift() ?? 0.99 });
    const db = await OrderDb.open({ path: join(dir, 'stall.duckdb'), lockTimeoutMs: 50, stalls });
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const first = watch(db.insert(order(2)));
    t.mock.timers.tick(49);
    await settle();
    assert.equal(first(), 'pending', 'it waits for the lock');
    t.mock.timers.tick(1);
    await settle();
    const error = first();
    assert.ok(error instanceof DbTimeoutError, String(error));
    assert.match(error.message, /lock wait timeout: orders table locked for more than 50 ms/);
    // A retry inside the stall fails too, without drawing: the stall belongs to the table.
    const retry = watch(db.insert(order(2)));
    t.mock.timers.tick(50);
    await settle();
    assert.ok(retry() instanceof DbTimeoutError, String(retry()));
    assert.equal(draws.length, 3);
    // 20 ms before the stall ends, a write waits for it and succeeds, still without drawing.
    t.mock.timers.tick(280);
    const late = db.insert(order(2));
    t.mock.timers.tick(20);
    await late;
    assert.equal(draws.length, 3);
    assert.deepEqual(await db.orderIds(), new Set([order(2).orderId]));
    // The lock is free again: the next write draws.
    await db.insert(order(3));
    assert.equal(draws.length, 2);
    await db.close();
  });

  it('with holdForAttempts, holds a stall past stallMs until the write that started it has given up', async (t) => {
    const draws = [0];
    const stalls = new LockStalls({
      rate: 0.5,
      stallMs: 100,
      random: () => draws.shift() ?? 0.99,
      holdForAttempts: 3,
    });
    const db = await OrderDb.open({ path: join(dir, 'hold.duckdb'), lockTimeoutMs: 50, stalls });
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const attempts = [];
    attempts.push(watch(db.insert(order(10))));
    t.mock.timers.tick(50);
    // A busy machine: the retries of order 10 come long after the stall's 100 ms.
    t.mock.timers.tick(450);
    attempts.push(watch(db.insert(order(10))));
    t.mock.timers.tick(50);
    attempts.push(watch(db.insert(order(10))));
    t.mock.timers.tick(10);
    // Another write waits for the stall, which now ends when order 10 gives up, not at 100 ms.
    const otherInsert = db.insert(order(11));
    const other = watch(otherInsert);
    await settle();
    assert.equal(other(), 'pending');
    t.mock.timers.tick(40);
    await settle();
    assert.deepEqual(
      attempts.map((a) => a() instanceof DbTimeoutError),
      [true, true, true],
      'every attempt of the write that started the stall timed out',
    );
    // The other write got the lock when order 10 gave up, 40 ms into its 50 ms wait: moving the
    // clock past its timeout changes nothing.
    t.mock.timers.tick(10);
    await otherInsert;
    assert.deepEqual(draws, [], 'one draw, for the stall');
    assert.deepEqual(await db.orderIds(), new Set([order(11).orderId]));
    await db.close();
  });

  it('never stalls with rate 0', async () => {
    const stalls = new LockStalls({ rate: 0, stallMs: 10_000, random: () => 0 });
    const db = await OrderDb.open({ path: join(dir, 'calm.duckdb'), lockTimeoutMs: 10, stalls });
    for (let n = 0; n < 20; n++) await db.insert(order(100 + n));
    assert.equal((await db.orderIds()).size, 20);
    await db.close();
  });
});

describe('seededRandom', () => {
  it('repeats its sequence for a seed, in [0, 1)', () => {
    const a = seededRandom(22);
    const b = seededRandom(22);
    const values = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      values,
      Array.from({ length: 1000 }, () => b()),
    );
    assert.ok(values.every((v) => v >= 0 && v < 1));
    assert.notDeepEqual(values.slice(0, 5), Array.from({ length: 5 }, seededRandom(23)));
  });
});
