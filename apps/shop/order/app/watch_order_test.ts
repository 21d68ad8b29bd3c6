import assert from "node:assert/strict";
import { createContext, FlotillaError } from "@flotilla/core";
import { fixture, pendingOrder, testContext } from "./_fixture.ts";
import { OrderSaga } from "./order_saga.ts";
import { watchOrder } from "./watch_order.ts";

Deno.test("watchOrder() yields the order now, then its final state, and ends", async () => {
  await using f = await fixture();
  using ctx = testContext(f.logger);
  await pendingOrder(f, "order-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  const feed = watchOrder("order-1", f, ctx);

  const first = await feed.next();
  assert.equal(first.done, false);
  assert.equal(first.value?.status, "PENDING");

  const next = feed.next();
  await new OrderSaga(f).drive("order-1", ctx);
  const confirmed = await next;
  assert.equal(confirmed.done, false);
  assert.equal(confirmed.value?.status, "CONFIRMED");
  assert.deepEqual((await feed.next()).done, true);
});

Deno.test("watchOrder() of a final order yields it once and ends", async () => {
  await using f = await fixture();
  using ctx = testContext(f.logger);
  await pendingOrder(f, "order-1", "alice", [{ sku: "POT", quantity: 1 }]);
  await new OrderSaga(f).drive("order-1", ctx);
  const views = [];
  for await (const view of watchOrder("order-1", f, ctx)) views.push(view);
  assert.deepEqual(views.map((v) => [v.status, v.reason]), [["CANCELLED", "OUT_OF_STOCK"]]);
});

Deno.test("watchOrder() of an unknown order fails with ORDER_NOT_FOUND", async () => {
  await using f = await fixture();
  using ctx = testContext(f.logger);
  await assert.rejects(
    watchOrder("nope", f, ctx).next(),
    (e: unknown) => e instanceof FlotillaError && e.code === "ORDER_NOT_FOUND",
  );
});

Deno.test("watchOrder() ends quietly when its caller goes away", async () => {
  await using f = await fixture();
  const controller = new AbortController();
  using ctx = createContext({ service: "order", action: "watchOrder", signal: controller.signal });
  await pendingOrder(f, "order-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  const feed = watchOrder("order-1", f, ctx);
  assert.equal((await feed.next()).value?.status, "PENDING");
  const next = feed.next();
  controller.abort();
  assert.equal((await next).done, true);
});

Deno.test("watchOrder() sees a change applied between reading the position and waiting", async () => {
  await using f = await fixture();
  using ctx = testContext(f.logger);
  await pendingOrder(f, "order-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  // A read side whose position is read before the order is confirmed, as a race would have it.
  let raced = false;
  const readSide = {
    get position() {
      return f.projector.position;
    },
    waitFor: async (position: string, options?: { signal?: AbortSignal }) => {
      if (!raced) {
        raced = true;
        await new OrderSaga(f).drive("order-1", ctx);
      }
      return f.projector.waitFor(position, options);
    },
  };
  const statuses = [];
  for await (const view of watchOrder("order-1", { views: f.views, readSide }, ctx)) {
    statuses.push(view.status);
  }
  assert.deepEqual(statuses, ["PENDING", "CONFIRMED"]);
});
