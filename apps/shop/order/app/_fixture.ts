/**
 * Test support: the event-sourced order store over an in-memory event store
 * and an in-memory orders projection, fake peers and a manual clock, seeded
 * like the shop. Private to `app/`.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { type Context, createContext, Logger, ManualClock, MemorySink } from "@flotilla/core";
import { createEvent, EventCatalog } from "@flotilla/bus";
import { MemoryEventStore, type RecordedEvent, SqliteProjector } from "@flotilla/eventstore";
import { orderContract } from "../../contracts/mod.ts";
import { EventSourcedOrderStore } from "../infra/event_sourced_order_store.ts";
import { orderViewsProjection, SqliteOrderViews } from "../infra/order_views.ts";
import { type Order, placeOrder } from "../domain/order.ts";
import { FakeInventory, FakePayments } from "./_fake_peers.ts";

/** The fixture's start time. */
export const T0: number = Date.parse("2025-01-01T00:00:00.000Z");

const catalog = EventCatalog.fromContract(orderContract, { include: "emits" });

/** What {@link fixture} returns; dispose it to stop the projector. */
export interface Fixture extends AsyncDisposable {
  /** The event store under the orders. */
  events: MemoryEventStore;
  /** The orders, event sourced; each write waits for the projection. */
  store: EventSourcedOrderStore;
  /** The orders projection. */
  views: SqliteOrderViews;
  /** The projector that keeps {@link views} up to date. */
  projector: SqliteProjector;
  /** The same projector, as the service's read-side progress. */
  readSide: SqliteProjector;
  /** TEA (850¢, 10), MUG (1800¢, 2), POT (6500¢, sold out). */
  inventory: FakeInventory;
  /** alice (50000¢), carol (1000¢). */
  payments: FakePayments;
  /** Starts at {@link T0}. */
  clock: ManualClock;
  /** Where `logger` writes. */
  sink: MemorySink;
  /** A debug-level logger. */
  logger: Logger;
  /** Ids `order-1`, `order-2`, … */
  newId: () => string;
  /** Every event appended so far, in order, each checked against the contract's schema. */
  appended(): Promise<RecordedEvent[]>;
}

/** A fresh store and projection, fake peers, clock and log sink. */
export async function fixture(): Promise<Fixture> {
  const clock = new ManualClock(T0);
  const events = new MemoryEventStore({ clock });
  const db = new DatabaseSync(":memory:");
  const views = new SqliteOrderViews(db);
  const projector = await SqliteProjector.start({
    store: events,
    db,
    projection: orderViewsProjection,
  });
  const store = new EventSourcedOrderStore({
    events,
    waitForReadSide: (position, signal) =>
      projector.waitFor(position, signal === undefined ? {} : { signal }),
  });
  const inventory = new FakeInventory([
    { sku: "TEA", name: "Tea", price: 850, stock: 10 },
    { sku: "MUG", name: "Mug", price: 1800, stock: 2 },
    { sku: "POT", name: "Pot", price: 6500, stock: 0 },
  ]);
  const payments = new FakePayments([
    { id: "alice", name: "Alice", balance: 50_000 },
    { id: "carol", name: "Carol", balance: 1_000 },
  ]);
  const sink = new MemorySink();
  const logger = new Logger({ sink, level: "debug" });
  let ids = 0;
  const newId = () => `order-${++ids}`;
  return {
    events,
    store,
    views,
    projector,
    readSide: projector,
    inventory,
    payments,
    clock,
    sink,
    logger,
    newId,
    async appended() {
      const all = await events.readAll({ limit: 10_000 });
      for (const event of all) {
        const verdict = catalog.checkSync(
          createEvent(event.type, event.data, { source: "/test", subject: event.stream }),
        );
        if (!verdict.ok) throw new TypeError(`${event.type} breaks its schema: ${verdict.reason}`);
      }
      return all;
    },
    async [Symbol.asyncDispose]() {
      await projector[Symbol.asyncDispose]();
      await events[Symbol.asyncDispose]();
      db.close();
    },
  };
}

/** A context with no deadline that logs into `logger`. */
export function testContext(logger: Logger): Context & Disposable {
  return createContext({ service: "order", action: "test", logger });
}

/** Places a PENDING order (its `OrderPlaced` only), as a crash would leave it. */
export async function pendingOrder(
  f: Pick<Fixture, "store">,
  orderId: string,
  customerId: string,
  items: Array<{ sku: string; quantity: number }>,
  prices: Record<string, number> = { TEA: 850, MUG: 1800, POT: 6500 },
): Promise<Order> {
  const placed = placeOrder({
    orderId,
    customerId,
    items,
    prices: new Map(Object.entries(prices)),
    now: new Date(T0).toISOString(),
  });
  return (await f.store.create(placed)).order;
}
