import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, propagation, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import {
  customerProfile,
  findProduct,
  type Order,
  orderAttributes,
  PAYMENT_METHODS,
  type PaymentMethod,
} from './catalog.ts';
import { HttpError, nameServerSpan, postJson, readJson, sendJson } from './http-json.ts';
import type { Logger } from './log.ts';
import { baggageAttributes } from './otel-propagator.ts';

/** What the frontend needs: where payment and inventory listen, its tracer and logger. */
export interface FrontendOptions {
  readonly paymentUrl: string;
  readonly inventoryUrl: string;
  readonly tracer: Tracer;
  readonly log: Logger;
}

/** What a customer sends to `POST /orders`. */
export interface OrderRequest {
  readonly userId: string;
  readonly productId: string;
  readonly quantity: number;
  readonly paymentMethod: PaymentMethod;
}

const ID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A new order id, `ORD-` and 10 random Crockford base-32 characters. */
export function newOrderId(): string {
  let id = 'ORD-';
  for (const byte of randomBytes(10)) id += ID_ALPHABET[byte & 31];
  return id;
}

function parseOrderRequest(value: unknown): OrderRequest {
  if (typeof value !== 'object' || value === null) throw new HttpError(400, 'expected a JSON object');
  const v = value as Record<string, unknown>;
  if (typeof v.userId !== 'string' || v.userId === '') throw new HttpError(400, 'userId: expected a string');
  if (typeof v.productId !== 'string' || !findProduct(v.productId)) throw new HttpError(400, 'unknown productId');
  const quantity = v.quantity ?? 1;
  if (!Number.isInteger(quantity) || (quantity as number) < 1) throw new HttpError(400, 'quantity: positive integer');
  const paymentMethod = v.paymentMethod ?? 'card';
  if (!PAYMENT_METHODS.includes(paymentMethod as PaymentMethod)) throw new HttpError(400, 'unknown paymentMethod');
  return {
    userId: v.userId,
    productId: v.productId,
    quantity: quantity as number,
    paymentMethod: paymentMethod as PaymentMethod,
  };
}

/**
 * The shop's front door. `POST /orders` with `{"userId", "productId", "quantity", "paymentMethod"}`
 * gives the order an id, puts the customer's tier and region in W3C baggage, charges it through
 * the payment service, reserves stock through the inventory service, and answers
 * `{"status":"success","orderId":…}` once both said yes. It never hears from the order service:
 * inventory hands the order over without waiting, which is how an order can be lost while the
 * customer was told it succeeded. The answer carries a `traceresponse` header (Trace Context
 * Level 2) with the trace id, so a client can find its trace.
 */
export function createFrontendHandler(options: FrontendOptions) {
  const { tracer, log } = options;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || path !== '/orders') throw new HttpError(404, `no route ${req.method} ${path}`);
    nameServerSpan('POST', '/orders');
    const request = parseOrderRequest(await readJson(req));
    const product = findProduct(request.productId)!;
    const order: Order = {
      orderId: newOrderId(),
      userId: request.userId,
      productId: request.productId,
      quantity: request.quantity,
      amountCents: product.priceCents * request.quantity,
      paymentMethod: request.paymentMethod,
    };
    const traceresponse: Record<string, string> = {};
    propagation.inject(context.active(), traceresponse);
    if (traceresponse.traceparent) res.setHeader('traceresponse', traceresponse.traceparent);

    const profile = customerProfile(order.userId);
    const baggage = propagation.createBaggage({
      user_tier: { value: profile.tier },
      region: { value: profile.region },
      channel: { value: 'web' },
    });
    const withBaggage = propagation.setBaggage(context.active(), baggage);
    await context.with(withBaggage, () =>
      tracer.startActiveSpan('place_order', { attributes: orderAttributes(order) }, async (span) => {
        span.setAttributes(baggageAttributes(context.active()));
        try {
          log.info('order received', { 'order.id': order.orderId, 'user.id': order.userId });
          const payment = await postJson(`${options.paymentUrl}/payments`, order);
          if (payment.status !== 200) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: `payment answered ${payment.status}` });
            log.warn('payment failed', { 'order.id': order.orderId, status: payment.status });
            sendJson(res, 502, { status: 'failed', orderId: order.orderId, reason: 'payment failed' });
            return;
          }
          const reservation = await postJson(`${options.inventoryUrl}/reservations`, order);
          if (reservation.status !== 200) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: `inventory answered ${reservation.status}` });
            log.warn('reservation failed', { 'order.id': order.orderId, status: reservation.status });
            sendJson(res, 502, { status: 'failed', orderId: order.orderId, reason: 'out of stock' });
            return;
          }
          log.info('order placed', { 'order.id': order.orderId });
          sendJson(res, 200, { status: 'success', orderId: order.orderId });
        } finally {
          span.end();
        }
      }),
    );
  };
}
