import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
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

/** A `stock.reserved` of one TEA line leaving `stock`, at `version` when given. */
const teaStock = (id: string, stock: number, version?: number) =>
  event("stock-" + id, "stock.reserved", {
    orderId: "o-" + id,
    items: [{ sku: "TEA", quantity: 1, stock, ...(version === undefined ? {} : { version }) }],
  }, "2026-01-01T00:00:00Z");

/** A `payment.charged` of ann leaving `balance`, at `version` when given. */
const annBalance = (id: string, balance: number, version?: number) =>
  event("pay-" + id, "payment.charged", {
    orderId: "o-" + id,
    customerId: "ann",
    amount: 1,
    balance,
    ...(version === undefined ? {} : { version }),
  }, "2026-01-01T00:00:00Z");

Deno.test("SqliteReadModel keeps the newer figure of a reordered pair", () =>
  withModel((model) => {
    const apply = (e: ReturnType<typeof event>) =>
      immediate(model.database, () => model.apply(project(e)));
    // The inventory went 99 (v1) then 98 (v2); the bus delivered them the other way round.
    apply(teaStock("2", 98, 2));
    apply(teaStock("1", 99, 1));
    assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 98 }]);
    apply(annBalance("2", 800, 2));
    apply(annBalance("1", 900, 1));
    assert.deepEqual(model.balances(), [{ customerId: "ann", balance: 800 }]);
    // A newer one still moves them.
    apply(teaStock("3", 97, 3));
    apply(annBalance("3", 700, 3));
    assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 97 }]);
    assert.deepEqual(model.balances(), [{ customerId: "ann", balance: 700 }]);
  }));

Deno.test("SqliteReadModel treats a figure delivered again as a no-op", () =>
  withModel((model) => {
    const apply = (e: ReturnType<typeof event>) =>
      immediate(model.database, () => model.apply(project(e)));
    apply(teaStock("1", 99, 1));
    apply(teaStock("2", 98, 2));
    apply(teaStock("2", 98, 2));
    apply(teaStock("1", 99, 1));
    assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 98 }]);
    apply(annBalance("1", 900, 1));
    apply(annBalance("1", 900, 1));
    assert.deepEqual(model.balances(), [{ customerId: "ann", balance: 900 }]);
  }));

Deno.test("SqliteReadModel applies unversioned (legacy) figures last-writer-wins", () =>
  withModel((model) => {
    const apply = (e: ReturnType<typeof event>) =>
      immediate(model.database, () => model.apply(project(e)));
    apply(teaStock("1", 99));
    assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 99 }]);
    apply(teaStock("2", 100));
    assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 100 }], "the last writer wins");
    // A versioned figure replaces an unversioned one, and an unversioned one a versioned one.
    apply(teaStock("3", 97, 5));
    assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 97 }]);
    apply(teaStock("4", 96));
    assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 96 }]);
    apply(teaStock("5", 95, 1));
    assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 95 }]);
    apply(annBalance("1", 900));
    apply(annBalance("2", 950));
    assert.deepEqual(model.balances(), [{ customerId: "ann", balance: 950 }]);
  }));

Deno.test("SqliteReadModel.open() adds figure versions to a read model of an earlier version", async () => {
  const dir = await Deno.makeTempDir({ prefix: "notification-" });
  try {
    const path = `${dir}/notification.db`;
    // The figure tables as releases before versions wrote them, with data.
    const old = new DatabaseSync(path);
    old.exec(`
      CREATE TABLE stock (sku TEXT PRIMARY KEY, stock INTEGER NOT NULL) STRICT;
      CREATE TABLE balances (customer_id TEXT PRIMARY KEY, balance INTEGER NOT NULL) STRICT;
      INSERT INTO stock VALUES ('TEA', 90);
      INSERT INTO balances VALUES ('ann', 500);
    `);
    old.close();
    {
      using model = SqliteReadModel.open(path);
      assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 90 }]);
      const apply = (e: ReturnType<typeof event>) =>
        immediate(model.database, () => model.apply(project(e)));
      // The stored figures have no version: the first versioned one replaces them.
      apply(teaStock("1", 89, 4));
      apply(teaStock("0", 91, 3));
      apply(annBalance("1", 400, 2));
      assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 89 }]);
      assert.deepEqual(model.balances(), [{ customerId: "ann", balance: 400 }]);
    }
    using model = SqliteReadModel.open(path);
    assert.deepEqual(model.stock(), [{ sku: "TEA", stock: 89 }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
