import assert from "node:assert/strict";
import {
  createClient,
  createContext,
  FlotillaError,
  localCallHandler,
  ManualClock,
} from "@flotilla/core";
import { inventoryContract } from "../../contracts/mod.ts";
import { MemoryInventoryStore } from "../infra/memory_inventory_store.ts";
import { recordingEmitter } from "./_recording_emitter.ts";
import { createInventoryService } from "./service.ts";
import { HOLD_TIMEOUT_MS, StockHolds } from "./stock_holds.ts";

function setup() {
  const store = new MemoryInventoryStore([
    { sku: "TEA", name: "Tea", price: 850, stock: 10 },
    { sku: "MUG", name: "Mug", price: 1800, stock: 2 },
  ]);
  const clock = new ManualClock(0);
  const recorder = recordingEmitter();
  const holds = new StockHolds({ store, emit: recorder.emit, clock });
  const service = createInventoryService({ store, emit: recorder.emit, holds });
  const client = createClient(inventoryContract, localCallHandler(service), { caller: "order" });
  const stock = (sku: string) => store.getProducts([sku])[0]?.stock;
  const hold = (txId: string) => store.transaction((tx) => tx.getHold(txId));
  const emitted = () => recorder.events.map(({ type, data }) => ({ type, data }));
  return { store, clock, holds, client, stock, hold, emitted, events: recorder.events };
}

async function rejects(promise: Promise<unknown>, code: string): Promise<FlotillaError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof FlotillaError, `expected ${code}, got ${String(error)}`);
  assert.equal(error.code, code);
  return error;
}

const items = [{ sku: "TEA", quantity: 3 }, { sku: "MUG", quantity: 2 }];

