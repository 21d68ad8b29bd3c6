/**
 * The order service: places orders (reserving stock and charging the
 * customer through its peers) and serves them back.
 *
 * @module
 */

import {
  type Clock,
  defineService,
  Logger,
  type ReadinessCheck,
  type Service,
  systemClock,
} from "@flotilla/core";
import { orderContract } from "../../contracts/mod.ts";
import { orderNotFound } from "../errors.ts";
import {
  OrderRecovery,
  type RecoveryOptions,
  type ResumeOptions,
  type ResumeSummary,
} from "./order_recovery.ts";
import { OrderSaga, type OrderSagaDeps } from "./order_saga.ts";
import { placeOrderHandler } from "./place_order.ts";
import type {
  InventoryPort,
  OrderStore,
  OrderViews,
  PaymentPort,
  ReadSideProgress,
} from "./ports.ts";
import { watchOrder } from "./watch_order.ts";

/** What {@link createOrderService} needs. */
export interface OrderServiceDeps {
  /** The orders, event sourced (the write side). */
  store: OrderStore;
  /** The orders projection (the read side). */
  views: OrderViews;
  /** The progress of {@link views}' projector, which `watchOrder` follows. */
  readSide: ReadSideProgress;
  /** The inventory service. */
  inventory: InventoryPort;
  /** The payment service. */
  payments: PaymentPort;
  /** The clock for `createdAt` / `updatedAt`. @default {systemClock} */
  clock?: Clock;
  /**
   * How checkout runs: where its sagas are persisted, the protocol (`saga` or
   * `tcc`), its participants and fault hook. @default {sagas in memory}
   */
  checkout?: Omit<OrderSagaDeps, "store" | "inventory" | "payments" | "clock" | "logger">;
  /** New order ids, for requests without an Idempotency-Key. @default {crypto.randomUUID} */
  newId?: () => string;
  /** Logger of background work (the recovery). @default {a JSON logger with the service name} */
  logger?: Logger;
  /** Releases the store, the projection and their databases once the service has stopped. */
  close?: () => void | Promise<void>;
  /** More checks of `/readyz` (e.g. that the projector still runs), after the database's. */
  readiness?: readonly ReadinessCheck[];
}

/** The order service, plus control of its background recovery of pending orders. */
export interface OrderService extends Service<typeof orderContract> {
  /** Drives every pending order now (see {@link OrderRecovery.resumePending}). */
  resumePending(options?: ResumeOptions): Promise<ResumeSummary>;
  /** Resumes pending orders now and then periodically, in the background, until the service stops. */
  startRecovery(options?: RecoveryOptions): void;
}

/**
 * Creates the order service. Orders are event sourced: each step of an
 * order appends its events to the order's stream (and the event store's
 * outbox publishes each once); `getOrder` and `listOrders` read the orders
 * projection, which every write waits for, so a caller reads its own
 * writes; `getOrderEvents` reads the stream itself; `watchOrder` follows
 * the projection as it applies an order's changes. Its `onStop` stops the
 * recovery, then calls `close`.
 *
 * @example
 * ```ts
 * const service = createOrderService({ store, views, inventory, payments });
 * const running = await serveService(service);
 * service.startRecovery();
 * ```
 */
export function createOrderService(deps: OrderServiceDeps): OrderService {
  const { store, views } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? new Logger({ fields: { service: orderContract.name } });
  const saga = new OrderSaga({ ...deps, ...deps.checkout, clock, logger });
  const recovery = new OrderRecovery({ views, saga, logger, clock });
  const service = defineService(orderContract, {
    placeOrder: placeOrderHandler({ ...deps, saga, clock }),

    getOrder: ({ orderId }) => {
      const order = views.get(orderId);
      if (!order) throw orderNotFound(orderId);
      return order;
    },

    listOrders: ({ customerId, limit }) => views.list({ customerId, limit }),

    getOrderEvents: async ({ orderId }, ctx) => {
      const history = await store.history(orderId, { signal: ctx.signal });
      if (history.length === 0) throw orderNotFound(orderId);
      return history.map((event) => ({ ...event, data: { ...event.data } }));
    },

    listCheckouts: ({ status, limit }) => saga.listCheckouts({ status, limit }),

    resumeCheckout: ({ orderId }) => saga.resumeCheckout(orderId),

    watchOrder: ({ orderId }, ctx) => {
      // Fail the call itself, not its first item, so a caller sees NOT_FOUND before any stream.
      if (!views.get(orderId)) throw orderNotFound(orderId);
      return watchOrder(orderId, deps, ctx);
    },
  }, {
    readiness: [{ name: "database", check: () => views.ping() }, ...(deps.readiness ?? [])],
    onStop: async () => {
      await recovery.stop();
      await saga[Symbol.asyncDispose]();
      await deps.close?.();
    },
  });
  return {
    ...service,
    resumePending: (options) => recovery.resumePending(options),
    startRecovery: (options) => recovery.start(options),
  };
}
