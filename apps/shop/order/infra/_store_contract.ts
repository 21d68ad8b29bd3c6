/**
 * Behaviour every {@link OrderStore} must have, as a test suite that each
 * adapter's test runs against itself. Private to `infra/`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FlotillaError, newTrace } from "@flotilla/core";
import type { Emit, EmitOptions, OrderStore } from "../app/ports.ts";
import { beginCancel, cancelOrder, confirmOrder, type Order, placeOrder } from "../domain/order.ts";

/** A pending order placed at `createdAt`. */
export function sampleOrder(orderId: string, customerId: string, createdAt: string): Order {
  return placeOrder({
    orderId,
    customerId,
    items: [{ sku: "TEA", quantity: 2 }, { sku: "MUG", quantity: 1 }],
    prices: new Map([["TEA", 850], ["MUG", 1800]]),
    now: createdAt,
  });
}

/** Registers the store contract's tests; `open` returns a fresh, empty store. */
export function testOrderStoreContract(name: string, open: () => Promise<OrderStore>): void {
  const test = (title: string, body: (store: OrderStore) => void) =>
    Deno.test(`${name} ${title}`, async () => {
      const store = await open();
      try {
        body(store);
      } finally {
        store.close();
      }
    });

  test("create() then get() round-trips every field", (store) => {
    const order = sampleOrder("o-1", "alice", "2025-01-01T00:00:00.000Z");
    assert.deepEqual(store.create(order), { type: "created", order });
    assert.deepEqual(store.get("o-1"), order);
    assert.equal(store.get("o-2"), undefined);
  });

  test("create() with a taken idempotency key inserts nothing and returns the holder", (store) => {
    const first = sampleOrder("o-1", "alice", "2025-01-01T00:00:00.000Z");
    store.create(first, { key: "k", fingerprint: "fp-1" });
    const second = sampleOrder("o-2", "alice", "2025-01-01T00:00:01.000Z");
    assert.deepEqual(store.create(second, { key: "k", fingerprint: "fp-2" }), {
      type: "duplicate",
      existing: { order: first, fingerprint: "fp-1" },
    });
    assert.equal(store.get("o-2"), undefined);
    assert.deepEqual(store.findByIdempotencyKey("k"), { order: first, fingerprint: "fp-1" });
    assert.equal(store.findByIdempotencyKey("other"), undefined);
  });

  test("orders without a key never collide", (store) => {
    store.create(sampleOrder("o-1", "alice", "t"));
    store.create(sampleOrder("o-2", "alice", "t"));
    assert.equal(store.list({ limit: 10 }).length, 2);
  });

  test("update() writes the changed order and returns it", (store) => {
    store.create(sampleOrder("o-1", "alice", "2025-01-01T00:00:00.000Z"));
    const cancelling = store.update("o-1", (o) => beginCancel(o, "OUT_OF_STOCK", "t1"));
    assert.equal(cancelling.cancelling, "OUT_OF_STOCK");
    assert.deepEqual(store.get("o-1"), cancelling);
    const cancelled = store.update("o-1", (o) => cancelOrder(o, "OUT_OF_STOCK", "t2"));
    assert.deepEqual(store.get("o-1"), cancelled);
    assert.equal(cancelled.reason, "OUT_OF_STOCK");
    assert.equal(cancelled.cancelling, undefined);
    assert.equal(cancelled.updatedAt, "t2");
  });

  test("update() writes nothing when the change throws", (store) => {
    store.create(sampleOrder("o-1", "alice", "t0"));
    const confirmed = store.update("o-1", (o) => confirmOrder(o, "t1"));
    assert.throws(() => store.update("o-1", (o) => cancelOrder(o, "OUT_OF_STOCK", "t2")));
    assert.deepEqual(store.get("o-1"), confirmed);
  });

  test("update() of an unknown order is ORDER_NOT_FOUND", (store) => {
    assert.throws(
      () => store.update("nope", (o) => o),
      (e: unknown) => e instanceof FlotillaError && e.code === "ORDER_NOT_FOUND",
    );
  });

  test("list() is newest first, then by id, filtered by customer and limited", (store) => {
    store.create(sampleOrder("b", "alice", "2025-01-01T00:00:02.000Z"));
    store.create(sampleOrder("a", "bob", "2025-01-01T00:00:02.000Z"));
    store.create(sampleOrder("c", "alice", "2025-01-01T00:00:01.000Z"));
    store.create(sampleOrder("d", "alice", "2025-01-01T00:00:03.000Z"));
    assert.deepEqual(store.list({ limit: 10 }).map((o) => o.orderId), ["d", "a", "b", "c"]);
    assert.deepEqual(
      store.list({ customerId: "alice", limit: 10 }).map((o) => o.orderId),
      ["d", "b", "c"],
    );
    assert.deepEqual(store.list({ limit: 2 }).map((o) => o.orderId), ["d", "a"]);
    assert.deepEqual(store.list({ customerId: "carol", limit: 10 }), []);
  });

  test("listPending() returns only PENDING orders, oldest first", (store) => {
    store.create(sampleOrder("new", "alice", "2025-01-01T00:00:02.000Z"));
    store.create(sampleOrder("old", "alice", "2025-01-01T00:00:01.000Z"));
    store.create(sampleOrder("done", "alice", "2025-01-01T00:00:00.000Z"));
    store.update("done", (o) => confirmOrder(o, "t"));
    store.update("new", (o) => beginCancel(o, "INSUFFICIENT_FUNDS", "t"));
    assert.deepEqual(store.listPending().map((o) => o.orderId), ["old", "new"]);
  });

  /** An emitter that records what it is given and, once `failing`, throws after recording. */
  const recorder = () => {
    const events: Array<{ type: string; data: unknown; options: EmitOptions | undefined }> = [];
    let failing = false;
    const emit: Emit = (type, data, options) => {
      events.push({ type, data, options });
      if (failing) throw new Error("the outbox refused the event");
    };
    return { emit, events, fail: () => failing = true };
  };

  test("create() emits order.created about the order, in the given trace", (store) => {
    const { emit, events } = recorder();
    const trace = newTrace();
    const order = sampleOrder("o-1", "alice", "t0");
    store.create(order, { key: "k", fingerprint: "fp" }, { emit, trace });
    assert.deepEqual(events, [{
      type: "order.created",
      data: { orderId: "o-1", customerId: "alice", items: order.items, total: order.total },
      options: { subject: "o-1", trace },
    }]);
  });

  test("create() with a taken idempotency key emits nothing", (store) => {
    const { emit, events } = recorder();
    store.create(sampleOrder("o-1", "alice", "t0"), { key: "k", fingerprint: "fp" });
    store.create(sampleOrder("o-2", "alice", "t1"), { key: "k", fingerprint: "fp" }, { emit });
    assert.deepEqual(events, []);
  });

  test("update() emits the transition's event once; other writes emit nothing", (store) => {
    const { emit, events } = recorder();
    const trace = newTrace();
    store.create(sampleOrder("o-1", "alice", "t0"));
    store.create(sampleOrder("o-2", "bob", "t0"));
    store.update("o-1", (o) => confirmOrder(o, "t1"), { emit, trace });
    store.update("o-1", (o) => confirmOrder(o, "t2"), { emit, trace });
    store.update("o-2", (o) => beginCancel(o, "OUT_OF_STOCK", "t1"), { emit, trace });
    store.update("o-2", (o) => cancelOrder(o, "OUT_OF_STOCK", "t2"), { emit, trace });
    store.update("o-2", (o) => cancelOrder(o, "OUT_OF_STOCK", "t3"), { emit, trace });
    assert.deepEqual(events, [
      {
        type: "order.confirmed",
        data: { orderId: "o-1", customerId: "alice", total: 3_500 },
        options: { subject: "o-1", trace },
      },
      {
        type: "order.cancelled",
        data: { orderId: "o-2", customerId: "bob", reason: "OUT_OF_STOCK" },
        options: { subject: "o-2", trace },
      },
    ]);
  });

  test("create() and update() write nothing when the emitter throws", (store) => {
    const { emit, fail } = recorder();
    store.create(sampleOrder("o-1", "alice", "t0"));
    fail();
    assert.throws(
      () =>
        store.create(sampleOrder("o-2", "alice", "t0"), { key: "k", fingerprint: "fp" }, { emit }),
      /refused/,
    );
    assert.throws(() => store.update("o-1", (o) => confirmOrder(o, "t1"), { emit }), /refused/);
    assert.equal(store.get("o-2"), undefined);
    assert.equal(store.findByIdempotencyKey("k"), undefined);
    assert.equal(store.get("o-1")?.status, "PENDING");
  });

  test("ping() is true while open", (store) => {
    assert.equal(store.ping(), true);
  });
}
