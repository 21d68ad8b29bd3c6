/**
 * The crash suite of checkout: with the shop running as separate processes,
 * the order, inventory and payment services each kill themselves (SIGKILL,
 * through `FLOTILLA_CRASH_AT`, at an exact step boundary — no timing luck)
 * at every boundary of a checkout, once each, while orders are placed; the
 * supervisor restarts them. Afterwards every order is CONFIRMED or
 * CANCELLED, nobody is charged twice or for a cancelled order, and stock is
 * conserved — with the saga and with TCC. Then 200 concurrent checkouts race
 * for a product with 50 in stock: exactly 50 are sold.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { waitFor } from "@flotilla/testing";
import { SqliteInventoryStore } from "../../apps/shop/inventory/infra/sqlite_inventory_store.ts";
import { SqlitePaymentStore } from "../../apps/shop/payment/infra/sqlite_payment_store.ts";
import { e2eCheckout, type Shop, startShop } from "../support/shop.ts";

interface Order {
  orderId: string;
  customerId: string;
  items: Array<{ sku: string; quantity: number; price: number }>;
  total: number;
  status: string;
  reason?: string;
}

interface Product {
  sku: string;
  stock: number;
}

interface Customer {
  id: string;
  balance: number;
}

/** Where each protocol's checkout can be cut: `<service>:<point>` of FLOTILLA_CRASH_AT. */
const CRASH_POINTS: Record<"saga" | "tcc", readonly string[]> = {
  saga: [
    "order:saga:beforeAction:reserveStock",
    "order:saga:afterAction:reserveStock",
    "order:saga:beforeAction:chargePayment",
    "order:saga:afterAction:chargePayment",
    "order:saga:beforeAction:confirmOrder",
    "order:saga:afterAction:confirmOrder",
    "order:saga:beforeCompensation:reserveStock",
    "order:saga:afterCompensation:reserveStock",
    "order:saga:afterCompensation:createOrder",
    "inventory:before:reserve",
    "inventory:after:reserve",
    "inventory:after:release",
    "payment:before:charge",
    "payment:after:charge",
    "payment:after:refund",
  ],
  tcc: [
    "order:tcc:beforeTry:inventory",
    "order:tcc:afterTry:inventory",
    "order:tcc:afterTry:payment",
    "order:tcc:beforeConfirm:payment",
    "order:tcc:afterConfirm:inventory",
    "order:tcc:beforeCancel:inventory",
    "order:tcc:afterCancel:payment",
    "order:saga:afterAction:reserveAndCharge",
    "order:saga:beforeAction:confirmOrder",
    "inventory:after:tryReserve",
    "inventory:after:confirmReserve",
    "inventory:after:cancelReserve",
    "payment:after:tryCharge",
    "payment:after:confirmCharge",
    "payment:after:cancelCharge",
  ],
};

/** An order that is confirmed, and one declined by payment (so compensated). */
const ORDERS = [
  { customerId: "alice", items: [{ sku: "TEA-GREEN", quantity: 1 }] },
  { customerId: "carol", items: [{ sku: "KETTLE-GOOSE", quantity: 1 }] },
] as const;

async function catalogue(shop: Shop): Promise<Map<string, number>> {
  const { body } = await shop.get<Product[]>("/products");
  return new Map(body.map((p) => [p.sku, p.stock]));
}

async function balances(shop: Shop): Promise<Map<string, number>> {
  const { body } = await shop.get<Customer[]>("/customers");
  return new Map(body.map((c) => [c.id, c.balance]));
}

/** Places an order with a key, retrying the same key through crashes, until it is settled. */
async function placeUntilSettled(shop: Shop, request: unknown): Promise<Order> {
  const key = crypto.randomUUID();
  return await waitFor(async () => {
    const placed = await shop.post<Order>("/orders", request, { "Idempotency-Key": key })
      .catch(() => undefined);
    if (placed?.status !== 201) return false;
    return placed.body.status === "PENDING" ? false : placed.body;
  }, { what: "an order to settle through the crashes", timeoutMs: 120_000, intervalMs: 200 });
}

