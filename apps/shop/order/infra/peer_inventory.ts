/**
 * The inventory port over a typed client of the inventory service.
 *
 * @module
 */

import { type Context, FlotillaError, type ServiceClient } from "@flotilla/core";
import type { inventoryContract, Product } from "../../contracts/mod.ts";
import type { InventoryPort, ReserveOutcome } from "../app/ports.ts";
import type { OrderLineRequest } from "../domain/order.ts";

/**
 * Calls the inventory service for the order service, passing each call's
 * context on so the deadline and trace carry over. A refused reserve
 * (`RESERVATION_RELEASED`) becomes the `RELEASED` outcome; every other error
 * is rethrown as the peer sent it.
 *
 * @example
 * ```ts
 * const client = createClient(inventoryContract, httpCallHandler({ baseUrl }), { caller: "order" });
 * const inventory = new PeerInventory(client);
 * ```
 */
export class PeerInventory implements InventoryPort {
  readonly #client: ServiceClient<typeof inventoryContract>;

  /** Wraps a client of the inventory service. */
  constructor(client: ServiceClient<typeof inventoryContract>) {
    this.#client = client;
  }

  /** The known products among `skus`. */
  async getProducts(skus: readonly string[], ctx: Context): Promise<Product[]> {
    const { products } = await this.#client.call("getProducts", { skus: [...new Set(skus)] }, {
      ctx,
    });
    return products;
  }

  /** Reserves the order's lines. */
  async reserve(
    request: { readonly orderId: string; readonly items: readonly OrderLineRequest[] },
    ctx: Context,
  ): Promise<ReserveOutcome> {
    try {
      const result = await this.#client.call("reserve", {
        orderId: request.orderId,
        items: request.items.map(({ sku, quantity }) => ({ sku, quantity })),
      }, { ctx });
      return result.status === "RESERVED"
        ? { status: "RESERVED" }
        : { status: "REJECTED", sku: result.sku };
    } catch (error) {
      if (error instanceof FlotillaError && error.code === "RESERVATION_RELEASED") {
        return { status: "RELEASED" };
      }
      throw error;
    }
  }

  /** Releases the order's stock. */
  async release(orderId: string, ctx: Context): Promise<void> {
    await this.#client.call("release", { orderId }, { ctx });
  }
}
