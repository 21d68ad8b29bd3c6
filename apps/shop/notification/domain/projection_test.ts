import assert from "node:assert/strict";
import { advances, project, supersedes } from "./projection.ts";

const at = "2026-11-26T10:00:00.000Z";

Deno.test("project() turns OrderPlaced into a PENDING summary", () => {
  const changes = project({
    id: "e1",
    type: "OrderPlaced",
    time: at,
    data: { orderId: "o1", customerId: "alice", items: [], total: 1700 },
  });
  assert.deepEqual(changes, [{
    type: "order",
    order: { orderId: "o1", customerId: "alice", total: 1700, status: "PENDING", updatedAt: at },
  }]);
});

Deno.test("project() confirms and cancels with a notification for the customer", () => {
  const confirmed = project({
    id: "e2",
    type: "OrderConfirmed",
    time: at,
    data: { orderId: "o1", customerId: "alice", total: 1700 },
  });
  assert.equal(confirmed[0]?.type, "order_status");
  assert.equal(confirmed[1]?.type, "notification");
  const cancelled = project({
    id: "e3",
    type: "OrderCancelled",
    time: at,
    data: { orderId: "o2", customerId: "carol", reason: "INSUFFICIENT_FUNDS" },
  });
  assert.deepEqual(cancelled[0], {
    type: "order_status",
    orderId: "o2",
    status: "CANCELLED",
    reason: "INSUFFICIENT_FUNDS",
    time: at,
  });
  assert.match(
    (cancelled[1] as { notification: { message: string } }).notification.message,
    /balance was too low/,
  );
});

Deno.test("project() sets absolute stock figures and balances", () => {
  assert.deepEqual(
    project({
      id: "e4",
      type: "stock.reserved",
      time: at,
      data: {
        orderId: "o1",
        items: [{ sku: "TEA", quantity: 2, stock: 98 }, { sku: "MUG", quantity: 1, stock: 24 }],
      },
    }),
    [{ type: "stock", sku: "TEA", stock: 98 }, { type: "stock", sku: "MUG", stock: 24 }],
  );
  const charged = project({
    id: "e5",
    type: "payment.charged",
    time: at,
    data: { orderId: "o1", customerId: "alice", amount: 1700, balance: 48300 },
  });
  assert.deepEqual(charged[0], { type: "balance", customerId: "alice", balance: 48300 });
});

Deno.test("project() carries each figure's version, when the event has one", () => {
  assert.deepEqual(
    project({
      id: "e4",
      type: "stock.released",
      time: at,
      data: {
        orderId: "o1",
        items: [{ sku: "TEA", quantity: 2, stock: 98, version: 7 }, {
          sku: "MUG",
          quantity: 1,
          stock: 24,
        }],
      },
    }),
    [{ type: "stock", sku: "TEA", stock: 98, version: 7 }, {
      type: "stock",
      sku: "MUG",
      stock: 24,
    }],
  );
  for (const type of ["payment.charged", "payment.refunded", "payment.held", "payment.released"]) {
    const [change] = project({
      id: "e5",
      type,
      time: at,
      data: { orderId: "o1", customerId: "alice", amount: 1700, balance: 48300, version: 3 },
    });
    assert.deepEqual(change, { type: "balance", customerId: "alice", balance: 48300, version: 3 });
  }
});

Deno.test("supersedes() keeps the newest figure, and the last one when a version is missing", () => {
  assert.equal(supersedes(4, 5), true);
  assert.equal(supersedes(5, 4), false);
  assert.equal(supersedes(5, 5), false);
  assert.equal(supersedes(undefined, 0), true);
  assert.equal(supersedes(5, undefined), true);
  assert.equal(supersedes(undefined, undefined), true);
});

Deno.test("project() moves the balance on a TCC hold and its release, without a notification", () => {
  for (const type of ["payment.held", "payment.released"]) {
    assert.deepEqual(
      project({
        id: "e7",
        type,
        time: at,
        data: { orderId: "o1", customerId: "alice", amount: 1700, balance: 48300 },
      }),
      [{ type: "balance", customerId: "alice", balance: 48300 }],
    );
  }
});

Deno.test("project() explains a checkout that timed out", () => {
  const cancelled = project({
    id: "e8",
    type: "OrderCancelled",
    time: at,
    data: { orderId: "o3", customerId: "bob", reason: "TIMED_OUT" },
  });
  assert.match(
    (cancelled[1] as { notification: { message: string } }).notification.message,
    /could not finish in time/,
  );
});

Deno.test("project() ignores unknown event types", () => {
  assert.deepEqual(project({ id: "e6", type: "order.teleported", time: at, data: {} }), []);
});

Deno.test("advances() never moves an order backwards or out of a final state", () => {
  assert.equal(advances(undefined, "PENDING"), true);
  assert.equal(advances("PENDING", "CONFIRMED"), true);
  assert.equal(advances("CONFIRMED", "PENDING"), false);
  assert.equal(advances("CONFIRMED", "CANCELLED"), false);
  assert.equal(advances("PENDING", "PENDING"), false);
});
