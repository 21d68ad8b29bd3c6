/**
 * What the order service needs from the outside world: its event-sourced
 * orders (the write side), the projection that serves them (the read side),
 * and the inventory and payment services (as ports, so tests use fakes).
 *
 * @module
 */

import type { Context, TraceContext } from "@flotilla/core";
import type { Customer, OrderView, Product } from "../../contracts/mod.ts";
import type { Order, OrderEvent, OrderLineRequest } from "../domain/order.ts";

/** How one write of an {@link OrderStore} is made. */
export interface OrderWriteOptions {
  /** The trace of the work that writes: its events carry it (`traceparent`) to the bus. */
  trace?: TraceContext | undefined;
  /** Gives up waiting (for a lock, or for the read side to catch up). */
  signal?: AbortSignal | undefined;
}

/** The outcome of {@link OrderStore.create}: the order, and whether this call placed it. */
export interface CreateOutcome {
  /** False when an order with that id was already placed (nothing was written). */
  readonly created: boolean;
  /** The order as stored. */
  readonly order: Order;
}

/** One event of an order's history, as `GET /orders/{id}/events` shows it. */
export interface OrderHistoryEntry {
  /** Its version in the order's stream, from 0. */
  readonly version: number;
  /** Its id. */
  readonly id: string;
  /** Its type, e.g. `OrderPlaced`. */
  readonly type: OrderEvent["type"];
  /** Its payload. */
  readonly data: OrderEvent["data"];
  /** When it was stored, RFC 3339. */
  readonly time: string;
}

/**
 * The orders, event sourced: each order is the fold of its stream of
 * events. Every write appends with the version it decided on (optimistic
 * concurrency; a lost race decides again on the new state) and returns once
 * the read side has applied it, so a caller reads its own writes.
 */
export interface OrderStore {
  /** Appends `placed` as a new order's first event; when the order exists, writes nothing. */
  create(
    placed: OrderEvent & { type: "OrderPlaced" },
    options?: OrderWriteOptions,
  ): Promise<CreateOutcome>;
  /** The order, folded from its events; `undefined` when it was never placed. */
  get(orderId: string, options?: { signal?: AbortSignal }): Promise<Order | undefined>;
  /**
   * Loads the order, appends the events `decide` returns (none: nothing is
   * written) and returns the order after them. `decide` may throw to write
   * nothing.
   *
   * @throws {NotFoundError} `ORDER_NOT_FOUND` if there is no such order.
   */
  update(
    orderId: string,
    decide: (order: Order) => OrderEvent[],
    options?: OrderWriteOptions,
  ): Promise<Order>;
  /** The order's events, oldest first; empty when it was never placed. */
  history(orderId: string, options?: { signal?: AbortSignal }): Promise<OrderHistoryEntry[]>;
}

/** Which orders {@link OrderViews.list} returns. */
export interface OrderQuery {
  /** Only this customer's orders. */
  readonly customerId?: string | undefined;
  /** At most this many. */
  readonly limit: number;
}

/** The read side: the orders as a projection of their events keeps them. */
export interface OrderViews {
  /** One order, if any. */
  get(orderId: string): OrderView | undefined;
  /** Orders newest first (`createdAt` descending, then `orderId` ascending). */
  list(query: OrderQuery): OrderView[];
  /** Every `PENDING` order, oldest change first. */
  listPending(): OrderView[];
  /** Whether it can serve requests, for `/readyz`. */
  ping(): boolean;
}

/** How far the orders projection has got (an `SqliteProjector` is one). */
export interface ReadSideProgress {
  /** The position of the last event applied (undefined when none is). */
  readonly position: string | undefined;
  /** Resolves once every event up to `position` is applied; rejects if `signal` aborts first. */
  waitFor(position: string, options?: { signal?: AbortSignal }): Promise<void>;
}

/** What the inventory answered to a reserve, discriminated on `status`. */
export type ReserveOutcome =
  | { readonly status: "RESERVED" }
  | { readonly status: "REJECTED"; readonly sku: string }
  /** The order's reservation was released earlier: it can never reserve again. */
  | { readonly status: "RELEASED" };

/** The inventory service, as the order service uses it. Every call is idempotent. */
export interface InventoryPort {
  /** The known products among `skus` (unknown ones are left out). */
  getProducts(skus: readonly string[], ctx: Context): Promise<Product[]>;
  /** Takes stock for the order's lines, all or none; idempotent per order id. */
  reserve(
    request: { readonly orderId: string; readonly items: readonly OrderLineRequest[] },
    ctx: Context,
  ): Promise<ReserveOutcome>;
  /** Gives the order's stock back, or tombstones it if it reserved nothing. */
  release(orderId: string, ctx: Context): Promise<void>;
}

/**
 * What the payment service answered to a charge: `VOIDED` means the order
 * was refunded or voided earlier and can never be charged.
 */
export type ChargeOutcome = "CHARGED" | "DECLINED" | "VOIDED";

/** The payment service, as the order service uses it. Every call is idempotent. */
export interface PaymentPort {
  /** The customer, or `undefined` if there is none. */
  getCustomer(customerId: string, ctx: Context): Promise<Customer | undefined>;
  /** Charges the order once; a repeat answers as the first time. */
  charge(
    request: { readonly orderId: string; readonly customerId: string; readonly amount: number },
    ctx: Context,
  ): Promise<ChargeOutcome>;
  /** Gives the order's charge back, or voids it if it was never charged. */
  refund(orderId: string, ctx: Context): Promise<void>;
}
