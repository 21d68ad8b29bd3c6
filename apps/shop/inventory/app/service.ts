/**
 * The inventory service: the catalogue, and stock reservations keyed by order
 * id — all or nothing, idempotent, refused once released.
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
}

/**
 * Creates the inventory service on top of a store. Each reserve or release
 * that moves stock emits its event in the same transaction, once: a replay,
 * a rejection or a tombstone moves nothing and emits nothing.
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
  }, {
    readiness: [{ name: "database", check: () => store.ping() }],
    onStop: () => store.close(),
  });
}
