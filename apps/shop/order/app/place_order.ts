/**
 * The `placeOrder` action: deduplicate by Idempotency-Key, validate against
 * the peers, place the order, and drive it.
 *
 * @module
 */

import { type Clock, type Handler, systemClock } from "@flotilla/core";
import type { orderContract } from "../../contracts/mod.ts";
import { requestFingerprint } from "../domain/fingerprint.ts";
import { type Order, placeOrder } from "../domain/order.ts";
import { idempotencyKeyReused, unknownCustomer, unknownSku } from "../errors.ts";
import type { OrderSaga } from "./order_saga.ts";
import { toOrderView } from "./order_view.ts";
import type { InventoryPort, OrderStore, PaymentPort } from "./ports.ts";

/** What {@link placeOrderHandler} needs. */
export interface PlaceOrderDeps {
  /** Where orders live. */
  store: OrderStore;
  /** The inventory service. */
  inventory: InventoryPort;
  /** The payment service. */
  payments: PaymentPort;
  /** Drives created orders. */
  saga: OrderSaga;
  /** The clock for `createdAt`. @default {systemClock} */
  clock?: Clock;
  /** New order ids, for requests without an Idempotency-Key. @default {crypto.randomUUID} */
  newId?: () => string;
}

/**
 * The id of the order an Idempotency-Key places: a UUID made from the key's
 * SHA-256 (RFC 9562 version 8), so every replica, and every retry, names
 * the same stream for the same key — and the event store's "no stream yet"
 * expectation is what makes the key place one order only.
 *
 * @example
 * ```ts
 * await orderIdForKey("checkout-42"); // the same UUID every time
 * ```
 */
export async function orderIdForKey(key: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`flotilla/order/${key}`)),
  );
  const bytes = digest.slice(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8: custom
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // variant RFC 9562
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/**
 * The handler of `order.placeOrder`:
 *
 * 1. With an Idempotency-Key, the order id is {@link orderIdForKey}: if that
 *    order exists, a different request is `IDEMPOTENCY_KEY_REUSED`; the same
 *    one returns that order, driving it on first if it is still `PENDING`.
 *    Nothing new is placed.
 * 2. Checks the customer (`UNKNOWN_CUSTOMER`) and the skus (`UNKNOWN_SKU`)
 *    and prices the lines, before placing anything.
 * 3. Appends `OrderPlaced` to a new stream; losing a race for the stream
 *    (the same key at the same time) falls back to step 1.
 * 4. Drives it (see {@link OrderSaga}) and returns it.
 */
export function placeOrderHandler(
  deps: PlaceOrderDeps,
): Handler<typeof orderContract, "placeOrder"> {
  const clock = deps.clock ?? systemClock;
  const newId = deps.newId ?? (() => crypto.randomUUID());

  return async ({ customerId, items }, ctx) => {
    const key = ctx.idempotencyKey || undefined;
    const fingerprint = requestFingerprint(customerId, items);
    const resume = async (order: Order): Promise<Order> => {
      if (requestFingerprint(order.customerId, order.items) !== fingerprint) {
        throw idempotencyKeyReused(key ?? "", order.orderId);
      }
      ctx.logger.info("order replayed by idempotency key", { orderId: order.orderId });
      return order.status === "PENDING" ? await deps.saga.drive(order.orderId, ctx) : order;
    };

    const orderId = key === undefined ? newId() : await orderIdForKey(key);
    if (key !== undefined) {
      const existing = await deps.store.get(orderId, { signal: ctx.signal });
      if (existing) return toOrderView(await resume(existing));
    }

    const customer = await deps.payments.getCustomer(customerId, ctx);
    if (!customer) throw unknownCustomer(customerId);
    const products = await deps.inventory.getProducts(items.map((line) => line.sku), ctx);
    const prices = new Map(products.map((product) => [product.sku, product.price]));
    const unknown = items.flatMap((line, index) =>
      prices.has(line.sku) ? [] : [{ index, sku: line.sku }]
    );
    if (unknown.length > 0) throw unknownSku(unknown);

    const placed = placeOrder({
      orderId,
      customerId,
      items,
      prices,
      now: new Date(clock.now()).toISOString(),
    });
    const outcome = await deps.store.create(placed, { trace: ctx.trace, signal: ctx.signal });
    if (!outcome.created) return toOrderView(await resume(outcome.order));
    ctx.logger.info("order placed", { orderId, total: placed.data.total });
    return toOrderView(await deps.saga.drive(orderId, ctx));
  };
}
