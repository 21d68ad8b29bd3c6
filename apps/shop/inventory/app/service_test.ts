import assert from "node:assert/strict";
import { createClient, createContext, FlotillaError, localCallHandler } from "@flotilla/core";
import { inventoryContract } from "../../contracts/mod.ts";
import { MemoryInventoryStore } from "../infra/memory_inventory_store.ts";
import type { Emit } from "./ports.ts";
import { recordingEmitter } from "./_recording_emitter.ts";
import { createInventoryService } from "./service.ts";

function setup(options: { emit?: Emit } = {}) {
  const store = new MemoryInventoryStore([
    { sku: "TEA", name: "Tea", price: 850, stock: 10 },
    { sku: "MUG", name: "Mug", price: 1800, stock: 2 },
    { sku: "POT", name: "Pot", price: 6500, stock: 0 },
  ]);
  const recorder = recordingEmitter();
  const service = createInventoryService({ store, emit: options.emit ?? recorder.emit });
  const client = createClient(inventoryContract, localCallHandler(service), {
    caller: "test",
  });
  const stock = async (sku: string) =>
    (await client.call("getProducts", { skus: [sku] })).products[0]?.stock;
  /** The types and payloads emitted so far. */
  const emitted = () => recorder.events.map(({ type, data }) => ({ type, data }));
  return { store, service, client, stock, events: recorder.events, emitted };
}

async function rejects(promise: Promise<unknown>, code: string): Promise<FlotillaError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof FlotillaError, `expected ${code}, got ${String(error)}`);
  assert.equal(error.code, code);
  return error;
}

Deno.test("inventory.listProducts() returns the catalogue ordered by sku", async () => {
  const { client } = setup();
  assert.deepEqual((await client.call("listProducts", {})).map((p) => p.sku), [
    "MUG",
    "POT",
    "TEA",
  ]);
});

Deno.test("inventory.getProducts() leaves unknown skus out", async () => {
  const { client } = setup();
  const { products } = await client.call("getProducts", { skus: ["TEA", "NOPE"] });
  assert.deepEqual(products, [{ sku: "TEA", name: "Tea", price: 850, stock: 10 }]);
});

Deno.test("inventory.reserve() takes stock for every line", async () => {
  const { client, stock } = setup();
  const result = await client.call("reserve", {
    orderId: "o-1",
    items: [{ sku: "TEA", quantity: 3 }, { sku: "MUG", quantity: 2 }],
  });
  assert.deepEqual(result, { status: "RESERVED" });
  assert.equal(await stock("TEA"), 7);
  assert.equal(await stock("MUG"), 0);
});

Deno.test("inventory.reserve() rejects all lines when one lacks stock, and records nothing", async () => {
  const { client, stock } = setup();
  const items = [{ sku: "TEA", quantity: 3 }, { sku: "MUG", quantity: 3 }];
  assert.deepEqual(await client.call("reserve", { orderId: "o-1", items }), {
    status: "REJECTED",
    reason: "OUT_OF_STOCK",
    sku: "MUG",
  });
  assert.equal(await stock("TEA"), 10);
  // Nothing was recorded, so a later retry with the same order id may succeed.
  assert.deepEqual(
    await client.call("reserve", { orderId: "o-1", items: [{ sku: "TEA", quantity: 3 }] }),
    { status: "RESERVED" },
  );
});

Deno.test("inventory.reserve() is idempotent per order id", async () => {
  const { client, stock } = setup();
  const request = { orderId: "o-1", items: [{ sku: "TEA", quantity: 4 }] };
  await client.call("reserve", request);
  assert.deepEqual(await client.call("reserve", request), { status: "RESERVED" });
  assert.equal(await stock("TEA"), 6);
});

Deno.test("inventory.reserve() repeated with different items is RESERVATION_MISMATCH", async () => {
  const { client, stock } = setup();
  await client.call("reserve", { orderId: "o-1", items: [{ sku: "TEA", quantity: 4 }] });
  const error = await rejects(
    client.call("reserve", { orderId: "o-1", items: [{ sku: "TEA", quantity: 5 }] }),
    "RESERVATION_MISMATCH",
  );
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.equal(await stock("TEA"), 6);
});