async function firedPoints(dataDir: string): Promise<string[]> {
  const fired: string[] = [];
  for (const service of ["order", "inventory", "payment"]) {
    try {
      for await (const entry of Deno.readDir(join(dataDir, service))) {
        if (entry.name.startsWith(".crashed-")) fired.push(`${service}:${entry.name.slice(9)}`);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return fired.sort();
}

/** Every order settled, stock and balances moved by exactly the confirmed orders. */
async function assertConsistent(
  shop: Shop,
  stockBefore: Map<string, number>,
  balanceBefore: Map<string, number>,
): Promise<Order[]> {
  const orders = await waitFor(async () => {
    const { body } = await shop.get<Order[]>("/orders?limit=1000");
    return body.every((o) => o.status === "CONFIRMED" || o.status === "CANCELLED") && body;
  }, { what: "every order to be CONFIRMED or CANCELLED", timeoutMs: 120_000 });
  const confirmed = orders.filter((o) => o.status === "CONFIRMED");
  const stock = await catalogue(shop);
  for (const [sku, before] of stockBefore) {
    const sold = confirmed.flatMap((o) => o.items).filter((i) => i.sku === sku)
      .reduce((sum, i) => sum + i.quantity, 0);
    assert.equal(stock.get(sku), before - sold, `stock of ${sku} is conserved`);
  }
  const balance = await balances(shop);
  for (const [customer, before] of balanceBefore) {
    const paid = confirmed.filter((o) => o.customerId === customer)
      .reduce((sum, o) => sum + o.total, 0);
    assert.equal(balance.get(customer), before - paid, `${customer} paid exactly once per order`);
  }
  return orders;
}

for (const protocol of ["saga", "tcc"] as const) {
  Deno.test({
    name: `checkout (${protocol}) survives a SIGKILL of order, inventory and payment at every step`,
    // It picks its protocols itself: a run of the suite on TCC has nothing to add.
    ignore: e2eCheckout() !== "saga",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const points = CRASH_POINTS[protocol];
      await using shop = await startShop({
        env: { FLOTILLA_CHECKOUT: protocol, FLOTILLA_CRASH_AT: points.join(",") },
      });
      const stockBefore = await catalogue(shop);
      const balanceBefore = await balances(shop);
      const expected = points.map((p) => {
        const colon = p.indexOf(":");
        return `${p.slice(0, colon)}:${p.slice(colon + 1).replaceAll(/[^\w.-]/g, "_")}`;
      }).sort();
      for (let i = 0; i < 40; i++) {
        const order = await placeUntilSettled(shop, ORDERS[i % ORDERS.length]);
        assert.ok(order.status === "CONFIRMED" || order.status === "CANCELLED");
        if ((await firedPoints(shop.dataDir)).length === expected.length && i % 2 === 1) break;
      }
      assert.deepEqual(await firedPoints(shop.dataDir), expected, "every crash point fired");
      const orders = await assertConsistent(shop, stockBefore, balanceBefore);
      assert.ok(orders.some((o) => o.status === "CONFIRMED"));
      assert.ok(orders.some((o) => o.reason === "INSUFFICIENT_FUNDS"));
      const restarts = new Map((await shop.status()).map((s) => [s.name, s.restarts]));
      for (const service of ["order", "inventory", "payment"]) {
        assert.ok(restarts.get(service)! > 0, `${service} was killed and restarted`);
      }
    },
  });

  Deno.test({
    name: `200 concurrent checkouts (${protocol}) for 50 in stock sell exactly 50`,
    ignore: e2eCheckout() !== "saga",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dataDir = await Deno.makeTempDir({ prefix: "flotilla-e2e-race-" });
      try {
        // The services seed only empty stores: these take the place of the usual catalogue.
        await Deno.mkdir(join(dataDir, "inventory"), { recursive: true });
        await Deno.mkdir(join(dataDir, "payment"), { recursive: true });
        const inventory = SqliteInventoryStore.open(join(dataDir, "inventory", "inventory.db"));
        inventory.seed([{ sku: "RACE", name: "Limited edition", price: 100, stock: 50 }]);
        inventory.close();
        const payment = SqlitePaymentStore.open(join(dataDir, "payment", "payment.db"));
        payment.seed([{ id: "racer", name: "Racer", balance: 1_000_000 }]);
        payment.close();

        await using shop = await startShop({ dataDir, env: { FLOTILLA_CHECKOUT: protocol } });
        // The bulkheads turn some away (429): each racer retries its own key until it is settled.
        const request = { customerId: "racer", items: [{ sku: "RACE", quantity: 1 }] };
        const placed = await Promise.all(
          Array.from({ length: 200 }, () => placeUntilSettled(shop, request)),
        );
        assert.equal(new Set(placed.map((o) => o.orderId)).size, 200);
        const orders = await assertConsistent(
          shop,
          new Map([["RACE", 50]]),
          new Map([["racer", 1_000_000]]),
        );
        assert.equal(orders.length, 200);
        assert.equal(orders.filter((o) => o.status === "CONFIRMED").length, 50);
        assert.ok(
          orders.filter((o) => o.status === "CANCELLED").every((o) => o.reason === "OUT_OF_STOCK"),
        );
        assert.equal((await catalogue(shop)).get("RACE"), 0);
      } finally {
        await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      }
    },
  });
}
