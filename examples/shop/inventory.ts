import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { orderAttributes, PRODUCTS, parseOrder } from './catalog.ts';
import { HttpError, nameServerSpan, postJson, readJson, sendJson } from './http-json.ts';
import type { Logger } from './log.ts';
import { baggageAttributes } from './otel-propagator.ts';

/** What the inventory service needs: where the order service listens, its tracer and logger. */
export interface InventoryOptions {
  readonly orderUrl: string;
  readonly tracer: Tracer;
  readonly log: Logger;
}

const INITIAL_STOCK = 1000;

/** The inventory service's request handler, and a way to wait for the handovers still running. */
export interface InventoryService {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /**
   * Resolves when every handover has been answered. Nobody waits for a handover while serving,
   * but a stopping process must, or the request and its span die with it.
   */
  drain(): Promise<void>;
}

/**
 * The inventory service. `POST /reservations` with an order runs `update_inventory`: it takes
 * the quantity from the product's stock (restocking when it runs low), then hands the order to
 * the order service and answers 200 at once, without waiting for the outcome of that handover.
 * This is the bug the shop exists to show: the handover's failure is nobody's business, so the
 * frontend tells the customer "success" while the order service may give up on the order. The
 * handover is still traced (same trace, a CLIENT span under `update_inventory`).
 */
export function createInventoryService(options: InventoryOptions): InventoryService {
  const { tracer, log } = options;
  const stock = new Map(PRODUCTS.map((p) => [p.id, INITIAL_STOCK]));
  const handovers = new Set<Promise<unknown>>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || path !== '/reservations') throw new HttpError(404, `no route ${req.method} ${path}`);
    nameServerSpan('POST', '/reservations');
    const order = parseOrder(await readJson(req));
    if (typeof order === 'string') throw new HttpError(400, order);
    tracer.startActiveSpan('update_inventory', { attributes: orderAttributes(order) }, (span) => {
      span.setAttributes(baggageAttributes(context.active()));
      try {
        let left = stock.get(order.productId)! - order.quantity;
        if (left < 0) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'out of stock' });
          sendJson(res, 409, { error: 'out of stock' });
          return;
        }
        if (left < 10) left += INITIAL_STOCK;
        stock.set(order.productId, left);
        span.setAttribute('inventory.stock_left', left);
        log.info('stock reserved', { 'order.id': order.orderId, 'product.id': order.productId, left });
        // Fire and forget: the outcome of the handover is never looked at.
        const handover = postJson(`${options.orderUrl}/orders`, order)
          .catch(() => undefined)
          .finally(() => handovers.delete(handover));
        handovers.add(handover);
        log.info('order handed over to the order service', { 'order.id': order.orderId });
        sendJson(res, 200, { reserved: true, orderId: order.orderId });
      } finally {
        span.end();
      }
    });
  };
  return {
    handle,
    async drain() {
      while (handovers.size > 0) await Promise.allSettled([...handovers]);
    },
  };
}
