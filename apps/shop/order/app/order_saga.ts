/**
 * Drives a placed order to its end: reserve stock, charge the customer,
 * confirm — or cancel and compensate.
 *
 * Every step is idempotent per order id (reserve, charge, refund, release),
 * so driving an order again — after a timeout, a crash or a retry — repeats
 * nothing and picks up where it stopped. Each outcome is appended to the
 * order's stream as it is learnt (`StockReserved`, `PaymentCharged`), and
 * the order records why it is cancelled (`CancellationStarted`) before the
 * compensation runs, then `OrderConfirmed` / `OrderCancelled` after.
 *
 * @module
 */

import { type Clock, type Context, systemClock } from "@flotilla/core";
import {
  beginCancel,
  cancelOrder,
  type CancelReason,
  confirmOrder,
  type Order,
  type OrderEvent,
  recordPaymentCharged,
  recordStockReserved,
} from "../domain/order.ts";
import { orderNotFound } from "../errors.ts";
import { KeyedMutex } from "./keyed_mutex.ts";
import type { InventoryPort, OrderStore, PaymentPort } from "./ports.ts";

/** What an {@link OrderSaga} needs. */
export interface OrderSagaDeps {
  /** Where orders live. */
  store: OrderStore;
  /** The inventory service. */
  inventory: InventoryPort;
  /** The payment service. */
  payments: PaymentPort;
  /** The clock for `updatedAt`. @default {systemClock} */
  clock?: Clock;
}

/**
 * Drives orders, one drive per order at a time in this process.
 *
 * If a peer fails with an infrastructure error (unavailable, deadline,
 * internal) the order is left `PENDING` and the error is rethrown: nothing is
 * compensated, because the failed step may have happened and every step is
 * safe to repeat. The next drive — the caller's retry with the same
 * Idempotency-Key, or the service's recovery — resumes it. Compensation runs
 * only once the outcome is known (out of stock, declined), and always as
 * `payment.refund` (voids an order never charged) then `inventory.release`
 * (tombstones an order that never reserved), so a late duplicate of an
 * earlier call can neither charge nor reserve a cancelled order.
 *
 * @example
 * ```ts
 * const saga = new OrderSaga({ store, inventory, payments });
 * const order = await saga.drive(orderId, ctx); // CONFIRMED or CANCELLED
 * ```
 */
export class OrderSaga {
  readonly #store: OrderStore;
  readonly #inventory: InventoryPort;
  readonly #payments: PaymentPort;
  readonly #clock: Clock;
  readonly #mutex = new KeyedMutex();

  /** Creates a saga over the given store and peers. */
  constructor(deps: OrderSagaDeps) {
    this.#store = deps.store;
    this.#inventory = deps.inventory;
    this.#payments = deps.payments;
    this.#clock = deps.clock ?? systemClock;
  }

  /**
   * Drives the order until it is `CONFIRMED` or `CANCELLED` and returns it;
   * an order already there is returned as is. Concurrent drives of one order
   * run one after the other.
   *
   * @throws {FlotillaError} a peer's error (the order stays `PENDING`), or
   * `ORDER_NOT_FOUND`.
   */
  drive(orderId: string, ctx: Context): Promise<Order> {
    return this.#mutex.run(orderId, async () => {
      ctx.throwIfDone();
      const order = await this.#store.get(orderId, { signal: ctx.signal });
      if (!order) throw orderNotFound(orderId);
      if (order.status !== "PENDING") return order;
      try {
        return await this.#advance(order, ctx);
      } catch (error) {
        ctx.logger.warn("order left PENDING; a retry or the recovery will resume it", {
          orderId,
          error,
        });
        throw error;
      }
    });
  }

  async #advance(placed: Order, ctx: Context): Promise<Order> {
    let order = placed;
    const { orderId } = order;
    if (order.cancelling !== undefined) return this.#cancel(order, order.cancelling, ctx);

    if (!order.stockReserved) {
      const reserved = await this.#inventory.reserve({ orderId, items: order.items }, ctx);
      if (reserved.status === "RELEASED") {
        ctx.logger.warn("the order's reservation was released elsewhere", { orderId });
      }
      if (reserved.status !== "RESERVED") return this.#cancel(order, "OUT_OF_STOCK", ctx);
      order = await this.#update(orderId, (o) => recordStockReserved(o, this.#now()), ctx);
    }

    if (!order.charged) {
      const charged = await this.#payments.charge(
        { orderId, customerId: order.customerId, amount: order.total },
        ctx,
      );
      if (charged === "VOIDED") {
        ctx.logger.warn("the order's payment was voided elsewhere", { orderId });
      }
      if (charged !== "CHARGED") return this.#cancel(order, "INSUFFICIENT_FUNDS", ctx);
      order = await this.#update(orderId, (o) => recordPaymentCharged(o, this.#now()), ctx);
    }

    const confirmed = await this.#update(orderId, (o) => confirmOrder(o, this.#now()), ctx);
    ctx.logger.info("order confirmed", { orderId, total: confirmed.total });
    return confirmed;
  }

  async #cancel(order: Order, reason: CancelReason, ctx: Context): Promise<Order> {
    const { orderId } = order;
    await this.#update(orderId, (o) => beginCancel(o, reason, this.#now()), ctx);
    await this.#payments.refund(orderId, ctx);
    await this.#inventory.release(orderId, ctx);
    const cancelled = await this.#update(orderId, (o) => cancelOrder(o, reason, this.#now()), ctx);
    ctx.logger.info("order cancelled", { orderId, reason });
    return cancelled;
  }

  /** Appends a step's events to the order's stream, in `ctx`'s trace. */
  #update(orderId: string, decide: (order: Order) => OrderEvent[], ctx: Context): Promise<Order> {
    return this.#store.update(orderId, decide, { trace: ctx.trace, signal: ctx.signal });
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }
}
