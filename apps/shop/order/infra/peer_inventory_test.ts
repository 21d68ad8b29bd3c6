import assert from "node:assert/strict";
import {
  createClient,
  createContext,
  FlotillaError,
  Logger,
  MemorySink,
  UnavailableError,
} from "@flotilla/core";
import { inventoryContract } from "../../contracts/mod.ts";
import { PeerInventory } from "./peer_inventory.ts";
import { stubHandler } from "./_stub_handler.ts";

function context() {
  return createContext({
    service: "order",
    action: "placeOrder",
    logger: new Logger({ sink: new MemorySink() }),
  });
}

function setup(answers: Record<string, (input: unknown) => unknown>) {
  const handler = stubHandler(answers);
  const inventory = new PeerInventory(
    createClient(inventoryContract, handler, { caller: "order" }),
  );
  return { handler, inventory };
}

Deno.test("PeerInventory.getProducts() asks for each sku once and returns the products", async () => {
  const product = { sku: "TEA", name: "Tea", price: 850, stock: 3 };
  const { handler, inventory } = setup({ getProducts: () => ({ products: [product] }) });
  using ctx = context();
  assert.deepEqual(await inventory.getProducts(["TEA", "TEA", "NOPE"], ctx), [product]);
  assert.deepEqual(handler.calls[0]?.input, { skus: ["TEA", "NOPE"] });
});

Deno.test("PeerInventory passes the context on: same trace, caller, bounded deadline", async () => {
  const { handler, inventory } = setup({ release: () => ({ status: "RELEASED", released: true }) });
  using ctx = createContext({
    service: "order",
    action: "placeOrder",
    deadline: Date.now() + 60_000,
    logger: new Logger({ sink: new MemorySink() }),
  });
  await inventory.release("o-1", ctx);
  const call = handler.calls[0]!;
  assert.equal(call.service, "inventory");
  assert.equal(call.action, "release");
  assert.equal(call.caller, "order");
  assert.equal(call.trace.traceId, ctx.trace.traceId);
  assert.equal(call.trace.parentSpanId, ctx.trace.spanId);
  assert.ok(call.deadline <= ctx.deadline!);
  assert.deepEqual(call.input, { orderId: "o-1" });
});

Deno.test("PeerInventory.reserve() maps RESERVED and REJECTED", async () => {
  let answer: unknown = { status: "RESERVED" };
  const { handler, inventory } = setup({ reserve: () => answer });
  using ctx = context();
  const request = { orderId: "o-1", items: [{ sku: "TEA", quantity: 2, price: 850 }] };
  assert.deepEqual(await inventory.reserve(request, ctx), { status: "RESERVED" });
  assert.deepEqual(handler.calls[0]?.input, {
    orderId: "o-1",
    items: [{ sku: "TEA", quantity: 2 }],
  });
  answer = { status: "REJECTED", reason: "OUT_OF_STOCK", sku: "TEA" };
  assert.deepEqual(await inventory.reserve(request, ctx), { status: "REJECTED", sku: "TEA" });
});

Deno.test("PeerInventory.reserve() turns RESERVATION_RELEASED into RELEASED", async () => {
  const { inventory } = setup({
    reserve: () => {
      throw new FlotillaError("RESERVATION_RELEASED", "released", { kind: "ABORTED" });
    },
  });
  using ctx = context();
  assert.deepEqual(
    await inventory.reserve({ orderId: "o-1", items: [{ sku: "TEA", quantity: 1 }] }, ctx),
    { status: "RELEASED" },
  );
});

Deno.test("PeerInventory rethrows infrastructure errors unchanged", async () => {
  const down = new UnavailableError("inventory is down");
  const { inventory } = setup({
    reserve: () => {
      throw down;
    },
  });
  using ctx = context();
  await assert.rejects(
    inventory.reserve({ orderId: "o-1", items: [{ sku: "TEA", quantity: 1 }] }, ctx),
    (e: unknown) => e === down,
  );
});
