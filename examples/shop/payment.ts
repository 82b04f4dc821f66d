import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, SpanKind, type Tracer } from '@opentelemetry/api';
import { orderAttributes, parseOrder } from './catalog.ts';
import { HttpError, nameServerSpan, readJson, sendJson } from './http-json.ts';
import type { Logger } from './log.ts';
import { baggageAttributes } from './otel-propagator.ts';

/** What the payment service needs. `random` drives the gateway's latency (default `Math.random`). */
export interface PaymentOptions {
  readonly tracer: Tracer;
  readonly log: Logger;
  readonly random?: () => number;
}

/**
 * The payment service. `POST /payments` with an order runs `process_payment`, which calls the
 * payment gateway: a stand-in inside this process that takes 10–40 ms and authorises every
 * payment, traced as the CLIENT span `call_gateway` (`peer.service=payment-gateway`).
 * Answers 200 `{"authorizationId": …}`.
 */
export function createPaymentHandler(options: PaymentOptions) {
  const { tracer, log } = options;
  const random = options.random ?? Math.random;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || path !== '/payments') throw new HttpError(404, `no route ${req.method} ${path}`);
    nameServerSpan('POST', '/payments');
    const order = parseOrder(await readJson(req));
    if (typeof order === 'string') throw new HttpError(400, order);
    await tracer.startActiveSpan('process_payment', { attributes: orderAttributes(order) }, async (span) => {
      span.setAttributes(baggageAttributes(context.active()));
      try {
        const authorizationId = await tracer.startActiveSpan(
          'call_gateway',
          {
            kind: SpanKind.CLIENT,
            attributes: { 'peer.service': 'payment-gateway', 'payment.method': order.paymentMethod },
          },
          async (gateway) => {
            try {
              await sleep(10 + Math.floor(random() * 30));
              const id = `AUTH-${randomBytes(6).toString('hex').toUpperCase()}`;
              gateway.setAttribute('payment.authorization_id', id);
              return id;
            } finally {
              gateway.end();
            }
          },
        );
        span.setAttribute('payment.authorization_id', authorizationId);
        log.info('payment authorised', { 'order.id': order.orderId, 'payment.authorization_id': authorizationId });
        sendJson(res, 200, { authorizationId });
      } finally {
        span.end();
      }
    });
  };
}
