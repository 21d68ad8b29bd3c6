/**
 * Over NATS request/reply, killing one of two payment instances mid-run
 * loses no call beyond the configured retry: every order placed while it
 * dies and comes back is confirmed, and each charge happens once.
 */

import assert from "node:assert/strict";
import { startNats, waitFor } from "@flotilla/testing";
import { e2eTransport, startShop } from "../support/shop.ts";

interface Order {
  orderId: string;
  status: string;
  total: number;
}

Deno.test({
  name: "over NATS, killing one of two payment instances mid-run loses no order",
  // It picks its transports itself: a run of the suite on another one has nothing to add.
  ignore: e2eTransport() !== "http",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using nats = await startNats();
    await using shop = await startShop({
      env: { FLOTILLA_TRANSPORT: nats.url, FLOTILLA_REPLICAS_PAYMENT: "2" },
    });
    const before = (await shop.get<{ balance: number }>("/customers/alice")).body.balance;
    const place = async () => {
      const placed = await shop.post<Order>("/orders", {
        customerId: "alice",
        items: [{ sku: "TEA-GREEN", quantity: 1 }],
      }, { "Idempotency-Key": crypto.randomUUID() });
      assert.equal(placed.status, 201, JSON.stringify(placed.body));
      return placed.body;
    };
    // 50 orders of 850 cents fit alice's 50,000 and the 100 teas in stock.
    const orders: Order[] = [];
    let started = 0;
    const workers = Array.from({ length: 4 }, async () => {
      while (started < 50) {
        started++;
        orders.push(await place());
      }
    });
    await waitFor(() => orders.length >= 15, { what: "orders before the kill" });
    const victim = (await shop.status()).find((s) => s.name === "payment-2")!;
    Deno.kill(victim.pid!, "SIGKILL");
    await Promise.all(workers);
    await waitFor(async () => {
      const now = (await shop.status()).find((s) => s.name === "payment-2");
      return now?.state === "running" && now.pid !== victim.pid;
    }, { what: "payment-2 restarted", timeoutMs: 60_000 });

    assert.equal(orders.length, 50);
    assert.deepEqual(orders.filter((o) => o.status !== "CONFIRMED"), [], "every order confirmed");
    const total = orders.reduce((sum, o) => sum + o.total, 0);
    const after = (await shop.get<{ balance: number }>("/customers/alice")).body.balance;
    assert.equal(before - after, total, "each order charged exactly once");
  },
});
