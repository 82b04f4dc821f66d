/** The shop's products and customers: fixed data every service and the order driver agree on. */

/** A product and its unit price in cents. */
export interface Product {
  readonly id: string;
  readonly name: string;
  readonly priceCents: number;
}

/** What the shop sells. */
export const PRODUCTS: readonly Product[] = [
  { id: 'SKU-1001', name: 'Ball of red thread', priceCents: 499 },
  { id: 'SKU-1002', name: 'Labyrinth map', priceCents: 1299 },
  { id: 'SKU-1003', name: 'Bronze sword', priceCents: 8900 },
  { id: 'SKU-1004', name: 'Ship with black sails', priceCents: 250000 },
  { id: 'SKU-1005', name: 'Crown of stars', priceCents: 45000 },
];

/** Payment methods the payment service accepts. */
export const PAYMENT_METHODS = ['card', 'paypal', 'bank_transfer'] as const;

/** One of {@link PAYMENT_METHODS}. */
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** What the frontend knows about a customer, and puts in W3C baggage for the services behind it. */
export interface CustomerProfile {
  readonly tier: 'premium' | 'standard';
  readonly region: 'us-east' | 'us-west' | 'eu-central';
}

const REGIONS = ['us-east', 'us-west', 'eu-central'] as const;

/** The profile of a user id like `user-0042`: every third user is premium; regions rotate. */
export function customerProfile(userId: string): CustomerProfile {
  let hash = 0;
  for (const ch of userId) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return { tier: hash % 3 === 0 ? 'premium' : 'standard', region: REGIONS[(hash >>> 3) % REGIONS.length] };
}

/** The product with this id, or `undefined`. */
export function findProduct(id: string): Product | undefined {
  return PRODUCTS.find((p) => p.id === id);
}

/** An order as it travels from the frontend through payment and inventory to the order service. */
export interface Order {
  readonly orderId: string;
  readonly userId: string;
  readonly productId: string;
  readonly quantity: number;
  readonly amountCents: number;
  readonly paymentMethod: PaymentMethod;
}

/**
 * Reads an {@link Order} from a parsed JSON body, or returns a message saying what is wrong.
 * It checks types and known products and payment methods, not prices.
 */
export function parseOrder(value: unknown): Order | string {
  if (typeof value !== 'object' || value === null) return 'expected a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.orderId !== 'string' || !/^ORD-[0-9A-Z]{4,32}$/.test(v.orderId)) return 'orderId: expected ORD-…';
  if (typeof v.userId !== 'string' || v.userId === '') return 'userId: expected a string';
  if (typeof v.productId !== 'string' || findProduct(v.productId) === undefined) return 'productId: unknown product';
  if (!Number.isInteger(v.quantity) || (v.quantity as number) < 1) return 'quantity: expected a positive integer';
  if (!Number.isInteger(v.amountCents) || (v.amountCents as number) < 0) return 'amountCents: expected cents';
  if (!PAYMENT_METHODS.includes(v.paymentMethod as PaymentMethod)) return 'paymentMethod: unknown';
  return {
    orderId: v.orderId,
    userId: v.userId,
    productId: v.productId,
    quantity: v.quantity as number,
    amountCents: v.amountCents as number,
    paymentMethod: v.paymentMethod as PaymentMethod,
  };
}

/** The span attributes a user would search an order by. */
export function orderAttributes(order: Order): Record<string, string | number> {
  return {
    'order.id': order.orderId,
    'user.id': order.userId,
    'order.amount': order.amountCents / 100,
    'order.currency': 'USD',
    'payment.method': order.paymentMethod,
    'product.id': order.productId,
    'product.quantity': order.quantity,
  };
}
