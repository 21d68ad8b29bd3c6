/**
 * The order service: places orders (reserving stock and charging the
 * customer through its peers) and serves them back.
 *
 * @module
 */

import { type Clock, defineService, Logger, type Service, systemClock } from "@flotilla/core";
import { orderContract } from "../../contracts/mod.ts";
import { orderNotFound } from "../errors.ts";
import {
  OrderRecovery,
  type RecoveryOptions,
  type ResumeOptions,
  type ResumeSummary,
} from "./order_recovery.ts";
import { OrderSaga } from "./order_saga.ts";
import { toOrderView } from "./order_view.ts";
import { placeOrderHandler } from "./place_order.ts";
import type { Emit, InventoryPort, OrderStore, PaymentPort } from "./ports.ts";

/** What {@link createOrderService} needs. */
export interface OrderServiceDeps {
  /** Where orders live. Closed when the service stops. */
  store: OrderStore;
  /**
   * Emits `order.created`, `order.confirmed` and `order.cancelled`; the
   * store calls it inside the transaction that writes each change (the
   * outbox of the store's database). @default {none: the events are dropped}
   */
  emit?: Emit;
  /** The inventory service. */
  inventory: InventoryPort;
  /** The payment service. */
  payments: PaymentPort;
  /** The clock for `createdAt` / `updatedAt`. @default {systemClock} */
  clock?: Clock;
  /** New order ids. @default {crypto.randomUUID} */
  newId?: () => string;
  /** Logger of background work (the recovery). @default {a JSON logger with the service name} */
  logger?: Logger;
}

/** The order service, plus control of its background recovery of pending orders. */
export interface OrderService extends Service<typeof orderContract> {
  /** Drives every pending order now (see {@link OrderRecovery.resumePending}). */
  resumePending(options?: ResumeOptions): Promise<ResumeSummary>;
  /** Resumes pending orders now and then periodically, in the background, until the service stops. */
  startRecovery(options?: RecoveryOptions): void;
}

/**
 * Creates the order service. Each order's creation, confirmation and
 * cancellation emits its event in the transaction that writes it, once
 * (repeats write nothing and emit nothing), in the trace of the request or
 * recovery pass that made it. Its `onStop` stops the recovery, then closes
 * the store.
 *
 * @example
 * ```ts
 * const service = createOrderService({ store, inventory, payments, emit });
 * const running = await serveService(service);
 * service.startRecovery();
 * ```
 */
export function createOrderService(deps: OrderServiceDeps): OrderService {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? new Logger({ fields: { service: orderContract.name } });
  const saga = new OrderSaga({ ...deps, clock });
  const recovery = new OrderRecovery({ store, saga, logger, clock });
  const service = defineService(orderContract, {
    placeOrder: placeOrderHandler({ ...deps, saga, clock }),

    getOrder: ({ orderId }) => {
      const order = store.get(orderId);
      if (!order) throw orderNotFound(orderId);
      return toOrderView(order);
    },

    listOrders: ({ customerId, limit }) => store.list({ customerId, limit }).map(toOrderView),
  }, {
    readiness: [{ name: "database", check: () => store.ping() }],
    onStop: async () => {
      await recovery.stop();
      store.close();
    },
  });
  return {
    ...service,
    resumePending: (options) => recovery.resumePending(options),
    startRecovery: (options) => recovery.start(options),
  };
}