Deno.test("inventory.tryReserve() holds stock for every line and emits stock.reserved", async () => {
  const { client, stock, hold, emitted, events } = setup();
  using ctx = createContext({ service: "order", action: "placeOrder" });
  assert.deepEqual(await client.call("tryReserve", { txId: "o-1", items }, { ctx }), {
    status: "TRIED",
  });
  assert.equal(stock("TEA"), 7);
  assert.equal(stock("MUG"), 0);
  assert.deepEqual(hold("o-1"), { txId: "o-1", status: "HELD", items });
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

Deno.test("inventory.tryReserve() lacking stock is OUT_OF_STOCK naming the sku, and holds nothing", async () => {
  const { client, stock, hold, emitted } = setup();
  const error = await rejects(
    client.call("tryReserve", {
      txId: "o-1",
      items: [{ sku: "TEA", quantity: 1 }, { sku: "MUG", quantity: 3 }],
    }),
    "OUT_OF_STOCK",
  );
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.equal(error.retryable, false);
  assert.deepEqual(error.data, { sku: "MUG" });
  assert.equal(stock("TEA"), 10);
  assert.equal(hold("o-1"), undefined);
  assert.deepEqual(emitted(), []);
  // No barrier was kept: the same transaction may try again.
  assert.deepEqual(
    await client.call("tryReserve", { txId: "o-1", items: [{ sku: "MUG", quantity: 2 }] }),
    { status: "TRIED" },
  );
});

Deno.test("inventory.tryReserve() of an unknown sku is UNKNOWN_SKU pointing at the line", async () => {
  const { client, stock } = setup();
  const error = await rejects(
    client.call("tryReserve", {
      txId: "o-1",
      items: [{ sku: "TEA", quantity: 1 }, { sku: "NOPE", quantity: 1 }],
    }),
    "UNKNOWN_SKU",
  );
  assert.deepEqual(error.issues, [{ pointer: "/items/1/sku", message: 'unknown sku "NOPE"' }]);
  assert.equal(stock("TEA"), 10);
});

Deno.test("inventory.confirmReserve() sells the hold: available stock stays, nothing emitted", async () => {
  const { client, stock, hold, emitted } = setup();
  await client.call("tryReserve", { txId: "o-1", items });
  assert.deepEqual(await client.call("confirmReserve", { txId: "o-1" }), { status: "CONFIRMED" });
  assert.equal(stock("TEA"), 7);
  assert.equal(hold("o-1")?.status, "SOLD");
  assert.deepEqual(emitted().map((e) => e.type), ["stock.reserved"]);
});

Deno.test("inventory.cancelReserve() gives held stock back and emits stock.released", async () => {
  const { client, stock, hold, emitted } = setup();
  await client.call("tryReserve", { txId: "o-1", items });
  assert.deepEqual(await client.call("cancelReserve", { txId: "o-1" }), { status: "CANCELLED" });
  assert.equal(stock("TEA"), 10);
  assert.equal(stock("MUG"), 2);
  assert.equal(hold("o-1")?.status, "RELEASED");
  assert.deepEqual(emitted()[1], {
    type: "stock.released",
    data: {
      orderId: "o-1",
      items: [
        { sku: "TEA", quantity: 3, stock: 10, version: 2 },
        { sku: "MUG", quantity: 2, stock: 2, version: 2 },
      ],
    },
  });
});

Deno.test("inventory TCC replays (x3) of Try, Confirm and Cancel change nothing", async () => {
  const { client, stock, emitted } = setup();
  for (let i = 0; i < 3; i++) {
    const { status } = await client.call("tryReserve", { txId: "o-1", items });
    assert.equal(status, i === 0 ? "TRIED" : "REPLAYED");
  }
  for (let i = 0; i < 3; i++) {
    const { status } = await client.call("confirmReserve", { txId: "o-1" });
    assert.equal(status, i === 0 ? "CONFIRMED" : "REPLAYED");
  }
  await client.call("tryReserve", { txId: "o-2", items: [{ sku: "TEA", quantity: 1 }] });
  for (let i = 0; i < 3; i++) {
    const { status } = await client.call("cancelReserve", { txId: "o-2" });
    assert.equal(status, i === 0 ? "CANCELLED" : "REPLAYED");
  }
  assert.equal(stock("TEA"), 7);
  assert.equal(stock("MUG"), 0);
  assert.deepEqual(emitted().map((e) => e.type), [
    "stock.reserved",
    "stock.reserved",
    "stock.released",
  ]);
});

Deno.test("inventory.cancelReserve() before any Try is an empty rollback; the late Try is refused", async () => {
  const { client, stock, hold, emitted } = setup();
  assert.deepEqual(await client.call("cancelReserve", { txId: "o-1" }), {
    status: "EMPTY_ROLLBACK",
  });
  const error = await rejects(
    client.call("tryReserve", { txId: "o-1", items }),
    "TCC_TRY_AFTER_CANCEL",
  );
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.equal(error.retryable, false);
  assert.equal(stock("TEA"), 10);
  assert.equal(hold("o-1"), undefined);
  assert.deepEqual(emitted(), []);
  assert.deepEqual(await client.call("cancelReserve", { txId: "o-1" }), { status: "REPLAYED" });
});

Deno.test("inventory.confirmReserve() after a Cancel is TCC_CONFIRM_AFTER_CANCEL", async () => {
  const { client, stock } = setup();
  await client.call("tryReserve", { txId: "o-1", items });
  await client.call("cancelReserve", { txId: "o-1" });
  const error = await rejects(
    client.call("confirmReserve", { txId: "o-1" }),
    "TCC_CONFIRM_AFTER_CANCEL",
  );
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.equal(error.retryable, false);
  assert.equal(stock("TEA"), 10);
});

Deno.test("inventory.confirmReserve() without a Try is TCC_CONFIRM_WITHOUT_TRY", async () => {
  const { client } = setup();
  const error = await rejects(
    client.call("confirmReserve", { txId: "o-1" }),
    "TCC_CONFIRM_WITHOUT_TRY",
  );
  assert.equal(error.retryable, false);
});

Deno.test("inventory.cancelReserve() after a Confirm is TCC_CANCEL_AFTER_CONFIRM, the sale kept", async () => {
  const { client, stock, hold } = setup();
  await client.call("tryReserve", { txId: "o-1", items });
  await client.call("confirmReserve", { txId: "o-1" });
  await rejects(client.call("cancelReserve", { txId: "o-1" }), "TCC_CANCEL_AFTER_CONFIRM");
  assert.equal(stock("TEA"), 7);
  assert.equal(hold("o-1")?.status, "SOLD");
});

Deno.test("StockHolds.expireStale() releases holds past the timeout; a late Confirm is refused", async () => {
  const { client, clock, holds, stock, hold, emitted } = setup();
  await client.call("tryReserve", { txId: "o-1", items });
  clock.advance(HOLD_TIMEOUT_MS - 1);
  await client.call("tryReserve", { txId: "o-2", items: [{ sku: "TEA", quantity: 1 }] });
  assert.deepEqual(holds.expireStale(), []);
  clock.advance(1);
  assert.deepEqual(holds.expireStale(), ["o-1"]);
  assert.deepEqual(holds.expireStale(), []);
  assert.equal(stock("TEA"), 9);
  assert.equal(stock("MUG"), 2);
  assert.equal(hold("o-1")?.status, "RELEASED");
  assert.equal(emitted().at(-1)?.type, "stock.released");
  await rejects(client.call("confirmReserve", { txId: "o-1" }), "TCC_CONFIRM_AFTER_CANCEL");
  assert.deepEqual(await client.call("confirmReserve", { txId: "o-2" }), { status: "CONFIRMED" });
  clock.advance(HOLD_TIMEOUT_MS);
  assert.deepEqual(holds.expireStale(), []); // a sold hold never expires
  assert.equal(stock("TEA"), 9);
});

Deno.test("inventory TCC keeps nothing when the emitter throws", async () => {
  let failing = false;
  const store = new MemoryInventoryStore([{ sku: "TEA", name: "Tea", price: 850, stock: 10 }]);
  const emit = () => {
    if (failing) throw new Error("outbox is full");
  };
  const service = createInventoryService({ store, emit });
  const client = createClient(inventoryContract, localCallHandler(service), { caller: "order" });
  await client.call("tryReserve", { txId: "o-1", items: [{ sku: "TEA", quantity: 2 }] });
  failing = true;
  await rejects(
    client.call("tryReserve", { txId: "o-2", items: [{ sku: "TEA", quantity: 1 }] }),
    "INTERNAL",
  );
  await rejects(client.call("cancelReserve", { txId: "o-1" }), "INTERNAL");
  failing = false;
  assert.equal(store.getProducts(["TEA"])[0]?.stock, 8);
  // Neither barrier row was kept: o-2 may still be tried, o-1 still cancelled.
  assert.deepEqual(
    await client.call("tryReserve", { txId: "o-2", items: [{ sku: "TEA", quantity: 1 }] }),
    { status: "TRIED" },
  );
  assert.deepEqual(await client.call("cancelReserve", { txId: "o-1" }), { status: "CANCELLED" });
  assert.equal(store.getProducts(["TEA"])[0]?.stock, 9);
});

Deno.test("StockHolds refuses a timeout that is not positive", () => {
  assert.throws(
    () => new StockHolds({ store: new MemoryInventoryStore(), timeoutMs: 0 }),
    RangeError,
  );
});
