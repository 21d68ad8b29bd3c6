/**
 * Test support: an order store, fake peers and a manual clock, seeded like
 * the shop. Private to `app/`.
 *
 * @module
 */

import { type Context, createContext, Logger, ManualClock, MemorySink } from "@flotilla/core";
import { MemoryOrderStore } from "../infra/memory_order_store.ts";
import { type Order, placeOrder } from "../domain/order.ts";
import { FakeInventory, FakePayments } from "./_fake_peers.ts";
import type { Emit } from "./ports.ts";
import { type EmittedEvent, recordingEmitter } from "./_recording_emitter.ts";

/** The fixture's start time. */
export const T0: number = Date.parse("2025-01-01T00:00:00.000Z");

/** What {@link fixture} returns. */
export interface Fixture {
  /** An empty order store. */
  store: MemoryOrderStore;
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
  /** Records the order events (checked against their schemas) into {@link events}. */
  emit: Emit;
  /** The order events emitted so far, oldest first. */
  events: EmittedEvent[];
}

/** A fresh store, fake peers, clock and log sink. */
export function fixture(): Fixture {
  const store = new MemoryOrderStore();
  const inventory = new FakeInventory([
    { sku: "TEA", name: "Tea", price: 850, stock: 10 },
    { sku: "MUG", name: "Mug", price: 1800, stock: 2 },
    { sku: "POT", name: "Pot", price: 6500, stock: 0 },
  ]);
  const payments = new FakePayments([
    { id: "alice", name: "Alice", balance: 50_000 },
    { id: "carol", name: "Carol", balance: 1_000 },
  ]);
  const clock = new ManualClock(T0);
  const sink = new MemorySink();
  const logger = new Logger({ sink, level: "debug" });
  let ids = 0;
  const newId = () => `order-${++ids}`;
  const { emit, events } = recordingEmitter();
  return { store, inventory, payments, clock, sink, logger, newId, emit, events };
}

/** A context with no deadline that logs into `logger`. */
export function testContext(logger: Logger): Context & Disposable {
  return createContext({ service: "order", action: "test", logger });
}

/** Writes a PENDING order straight into the store (emitting nothing), as a crash would leave it. */
export function pendingOrder(
  store: MemoryOrderStore,
  orderId: string,
  customerId: string,
  items: Array<{ sku: string; quantity: number }>,
  prices: Record<string, number> = { TEA: 850, MUG: 1800, POT: 6500 },
): Order {
  const order = placeOrder({
    orderId,
    customerId,
    items,
    prices: new Map(Object.entries(prices)),
    now: new Date(T0).toISOString(),
  });
  store.create(order);
  return order;
}
