/**
 * The inventory service: the catalogue, stock reservations keyed by order id
 * — all or nothing, idempotent, refused once released — and the same as a
 * TCC participant (`tryReserve` / `confirmReserve` / `cancelReserve`).
 *
 * @module
 */

import { defineService, type Service } from "@flotilla/core";
import { inventoryContract } from "../../contracts/mod.ts";
import { decideRelease } from "../domain/release.ts";
import { decideReserve } from "../domain/reserve.ts";
import { stockEvents } from "../domain/stock_events.ts";
import { reservationMismatch, reservationReleased, unknownSku } from "../errors.ts";
import type { Emit, InventoryStore } from "./ports.ts";
import { StockHolds } from "./stock_holds.ts";

/** What {@link createInventoryService} needs. */
export interface InventoryServiceDeps {
  /** Where products and reservations live. Closed when the service stops. */
  store: InventoryStore;
  /**
   * Emits `stock.reserved` / `stock.released`, called inside the store
   * transaction that moves the stock (the outbox of the store's database).
   * @default {an emitter that drops every event}
   */
  emit?: Emit;
  /**
   * The TCC holds behind `tryReserve` / `confirmReserve` / `cancelReserve`
   * (`main.ts` keeps them to expire stale holds).
   * @default {new StockHolds({ store, emit })}
   */
  holds?: StockHolds;
}

/**
 * Creates the inventory service on top of a store. Each reserve, release,
 * Try or Cancel that moves stock emits its event in the same transaction,
 * once: a replay, a rejection, a tombstone or a Confirm moves no available
 * stock and emits nothing.
 *
 * @example
 * ```ts
 * const service = createInventoryService({ store: new MemoryInventoryStore(SEED_PRODUCTS) });
 * ```
 */
export function createInventoryService(
  deps: InventoryServiceDeps,
): Service<typeof inventoryContract> {
  const { store } = deps;
  const emit = deps.emit ?? (() => {});
  const holds = deps.holds ?? new StockHolds({ store, emit });
  return defineService(inventoryContract, {
    listProducts: () => store.listProducts(),

    getProducts: ({ skus }) => ({ products: store.getProducts(skus) }),

    reserve: (request, ctx) => {
      const decision = store.transaction((tx) => {
        const existing = tx.getReservation(request.orderId);
        const stock = tx.getStock(request.items.map((line) => line.sku));
        const decision = decideReserve(request, existing, stock);
        if (decision.type === "reserve") {
          tx.setStock(decision.stock);
          tx.saveReservation(decision.reservation);
        }
        for (const event of stockEvents(decision)) {
          emit(event.type, event.data, { subject: request.orderId, trace: ctx.trace });
        }
        return decision;
      });
      switch (decision.type) {
        case "reserve":
          ctx.logger.info("stock reserved", { orderId: request.orderId });
          return { status: "RESERVED" as const };
        case "replay":
          return { status: "RESERVED" as const };
        case "rejected":
          ctx.logger.info("reservation rejected", { orderId: request.orderId, sku: decision.sku });
          return {
            status: "REJECTED" as const,
            reason: "OUT_OF_STOCK" as const,
            sku: decision.sku,
          };
        case "unknown_sku":
          throw unknownSku(decision.lines);
        case "mismatch":
          throw reservationMismatch(request.orderId);
        case "released":
          throw reservationReleased(request.orderId);
      }
    },

    release: ({ orderId }, ctx) => {
      const decision = store.transaction((tx) => {
        const existing = tx.getReservation(orderId);
        const stock = tx.getStock(existing?.items.map((line) => line.sku) ?? []);
        const decision = decideRelease(orderId, existing, stock);
        if (decision.type === "release") tx.setStock(decision.stock);
        if (decision.type !== "noop") tx.saveReservation(decision.reservation);
        for (const event of stockEvents(decision)) {
          emit(event.type, event.data, { subject: orderId, trace: ctx.trace });
        }
        return decision;
      });
      if (decision.type !== "noop") {
        ctx.logger.info(decision.type === "release" ? "stock released" : "release tombstoned", {
          orderId,
        });
      }
      return { status: "RELEASED" as const, released: decision.type === "release" };
    },

    tryReserve: ({ txId, items }, ctx) => {
      const status = holds.try({ txId, items }, ctx.trace);
      if (status === "TRIED") ctx.logger.info("stock held", { txId });
      return { status };
    },

    confirmReserve: ({ txId }, ctx) => {
      const status = holds.confirm(txId, ctx.trace);
      if (status === "CONFIRMED") ctx.logger.info("held stock sold", { txId });
      return { status };
    },

    cancelReserve: ({ txId }, ctx) => {
      const status = holds.cancel(txId, ctx.trace);
      if (status !== "REPLAYED") {
        ctx.logger.info(status === "CANCELLED" ? "held stock released" : "empty rollback", {
          txId,
        });
      }
      return { status };
    },
  }, {
    readiness: [{ name: "database", check: () => store.ping() }],
    onStop: () => store.close(),
  });
}
