/**
 * What the order service needs from the outside world: a store of orders,
 * an emitter of the events that announce their changes, and the inventory
 * and payment services (as ports, so tests use fakes).
 *
 * @module
 */

import type { Context, TraceContext } from "@flotilla/core";
import type { Customer, Product } from "../../contracts/mod.ts";
import type { Order, OrderLineRequest } from "../domain/order.ts";

/** An idempotency key and the fingerprint of the request that first used it. */
export interface IdempotencyRecord {
  /** The caller's `Idempotency-Key`. */
  readonly key: string;
  /** {@link requestFingerprint} of the request. */
  readonly fingerprint: string;
}

/** An order found by its idempotency key, with the fingerprint it was created with. */
export interface KeyedOrder {
  /** The order. */
  readonly order: Order;
  /** The fingerprint of the request that created it. */
  readonly fingerprint: string;
}

/** The outcome of {@link OrderStore.create}, discriminated on `type`. */
export type CreateOutcome =
  | { readonly type: "created"; readonly order: Order }
  | { readonly type: "duplicate"; readonly existing: KeyedOrder };

/** Which orders {@link OrderStore.list} returns. */
export interface OrderQuery {
  /** Only this customer's orders. */
  readonly customerId?: string | undefined;
  /** At most this many. */
  readonly limit: number;
}

/** Per-event details of an {@link Emit}. */
export interface EmitOptions {
  /** What the event is about (its ordering key): the order id. */
  subject?: string;
  /** The trace of the work that emits it. */
  trace?: TraceContext | undefined;
}

/**
 * Emits one domain event. The {@link OrderStore} calls it inside the
 * transaction that writes the change the event announces: behind it is the
 * transactional outbox of the store's database, so the event commits with
 * the change, and a throw (a payload that breaks its schema) rolls the
 * change back.
 */
export type Emit = (type: string, data: unknown, options?: EmitOptions) => void;

/**
 * Where the events of one {@link OrderStore} write go: the store emits the
 * change's events (`orderEvents` of `domain/order_events.ts`) through `emit`,
 * in the write's transaction, each about the order and continuing `trace`.
 */
export interface OrderWriteOptions {
  /** Emits the write's events. @default {none: the events are dropped} */
  emit?: Emit | undefined;
  /** The trace of the work that writes. */
  trace?: TraceContext | undefined;
}

/** The order service's persistent state. Implementations: SQLite, in-memory. */
export interface OrderStore {
  /**
   * Inserts `order`, with its idempotency key if given, atomically: if an
   * order already holds the key, inserts nothing and returns that order.
   * An inserted order's events (`order.created`) are emitted through
   * `options.emit` in the same transaction; a duplicate emits nothing.
   */
  create(
    order: Order,
    idempotency?: IdempotencyRecord,
    options?: OrderWriteOptions,
  ): CreateOutcome;
  /** The order created with `key`, if any. */
  findByIdempotencyKey(key: string): KeyedOrder | undefined;
  /** One order, if any. */
  get(orderId: string): Order | undefined;
  /**
   * Reads the order, applies `change` and writes the result, in one
   * transaction; returns the result. `change` may throw to write nothing.
   * The transition's events (`order.confirmed`, `order.cancelled`) are
   * emitted through `options.emit` in the same transaction; a change that
   * returns the order as it was emits nothing.
   *
   * @throws {NotFoundError} `ORDER_NOT_FOUND` if there is no such order.
   */
  update(orderId: string, change: (order: Order) => Order, options?: OrderWriteOptions): Order;
  /** Orders newest first (`createdAt` descending, then `orderId` ascending). */
  list(query: OrderQuery): Order[];
  /** Every `PENDING` order, oldest first. */
  listPending(): Order[];
  /** Whether the store can serve requests, for `/readyz`. */
  ping(): boolean;
  /** Releases the store's resources. */
  close(): void;
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
