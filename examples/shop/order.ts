import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { type Order, orderAttributes, parseOrder } from './catalog.ts';
import { HttpError, nameServerSpan, readJson, sendJson } from './http-json.ts';
import type { Logger } from './log.ts';
import type { OrderDb } from './order-db.ts';
import { baggageAttributes } from './otel-propagator.ts';

/** Write attempts per order before the order service gives up. */
export const SAVE_ATTEMPTS = 3;
/** Pause before the second and the third attempt, in milliseconds. */
const BACKOFF_MS = [25, 50];

/** What the order service needs: its database, tracer and logger. */
export interface OrderServiceOptions {
  readonly db: OrderDb;
  readonly tracer: Tracer;
  readonly log: Logger;
}

/** The order service's request handler, and a way to wait for the saves still running. */
export interface OrderService {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Resolves when every save that has started has finished. */
  drain(): Promise<void>;
}

/**
 * The order service. `POST /orders` with an order runs `save_order`: up to {@link SAVE_ATTEMPTS}
 * inserts into the embedded database, each its own CLIENT span `INSERT orders` with
 * `db.system=duckdb` and `retry.attempt` (1, 2, 3), with a short backoff in between. Spans of
 * attempts share one name so that analysis sees later attempts as retries of earlier ones. When
 * every attempt timed out it gives up: `save_order` ends in ERROR ("failed after 3 attempts")
 * and the answer is 503. Nobody listens to that answer (see the inventory service).
 * `GET /orders/{id}` answers the saved order or 404.
 */
export function createOrderService(options: OrderServiceOptions): OrderService {
  const { db, tracer, log } = options;
  const running = new Set<Promise<unknown>>();

  const attempt = (order: Order, n: number) =>
    tracer.startActiveSpan(
      'INSERT orders',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system': 'duckdb',
          'db.system.name': 'duckdb',
          'db.namespace': 'orders',
          'db.collection.name': 'orders',
          'db.operation.name': 'INSERT',
          'db.query.text': 'INSERT INTO orders (order_id, …) VALUES ($1, …)',
          'order.id': order.orderId,
          'retry.attempt': n,
          'db.lock_timeout_ms': db.timeoutMs,
        },
      },
      async (span) => {
        try {
          await db.insert(order);
          return undefined;
        } catch (error) {
          const e = error as Error;
          span.recordException(e);
          span.setStatus({ code: SpanStatusCode.ERROR, message: `${e.name}: ${e.message}` });
          log.warn('write failed', { 'order.id': order.orderId, 'retry.attempt': n, error: e.message });
          return e;
        } finally {
          span.end();
        }
      },
    );

  const save = (order: Order) =>
    tracer.startActiveSpan(
      'save_order',
      { attributes: { ...orderAttributes(order), 'db.system': 'duckdb', 'db.namespace': 'orders' } },
      async (span) => {
        span.setAttributes(baggageAttributes(context.active()));
        try {
          let lastError: Error | undefined;
          for (let n = 1; n <= SAVE_ATTEMPTS; n++) {
            if (n > 1) await sleep(BACKOFF_MS[n - 2]);
            lastError = await attempt(order, n);
            if (lastError === undefined) {
              span.setAttribute('retry.attempts', n);
              log.info('order saved', { 'order.id': order.orderId, attempts: n });
              return true;
            }
          }
          span.setAttribute('retry.attempts', SAVE_ATTEMPTS);
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: `failed after ${SAVE_ATTEMPTS} attempts: ${lastError?.message}`,
          });
          log.error('giving up on order', { 'order.id': order.orderId, attempts: SAVE_ATTEMPTS });
          return false;
        } finally {
          span.end();
        }
      },
    );

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    const lookup = /^\/orders\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && lookup) {
      nameServerSpan('GET', '/orders/{id}');
      const saved = await db.find(decodeURIComponent(lookup[1]));
      if (saved === undefined) throw new HttpError(404, 'no such order');
      sendJson(res, 200, saved);
      return;
    }
    if (req.method !== 'POST' || path !== '/orders') throw new HttpError(404, `no route ${req.method} ${path}`);
    nameServerSpan('POST', '/orders');
    const order = parseOrder(await readJson(req));
    if (typeof order === 'string') throw new HttpError(400, order);
    const saving = save(order);
    running.add(saving);
    try {
      const saved = await saving;
      if (saved) sendJson(res, 201, { orderId: order.orderId });
      else sendJson(res, 503, { error: `order not saved after ${SAVE_ATTEMPTS} attempts` });
    } finally {
      running.delete(saving);
    }
  };

  return {
    handle,
    async drain() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
