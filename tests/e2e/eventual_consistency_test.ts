/**
 * Eventual consistency, visible: the services publish their events through
 * transactional outboxes, the notification read side consumes them (each
 * once, through its inbox), and its views of a customer's order history and
 * of the stock figures converge to what the owning services say — on the
 * embedded SQLite bus, on Redis Streams and on NATS JetStream, each a real
 * broker started by the test.
 */

import assert from "node:assert/strict";
import { startNats, startRedis, waitFor } from "@flotilla/testing";
import { type Shop, startShop } from "../support/shop.ts";

interface Order {
  orderId: string;
  customerId: string;
  total: number;
  status: string;
  reason?: string;
}

async function placeOrders(shop: Shop): Promise<Order[]> {
  const orders: Order[] = [];
  const requests = [
    {
      customerId: "alice",
      items: [{ sku: "TEA-GREEN", quantity: 2 }, { sku: "MUG-STONE", quantity: 1 }],
    },
    { customerId: "alice", items: [{ sku: "TEA-BLACK", quantity: 3 }] },
    { customerId: "alice", items: [{ sku: "POT-CAST", quantity: 1 }] }, // out of stock
    { customerId: "carol", items: [{ sku: "KETTLE-GOOSE", quantity: 1 }] }, // insufficient funds
  ];
  for (const request of requests) {
    const placed = await shop.post<Order>("/orders", request, {
      "Idempotency-Key": crypto.randomUUID(),
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    orders.push(placed.body);
  }
  return orders;
}

const view = (o: Order) => ({
  orderId: o.orderId,
  status: o.status,
  total: o.total,
  reason: o.reason,
});
const byId = (a: { orderId: string }, b: { orderId: string }) => a.orderId.localeCompare(b.orderId);

async function converges(shop: Shop, customers: string[]): Promise<void> {
  await waitFor(async () => {
    for (const customer of customers) {
      const truth = await shop.get<Order[]>(`/orders?customerId=${customer}`);
      const seen = await shop.get<Order[]>(`/customers/${customer}/history`);
      if (seen.status !== 200) return false;
      const a = truth.body.map(view).sort(byId);
      const b = seen.body.map(view).sort(byId);
      if (JSON.stringify(a) !== JSON.stringify(b)) return false;
    }
    const products = await shop.get<Array<{ sku: string; stock: number }>>("/products");
    const stock = await shop.get<Array<{ sku: string; stock: number }>>("/stock");
    const truth = new Map(products.body.map((p) => [p.sku, p.stock]));
    return stock.body.length > 0 && stock.body.every((s) => truth.get(s.sku) === s.stock);
  }, { what: "the read side to converge", timeoutMs: 60_000, intervalMs: 100 });
}

async function scenario(shop: Shop): Promise<void> {
  const orders = await placeOrders(shop);
  assert.deepEqual(orders.map((o) => o.status), [
    "CONFIRMED",
    "CONFIRMED",
    "CANCELLED",
    "CANCELLED",
  ]);
  await converges(shop, ["alice", "carol"]);
  const moved = await shop.get<Array<{ sku: string }>>("/stock");
  for (const sku of ["TEA-GREEN", "MUG-STONE", "TEA-BLACK", "KETTLE-GOOSE"]) {
    assert.ok(moved.body.some((s) => s.sku === sku), `stock figure of ${sku}`);
  }
  const notes = await shop.get<Array<{ type: string; orderId: string }>>(
    "/customers/carol/notifications",
  );
  assert.ok(
    notes.body.some((n) => n.type === "order.cancelled" && n.orderId === orders[3]!.orderId),
  );
  const aliceNotes = await shop.get<Array<{ type: string }>>("/customers/alice/notifications");
  assert.equal(aliceNotes.body.filter((n) => n.type === "payment.charged").length, 2);
  assert.equal(aliceNotes.body.filter((n) => n.type === "order.confirmed").length, 2);
}

Deno.test({
  name: "the read side converges on the embedded SQLite bus",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using shop = await startShop();
    await scenario(shop);
  },
});

Deno.test({
  name: "the read side converges on Redis Streams",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using redis = await startRedis();
    await using shop = await startShop({ env: { FLOTILLA_BUS: redis.url } });
    await scenario(shop);
  },
});

Deno.test({
  name: "the read side converges on NATS JetStream",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using nats = await startNats();
    await using shop = await startShop({ env: { FLOTILLA_BUS: nats.url } });
    await scenario(shop);
  },
});
