import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
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

  it('times out a write that waits for a stalled lock, writes nothing, and works again after the stall', async () => {
    const draws = [0, 0.99, 0.99, 0.99];
    const stalls = new LockStalls({ rate: 0.5, stallMs: 400, random: () => draws.shift() ?? 0.99 });
    const db = await OrderDb.open({ path: join(dir, 'stall.duckdb'), lockTimeoutMs: 50, stalls });
    const started = Date.now();
    await assert.rejects(db.insert(order(2)), (error: Error) => {
      assert.ok(error instanceof DbTimeoutError);
      assert.match(error.message, /lock wait timeout: orders table locked for more than 50 ms/);
      return true;
    });
    assert.ok(Date.now() - started >= 45, 'it waited for the lock timeout');
    // A retry inside the stall fails too, without drawing: the stall belongs to the table.
    await assert.rejects(db.insert(order(2)), DbTimeoutError);
    assert.equal(draws.length, 3);
    // The stall began before the second write, so it is over 450 ms after that write failed.
    await sleep(450);
    await db.insert(order(2));
    assert.deepEqual(await db.orderIds(), new Set([order(2).orderId]));
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
