import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Order } from './catalog.ts';

/** A write that waited longer than the lock timeout; nothing was written. */
export class DbTimeoutError extends Error {
  override readonly name = 'DbTimeoutError';
}

/** Options of {@link LockStalls}. */
export interface LockStallOptions {
  /** Probability that a write finds the table locked by a new stall (0 disables faults). */
  readonly rate: number;
  /** How long a stall holds the lock, in milliseconds. */
  readonly stallMs: number;
  /** Source of randomness in [0, 1); use `seededRandom` to repeat a run. */
  readonly random: () => number;
  /**
   * Hold each stall, past `stallMs` if need be, until the write that started it has timed out
   * this many times (default 0: exactly `stallMs`). The order service passes its number of
   * attempts, so that every stall loses the order that started it however late a busy machine
   * runs the retries.
   */
  readonly holdForAttempts?: number;
}

/** One stall of the lock: until when, who started it, and the hold on that writer's attempts. */
interface Stall {
  readonly until: number;
  readonly writer: string;
  timeoutsLeft: number;
  /** Resolves once the writer that started the stall has timed out `holdForAttempts` times. */
  readonly held: Promise<void>;
  released: boolean;
  release(): void;
}

/**
 * Fault injection for the orders table: stalls of the table lock, as a background job (a
 * checkpoint, an export) would cause. Each write that finds the lock free starts a stall with
 * probability `rate`; a stall holds the lock for `stallMs`, and every write in that window waits
 * for it. A write whose wait outlasts the lock timeout fails, so one stall can make a write and
 * its quick retries all time out:
 * ```
 * lock:      |======= stall (300 ms) =======|
 * order A:   |try 1 ✗|  |try 2 ✗|  |try 3 ✗|            lost: every attempt inside the stall
 * order B:                      |try 1 ✗|  |try 2 ✓|    recovered: the stall ended in time
 * ```
 * The draws happen only while the lock is free, so with a seeded `random` the first stall
 * starts at the same write in every run, whatever the timing. With `holdForAttempts` the stall
 * also waits for the last try of order A (an event, not a duration), so A is lost in every run
 * too; which other writes in the window fail still depends on timing.
 *
 * Time is `Date.now()` and the global `setTimeout`, so tests drive it with node:test's mock
 * timers.
 */
export class LockStalls {
  private stall: Stall | undefined;

  constructor(private readonly options: LockStallOptions) {}

  /**
   * Resolves once the lock is free for `writer` (an id of the write, the same for its retries);
   * rejects with `signal.reason` if aborted while waiting.
   */
  async waitForLock(writer: string, signal: AbortSignal): Promise<void> {
    const now = Date.now();
    let stall = this.stall;
    if (stall === undefined || (now >= stall.until && stall.released)) {
      this.stall = undefined;
      if (this.options.rate <= 0 || this.options.random() >= this.options.rate) return;
      stall = this.newStall(now, writer);
      this.stall = stall;
    }
    try {
      await waitFor(stall.until - now, stall.held, signal);
    } catch (error) {
      if (signal.aborted && writer === stall.writer && --stall.timeoutsLeft <= 0) stall.release();
      throw error;
    }
  }

  private newStall(now: number, writer: string): Stall {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stall: Stall = {
      until: now + this.options.stallMs,
      writer,
      timeoutsLeft: this.options.holdForAttempts ?? 0,
      held,
      released: false,
      release() {
        stall.released = true;
        release();
      },
    };
    if (stall.timeoutsLeft <= 0) stall.release();
    return stall;
  }
}

/** Resolves after `ms` and once `held` has resolved; rejects with `signal.reason` if aborted first. */
function waitFor(ms: number, held: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const elapsed = new Promise<void>((done) => {
      timer = setTimeout(done, Math.max(0, ms));
    });
    Promise.all([elapsed, held]).then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** Options of {@link OrderDb.open}. */
export interface OrderDbOptions {
  /** The database file; its directory is created. */
  readonly path: string;
  /** How long a write may wait for the table lock (default 50 ms). */
  readonly lockTimeoutMs?: number;
  /** Fault injection; none by default. */
  readonly stalls?: LockStalls;
}

/** A saved order, as read back. */
export interface SavedOrder extends Order {
  readonly createdAt: string;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS orders (
  order_id VARCHAR PRIMARY KEY,
  user_id VARCHAR NOT NULL,
  product_id VARCHAR NOT NULL,
  quantity INTEGER NOT NULL,
  amount_cents BIGINT NOT NULL,
  payment_method VARCHAR NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`;

/**
 * The order service's database: an embedded DuckDB file with one `orders` table. Writes are
 * serialised on one connection. `insert` waits for the table lock (see {@link LockStalls}) at most
 * `lockTimeoutMs`, then fails with a {@link DbTimeoutError} without writing; it does not retry,
 * that is the caller's policy. Only one process may open the file at a time.
 */
export class OrderDb {
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly lockTimeoutMs: number,
    private readonly stalls: LockStalls | undefined,
  ) {}

  /** Opens or creates the database file and its table. */
  static async open(options: OrderDbOptions): Promise<OrderDb> {
    mkdirSync(dirname(options.path), { recursive: true });
    const instance = await DuckDBInstance.create(options.path, { threads: '1', memory_limit: '128MB' });
    const connection = await instance.connect();
    await connection.run(SCHEMA);
    return new OrderDb(instance, connection, options.lockTimeoutMs ?? 50, options.stalls);
  }

  /** The lock timeout, for span attributes and messages. */
  get timeoutMs(): number {
    return this.lockTimeoutMs;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Inserts an order; throws {@link DbTimeoutError} when the lock wait times out (nothing written). */
  async insert(order: Order): Promise<void> {
    if (this.closed) throw new Error('order database is closed');
    if (this.stalls !== undefined) {
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), this.lockTimeoutMs);
      try {
        await this.stalls.waitForLock(order.orderId, timeout.signal);
      } catch (error) {
        if (timeout.signal.aborted) {
          throw new DbTimeoutError(`lock wait timeout: orders table locked for more than ${this.lockTimeoutMs} ms`);
        }
        throw error;
      } finally {
        clearTimeout(timer);
      }
    }
    await this.serial(() =>
      this.connection.run(
        'INSERT INTO orders (order_id, user_id, product_id, quantity, amount_cents, payment_method) VALUES ($1, $2, $3, $4, $5, $6)',
        [order.orderId, order.userId, order.productId, order.quantity, order.amountCents, order.paymentMethod],
      ),
    );
  }

  /** The order with this id, or `undefined`. */
  async find(orderId: string): Promise<SavedOrder | undefined> {
    const reader = await this.serial(() =>
      this.connection.runAndReadAll(
        'SELECT *, CAST(created_at AS VARCHAR) AS created FROM orders WHERE order_id = $1',
        [orderId],
      ),
    );
    const row = reader.getRowObjects()[0];
    if (row === undefined) return undefined;
    return {
      orderId: String(row.order_id),
      userId: String(row.user_id),
      productId: String(row.product_id),
      quantity: Number(row.quantity),
      amountCents: Number(row.amount_cents),
      paymentMethod: String(row.payment_method) as Order['paymentMethod'],
      createdAt: String(row.created),
    };
  }

  /** The ids of every saved order. */
  async orderIds(): Promise<Set<string>> {
    const reader = await this.serial(() => this.connection.runAndReadAll('SELECT order_id FROM orders'));
    return new Set(reader.getRowObjects().map((r) => String(r.order_id)));
  }

  /** Waits for pending statements and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
