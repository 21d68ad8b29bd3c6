/**
 * The `placeOrder` action: deduplicate by Idempotency-Key, validate against
 * the peers, create the order, and drive it.
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
import type { Emit, InventoryPort, KeyedOrder, OrderStore, PaymentPort } from "./ports.ts";

/** What {@link placeOrderHandler} needs. */
export interface PlaceOrderDeps {
  /** Where orders live. */
  store: OrderStore;
  /**
   * Emits `order.created`, which the store calls in the transaction that
   * inserts the order. @default {none: the events are dropped}
   */
  emit?: Emit | undefined;
  /** The inventory service. */
  inventory: InventoryPort;
  /** The payment service. */
  payments: PaymentPort;
  /** Drives created orders. */
  saga: OrderSaga;
  /** The clock for `createdAt`. @default {systemClock} */
  clock?: Clock;
  /** New order ids. @default {crypto.randomUUID} */
  newId?: () => string;
}

/**
 * The handler of `order.placeOrder`:
 *
 * 1. With an Idempotency-Key that already made an order: a different request
 *    is `IDEMPOTENCY_KEY_REUSED`; the same one returns that order, driving it
 *    on first if it is still `PENDING`. Nothing new is created.
 * 2. Checks the customer (`UNKNOWN_CUSTOMER`) and the skus (`UNKNOWN_SKU`)
 *    and prices the lines, before creating anything.
 * 3. Creates the order `PENDING` with its key, emitting `order.created` in
 *    the same transaction; losing a race for the key falls back to step 1
 *    (and emits nothing).
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
    const resume = async ({ order, fingerprint: stored }: KeyedOrder): Promise<Order> => {
      if (stored !== fingerprint) throw idempotencyKeyReused(key ?? "", order.orderId);
      ctx.logger.info("order replayed by idempotency key", { orderId: order.orderId });
      return order.status === "PENDING" ? await deps.saga.drive(order.orderId, ctx) : order;
    };

    if (key !== undefined) {
      const existing = deps.store.findByIdempotencyKey(key);
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

    const order = placeOrder({
      orderId: newId(),
      customerId,
      items,
      prices,
      now: new Date(clock.now()).toISOString(),
    });
    const created = deps.store.create(
      order,
      key === undefined ? undefined : { key, fingerprint },
      { emit: deps.emit, trace: ctx.trace },
    );
    if (created.type === "duplicate") return toOrderView(await resume(created.existing));
    ctx.logger.info("order placed", { orderId: order.orderId, total: order.total });
    return toOrderView(await deps.saga.drive(order.orderId, ctx));
  };
}