Deno.test("inventory.reserve() of an unknown sku is UNKNOWN_SKU pointing at the line", async () => {
  const { client, stock } = setup();
  const error = await rejects(
    client.call("reserve", {
      orderId: "o-1",
      items: [{ sku: "TEA", quantity: 1 }, { sku: "NOPE", quantity: 1 }],
    }),
    "UNKNOWN_SKU",
  );
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.deepEqual(error.issues, [{ pointer: "/items/1/sku", message: 'unknown sku "NOPE"' }]);
  assert.equal(await stock("TEA"), 10);
});

Deno.test("inventory.release() gives stock back once", async () => {
  const { client, stock } = setup();
  await client.call("reserve", { orderId: "o-1", items: [{ sku: "MUG", quantity: 2 }] });
  assert.deepEqual(await client.call("release", { orderId: "o-1" }), {
    status: "RELEASED",
    released: true,
  });
  assert.equal(await stock("MUG"), 2);
  assert.deepEqual(await client.call("release", { orderId: "o-1" }), {
    status: "RELEASED",
    released: false,
  });
  assert.equal(await stock("MUG"), 2);
});

Deno.test("inventory.reserve() after a release is RESERVATION_RELEASED", async () => {
  const { client, stock } = setup();
  const request = { orderId: "o-1", items: [{ sku: "MUG", quantity: 1 }] };
  await client.call("reserve", request);
  await client.call("release", { orderId: "o-1" });
  const error = await rejects(client.call("reserve", request), "RESERVATION_RELEASED");
  assert.equal(error.kind, "ABORTED");
  assert.equal(error.retryable, false);
  assert.equal(await stock("MUG"), 2);
});

Deno.test("inventory.release() of an unknown order tombstones it so a late reserve is refused", async () => {
  const { client, stock } = setup();
  assert.deepEqual(await client.call("release", { orderId: "o-late" }), {
    status: "RELEASED",
    released: false,
  });
  await rejects(
    client.call("reserve", { orderId: "o-late", items: [{ sku: "TEA", quantity: 1 }] }),
    "RESERVATION_RELEASED",
  );
  assert.equal(await stock("TEA"), 10);
});

Deno.test("inventory service is ready while its store is open and closes it on stop", async () => {
  const { store, service } = setup();
  assert.equal(await service.readiness[0]?.check(), true);
  await service.onStop?.();
  assert.equal(store.ping(), false);
  assert.equal(await service.readiness[0]?.check(), false);
});

Deno.test("inventory.reserve() emits stock.reserved once, with the stock left, about the order", async () => {
  const { client, events, emitted } = setup();
  const request = {
    orderId: "o-1",
    items: [{ sku: "TEA", quantity: 3 }, { sku: "MUG", quantity: 2 }],
  };
  using ctx = createContext({ service: "order", action: "placeOrder" });
  await client.call("reserve", request, { ctx });
  await client.call("reserve", request, { ctx }); // a replay changes nothing
  assert.deepEqual(emitted(), [{
    type: "stock.reserved",
    data: {
      orderId: "o-1",
      items: [
        { sku: "TEA", quantity: 3, stock: 7, version: 1 },
        { sku: "MUG", quantity: 2, stock: 0, version: 1 },
      ],
    },
  }]);
  assert.equal(events[0]?.subject, "o-1");
  assert.equal(events[0]?.trace?.traceId, ctx.trace.traceId);
});

