/**
 * An in-memory {@link OrderStore}, for tests and demos.
 *
 * @module
 */

import type {
  CreateOutcome,
  IdempotencyRecord,
  KeyedOrder,
  OrderQuery,
  OrderStore,
  OrderWriteOptions,
} from "../app/ports.ts";
import type { Order } from "../domain/order.ts";
import { orderNotFound } from "../errors.ts";
import { emitOrderEvents } from "./_emit_order_events.ts";

/**
 * Keeps orders and idempotency keys in maps. Each write emits its events
 * before it changes anything, so an emitter that throws leaves the store
 * as it was.
 *
 * @example
 * ```ts
 * const store = new MemoryOrderStore();
 * store.create(order, { key: "k-1", fingerprint });
 * ```
 */
export class MemoryOrderStore implements OrderStore {
  readonly #orders = new Map<string, Order>();
  readonly #keys = new Map<string, { orderId: string; fingerprint: string }>();
  #closed = false;

  /** Inserts the order unless its key is taken, and emits `order.created`. */
  create(
    order: Order,
    idempotency?: IdempotencyRecord,
    options: OrderWriteOptions = {},
  ): CreateOutcome {
    this.#assertOpen();
    if (idempotency) {
      const existing = this.findByIdempotencyKey(idempotency.key);
      if (existing) return { type: "duplicate", existing };
    }
    if (this.#orders.has(order.orderId)) {
      throw new Error(`Cannot create order "${order.orderId}" as it exists`);
    }
    emitOrderEvents(options, undefined, order);
    this.#orders.set(order.orderId, order);
    if (idempotency) {
      this.#keys.set(idempotency.key, {
        orderId: order.orderId,
        fingerprint: idempotency.fingerprint,
      });
    }
    return { type: "created", order };
  }

  /** The order created with `key`, if any. */
  findByIdempotencyKey(key: string): KeyedOrder | undefined {
    this.#assertOpen();
    const entry = this.#keys.get(key);
    const order = entry && this.#orders.get(entry.orderId);
    return entry && order ? { order, fingerprint: entry.fingerprint } : undefined;
  }

  /** One order, if any. */
  get(orderId: string): Order | undefined {
    this.#assertOpen();
    return this.#orders.get(orderId);
  }

  /** Applies `change` to the order, emits its events and keeps the result. */
  update(orderId: string, change: (order: Order) => Order, options: OrderWriteOptions = {}): Order {
    this.#assertOpen();
    const order = this.#orders.get(orderId);
    if (!order) throw orderNotFound(orderId);
    const next = change(order);
    if (next === order) return order;
    if (next.orderId !== orderId) throw new Error("Cannot change an order's id");
    emitOrderEvents(options, order, next);
    this.#orders.set(orderId, next);
    return next;
  }

  /** Orders newest first, then by id. */
  list(query: OrderQuery): Order[] {
    this.#assertOpen();
    return [...this.#orders.values()]
      .filter((order) => query.customerId === undefined || order.customerId === query.customerId)
      .sort(newestFirst)
      .slice(0, query.limit);
  }

  /** Pending orders, oldest first. */
  listPending(): Order[] {
    this.#assertOpen();
    return [...this.#orders.values()]
      .filter((order) => order.status === "PENDING")
      .sort((a, b) => newestFirst(b, a));
  }

  /** True until closed. */
  ping(): boolean {
    return !this.#closed;
  }

  /** Marks the store closed; later calls throw. */
  close(): void {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("The order store is closed");
  }
}

function newestFirst(a: Order, b: Order): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0;
}
