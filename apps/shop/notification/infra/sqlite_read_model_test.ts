import assert from "node:assert/strict";
import { immediate } from "@flotilla/sqlite";
import { project } from "../domain/projection.ts";
import { SqliteReadModel } from "./sqlite_read_model.ts";

async function withModel(body: (model: SqliteReadModel) => void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "notification-" });
  try {
    using model = SqliteReadModel.open(`${dir}/notification.db`);
    body(model);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const event = (id: string, type: string, data: Record<string, unknown>, time: string) => ({
  id,
  type,
  data,
  time,
});

Deno.test("SqliteReadModel builds history, notifications and stock from events", () =>
  withModel((model) => {
    const apply = (e: ReturnType<typeof event>) =>
      immediate(model.database, () => model.apply(project(e)));
    apply(
      event(
        "e1",
        "OrderPlaced",
        { orderId: "o1", customerId: "alice", items: [], total: 850 },
        "2026-01-01T00:00:01Z",
      ),
    );
    apply(
      event("e2", "stock.reserved", {
        orderId: "o1",
        items: [{ sku: "TEA", quantity: 1, stock: 99 }],
      }, "2026-01-01T00:00:02Z"),
    );
    apply(
      event("e3", "payment.charged", {
        orderId: "o1",
        customerId: "alice",
        amount: 850,
        balance: 49150,
      }, "2026-01-01T00:00:03Z"),
    );
    apply(
      event(
        "e4",
        "OrderConfirmed",
        { orderId: "o1", customerId: "alice", total: 850 },
        "2026-01-01T00:00:04Z",
      ),
    );
    assert.deepEqual(model.history("alice").map((o) => [o.orderId, o.status]), [[
      "o1",
      "CONFIRMED",
    ]]);
    assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 99 }]);
    assert.deepEqual(model.notifications("alice", 10).map((n) => n.type), [
      "order.confirmed",
      "payment.charged",
    ]);
    assert.deepEqual(model.history("bob"), []);
  }));

Deno.test("SqliteReadModel never moves an order backwards and keeps one notification per event", () =>
  withModel((model) => {
    const apply = (e: ReturnType<typeof event>) =>
      immediate(model.database, () => model.apply(project(e)));
    apply(
      event(
        "e1",
        "OrderPlaced",
        { orderId: "o1", customerId: "carol", items: [], total: 4900 },
        "2026-01-01T00:00:01Z",
      ),
    );
    apply(
      event("e2", "OrderCancelled", {
        orderId: "o1",
        customerId: "carol",
        reason: "INSUFFICIENT_FUNDS",
      }, "2026-01-01T00:00:02Z"),
    );
    apply(
      event("e2", "OrderCancelled", {
        orderId: "o1",
        customerId: "carol",
        reason: "INSUFFICIENT_FUNDS",
      }, "2026-01-01T00:00:02Z"),
    );
    apply(
      event(
        "e3",
        "OrderConfirmed",
        { orderId: "o1", customerId: "carol", total: 4900 },
        "2026-01-01T00:00:03Z",
      ),
    );
    const [order] = model.history("carol");
    assert.equal(order?.status, "CANCELLED");
    assert.equal(order?.reason, "INSUFFICIENT_FUNDS");
    assert.equal(
      model.notifications("carol", 10).filter((n) => n.type === "order.cancelled").length,
      1,
    );
  }));

Deno.test("SqliteReadModel keeps a status that overtook its order's creation", () =>
  withModel((model) => {
    const apply = (e: ReturnType<typeof event>) =>
      immediate(model.database, () => model.apply(project(e)));
    const placed = event(
      "e1",
      "OrderPlaced",
      { orderId: "o1", customerId: "ann", items: [], total: 850 },
      "2026-01-01T00:00:01Z",
    );
    const confirmed = event(
      "e2",
      "OrderConfirmed",
      { orderId: "o1", customerId: "ann", total: 850 },
      "2026-01-01T00:00:02Z",
    );
    apply(confirmed);
    assert.deepEqual(model.history("ann"), [], "nothing to show before the order exists");
    apply(placed);
    const [order] = model.history("ann");
    assert.equal(order?.status, "CONFIRMED");
    assert.equal(order?.updatedAt, "2026-01-01T00:00:02Z");
    // The usual order still works, and a late PENDING never moves it back.
    apply(event(
      "e3",
      "OrderPlaced",
      { orderId: "o2", customerId: "ann", items: [], total: 850 },
      "2026-01-01T00:00:03Z",
    ));
    assert.equal(model.history("ann").find((o) => o.orderId === "o2")?.status, "PENDING");
  }));