Deno.test("inventory.reserve() that is rejected, mismatched, unknown or released emits nothing", async () => {
  const { client, emitted } = setup();
  await client.call("reserve", { orderId: "o-1", items: [{ sku: "MUG", quantity: 3 }] });
  await rejects(
    client.call("reserve", { orderId: "o-2", items: [{ sku: "NOPE", quantity: 1 }] }),
    "UNKNOWN_SKU",
  );
  await client.call("release", { orderId: "o-3" }); // tombstone
  await rejects(
    client.call("reserve", { orderId: "o-3", items: [{ sku: "TEA", quantity: 1 }] }),
    "RESERVATION_RELEASED",
  );
  assert.deepEqual(emitted(), []);
  await client.call("reserve", { orderId: "o-4", items: [{ sku: "TEA", quantity: 1 }] });
  await rejects(
    client.call("reserve", { orderId: "o-4", items: [{ sku: "TEA", quantity: 2 }] }),
    "RESERVATION_MISMATCH",
  );
  assert.deepEqual(emitted().map((e) => e.type), ["stock.reserved"]);
});

Deno.test("inventory stock events number each sku's figures: every change one version up", async () => {
  const { client, emitted } = setup();
  await client.call("reserve", { orderId: "o-1", items: [{ sku: "TEA", quantity: 1 }] });
  await client.call("reserve", { orderId: "o-2", items: [{ sku: "TEA", quantity: 2 }] });
  await client.call("reserve", { orderId: "o-2", items: [{ sku: "TEA", quantity: 2 }] }); // replay
  await client.call("release", { orderId: "o-1" });
  await client.call("tryReserve", { txId: "t-1", items: [{ sku: "TEA", quantity: 4 }] });
  await client.call("confirmReserve", { txId: "t-1" }); // moves no available stock
  await client.call("tryReserve", { txId: "t-2", items: [{ sku: "TEA", quantity: 1 }] });
  await client.call("cancelReserve", { txId: "t-2" });
  const figures = emitted().flatMap((e) =>
    (e.data as { items: Array<{ stock: number; version: number }> }).items
  ).map(({ stock, version }) => [stock, version]);
  assert.deepEqual(figures, [[9, 1], [7, 2], [8, 3], [4, 4], [3, 5], [4, 6]]);
});

Deno.test("inventory.release() emits stock.released once, only when it gave stock back", async () => {
  const { client, events, emitted } = setup();
  await client.call("reserve", { orderId: "o-1", items: [{ sku: "MUG", quantity: 2 }] });
  using ctx = createContext({ service: "order", action: "placeOrder" });
  await client.call("release", { orderId: "o-1" }, { ctx });
  await client.call("release", { orderId: "o-1" }, { ctx }); // already released
  await client.call("release", { orderId: "o-2" }, { ctx }); // tombstone only
  await client.call("release", { orderId: "o-2" }, { ctx });
  assert.deepEqual(emitted(), [
    {
      type: "stock.reserved",
      data: { orderId: "o-1", items: [{ sku: "MUG", quantity: 2, stock: 0, version: 1 }] },
    },
    {
      type: "stock.released",
      data: { orderId: "o-1", items: [{ sku: "MUG", quantity: 2, stock: 2, version: 2 }] },
    },
  ]);
  assert.equal(events[1]?.subject, "o-1");
  assert.equal(events[1]?.trace?.traceId, ctx.trace.traceId);
});

Deno.test("inventory.reserve() and release() keep nothing when the emitter throws", async () => {
  let failing = false;
  const { client, stock, store } = setup({
    emit: () => {
      if (failing) throw new Error("outbox is full");
    },
  });
  await client.call("reserve", { orderId: "o-1", items: [{ sku: "MUG", quantity: 1 }] });
  failing = true;
  await rejects(
    client.call("reserve", { orderId: "o-2", items: [{ sku: "TEA", quantity: 4 }] }),
    "INTERNAL",
  );
  await rejects(client.call("release", { orderId: "o-1" }), "INTERNAL");
  assert.equal(await stock("TEA"), 10);
  assert.equal(await stock("MUG"), 1);
  assert.equal(store.transaction((tx) => tx.getReservation("o-2")), undefined);
  assert.equal(store.transaction((tx) => tx.getReservation("o-1"))?.status, "RESERVED");
});
