/**
 * The live feed of one order (`watchOrder`): its view now, then again after
 * every change the orders projection applies, until it is final.
 *
 * @module
 */

import type { Context } from "@flotilla/core";
import type { OrderView } from "../../contracts/mod.ts";
import { orderNotFound } from "../errors.ts";
import type { OrderViews, ReadSideProgress } from "./ports.ts";

/** What {@link watchOrder} reads. */
export interface WatchOrderDeps {
  /** The orders projection. */
  views: OrderViews;
  /** How far the projection has got, and a way to wait for it to move. */
  readSide: ReadSideProgress;
}

/**
 * Yields the order's view, then each changed view, and returns once it is
 * `CONFIRMED` or `CANCELLED` (or the caller goes away: `ctx.signal`).
 * Changes the projection applies in one batch are seen once, as the latest,
 * and events that leave the view as it was (`StockReserved`) yield nothing:
 * a watcher wants the order's state, not a replay of its events.
 *
 * @throws {FlotillaError} `ORDER_NOT_FOUND` before the first item.
 */
export async function* watchOrder(
  orderId: string,
  deps: WatchOrderDeps,
  ctx: Context,
): AsyncGenerator<OrderView> {
  const { views, readSide } = deps;
  let seen = "";
  while (true) {
    // Read the position before the view: a change applied in between moves the position past
    // it, so the wait below returns at once instead of missing that change.
    const position = readSide.position;
    const view = views.get(orderId);
    if (!view) throw orderNotFound(orderId);
    const state = JSON.stringify(view);
    if (state !== seen) {
      seen = state;
      yield view;
    }
    if (view.status !== "PENDING") return;
    const next = position === undefined ? 0n : BigInt(position) + 1n;
    try {
      await readSide.waitFor(String(next), { signal: ctx.signal });
    } catch (error) {
      if (ctx.signal.aborted) return;
      throw error;
    }
  }
}
