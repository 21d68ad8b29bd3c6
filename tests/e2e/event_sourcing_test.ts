/**
 * The order aggregate is event sourced, end to end: on the embedded SQLite
 * event store and on a real PostgreSQL server started by the test, each
 * order's steps are appended to its stream (`GET /orders/{id}/events`),
 * `GET /orders/{id}` and `GET /orders?customerId=` are served by the orders
 * projection (reading their own writes), every appended event reaches the
 * bus through the store's outbox (the notification read side converges),
 * and `flotilla projections rebuild` run while the shop is up rebuilds the
 * projection from zero to the same orders.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import postgresClient from "postgres";
import { waitFor } from "@flotilla/testing";
import { startPostgres } from "../../lib/testing/postgres.ts";
import { main } from "../../cli/flotilla.ts";
import { e2eCheckout, type Shop, startShop } from "../support/shop.ts";

interface Order {
  orderId: string;
  customerId: string;
  status: string;
  reason?: string;
  total: number;
  createdAt: string;
  updatedAt: string;
}

interface HistoryEvent {
  version: number;
  type: string;
  data: Record<string, unknown>;
  time: string;
}

async function scenario(shop: Shop, env: Record<string, string>): Promise<void> {
  const requests = [
    { customerId: "alice", items: [{ sku: "TEA-GREEN", quantity: 1 }] },
    { customerId: "alice", items: [{ sku: "POT-CAST", quantity: 1 }] }, // out of stock
    { customerId: "carol", items: [{ sku: "KETTLE-GOOSE", quantity: 1 }] }, // insufficient funds
  ];
  const orders: Order[] = [];
  for (const request of requests) {
    const placed = await shop.post<Order>("/orders", request, {
      "Idempotency-Key": crypto.randomUUID(),
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    // Read your writes: the projection has the order as the POST answered it.
    const read = await shop.get<Order>(`/orders/${placed.body.orderId}`);
    assert.deepEqual(read.body, placed.body);
    orders.push(placed.body);
  }
  assert.deepEqual(orders.map((o) => o.status), ["CONFIRMED", "CANCELLED", "CANCELLED"]);

  const histories = await Promise.all(
    orders.map((o) => shop.get<HistoryEvent[]>(`/orders/${o.orderId}/events`)),
  );
  // With TCC the stock is only held until the payment's Try answers: a declined order never
  // reserved any.
  const declined = e2eCheckout() === "tcc"
    ? ["OrderPlaced", "CancellationStarted", "OrderCancelled"]
    : ["OrderPlaced", "StockReserved", "CancellationStarted", "OrderCancelled"];
  assert.deepEqual(histories.map((h) => h.body.map((e) => e.type)), [
    ["OrderPlaced", "StockReserved", "PaymentCharged", "OrderConfirmed"],
    ["OrderPlaced", "CancellationStarted", "OrderCancelled"],
    declined,
  ]);
  for (const history of histories) {
    assert.deepEqual(history.body.map((e) => e.version), history.body.map((_, i) => i));
  }
  assert.equal(histories[2]!.body.at(-1)!.data.reason, "INSUFFICIENT_FUNDS");
  const unknown = await shop.get<{ code: string }>(`/orders/${crypto.randomUUID()}/events`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, "ORDER_NOT_FOUND");

  // Every appended event reached the bus once: the read side converges.
  await waitFor(async () => {
    for (const customer of ["alice", "carol"]) {
      const truth = await shop.get<Order[]>(`/orders?customerId=${customer}`);
      const seen = await shop.get<Order[]>(`/customers/${customer}/history`);
      const view = (list: Order[]) =>
        JSON.stringify(list.map((o) => [o.orderId, o.status, o.reason]).sort());
      if (seen.status !== 200 || view(truth.body) !== view(seen.body)) return false;
    }
    return true;
  }, { what: "the read side to converge", timeoutMs: 60_000, intervalMs: 100 });

  // A rebuild from zero while the shop runs ends with the same orders.
  const before = await shop.get<Order[]>("/orders");
  const out: string[] = [];
  const code = await main(["projections", "rebuild", "order"], {
    io: { out: (line) => out.push(line), err: (line) => out.push(line) },
    env: { FLOTILLA_DATA_DIR: shop.dataDir, ...env },
  });
  assert.equal(code, 0, out.join("\n"));
  assert.match(out[0] ?? "", /^order: order_views rebuilt from \d+ events/);
  assert.deepEqual((await shop.get<Order[]>("/orders")).body, before.body);
  // And the running projector carries on from the rebuilt checkpoint.
  const after = await shop.post<Order>("/orders", requests[0], {
    "Idempotency-Key": crypto.randomUUID(),
  });
  assert.equal(after.body.status, "CONFIRMED");
  assert.deepEqual((await shop.get<Order>(`/orders/${after.body.orderId}`)).body, after.body);
  assert.equal((await shop.get<Order[]>("/orders")).body.length, before.body.length + 1);
}

Deno.test({
  name: "orders are event sourced on the embedded SQLite event store",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using shop = await startShop();
    await scenario(shop, {});
  },
});

Deno.test({
  name: "orders are event sourced on PostgreSQL",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using postgres = await startPostgres();
    const env = { FLOTILLA_EVENTSTORE: postgres.url };
    await using shop = await startShop({ env });
    await scenario(shop, env);
    // The events are in PostgreSQL, not in the order service's SQLite file.
    const sql = postgresClient(postgres.url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql`SELECT count(*)::int AS n, count(DISTINCT stream)::int AS streams
                              FROM flotilla.events`;
      assert.equal(row!.streams, 4);
      assert.ok(row!.n >= 14, `${row!.n} events`);
    } finally {
      await sql.end();
    }
    const db = new DatabaseSync(join(shop.dataDir, "order", "order.db"), { readOnly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE name = 'events'").all();
    db.close();
    assert.deepEqual(tables, []);
  },
});
