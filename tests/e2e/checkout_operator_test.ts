/**
 * An operator's view of checkout: a compensation that keeps failing parks
 * its checkout as NEEDS_ATTENTION (the order stays PENDING, nothing is
 * lost); `flotilla checkouts list` shows it, and once the cause is fixed
 * `flotilla checkouts resume` finishes it — the order is CANCELLED and its
 * stock is back.
 */

import assert from "node:assert/strict";
import { waitFor } from "@flotilla/testing";
import { e2eCheckout, startShop } from "../support/shop.ts";
import { configOf, flotilla, refuseReleases } from "../support/config.ts";

interface Order {
  orderId: string;
  status: string;
  reason?: string;
}

interface Checkout {
  orderId: string;
  status: string;
  error: { code: string } | null;
}

Deno.test({
  name: "a parked checkout is listed by `flotilla checkouts` and finished by `checkouts resume`",
  // Saga compensations are what park; with TCC a refusal cancels both holds in phase two.
  ignore: e2eCheckout() !== "saga",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using shop = await startShop({
      // A compensation that fails three times parks its checkout (the default waits ~30 s).
      env: { FLOTILLA_CHECKOUT: "saga", FLOTILLA_CHECKOUT_COMPENSATION_ATTEMPTS: "3" },
    });
    const kettles = async () =>
      (await shop.get<{ sku: string; stock: number }[]>("/products")).body
        .find((p) => p.sku === "KETTLE-GOOSE")!.stock;
    const before = await kettles();

    // Inventory refuses every release: carol's declined order cannot give its kettle back.
    await refuseReleases(shop);

    const placed = await shop.post<Order>("/orders", {
      customerId: "carol",
      items: [{ sku: "KETTLE-GOOSE", quantity: 1 }],
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    assert.equal(placed.body.status, "PENDING");
    const orderId = placed.body.orderId;

    const listed = await flotilla(shop, [
      "checkouts",
      "list",
      "--status",
      "needs_attention",
      "--json",
    ]);
    assert.equal(listed.code, 0, listed.err);
    const parked = JSON.parse(listed.out) as Checkout[];
    assert.deepEqual(parked.map((c) => [c.orderId, c.status]), [[orderId, "NEEDS_ATTENTION"]]);
    assert.equal(parked[0]?.error?.code, "TX_COMPENSATION_FAILED");
    assert.equal(await kettles(), before - 1, "the kettle is still reserved, not lost");
    const table = await flotilla(shop, ["checkouts", "list"]);
    assert.match(table.out, new RegExp(`${orderId}\\s+checkout\\s+NEEDS_ATTENTION`));

    assert.equal((await flotilla(shop, ["chaos", "clear", "--service", "inventory"])).code, 0);
    await waitFor(async () => {
      const config = await configOf(shop, "inventory");
      return !(config.values.chaos?.rules.length);
    }, { what: "inventory to drop the chaos rule" });
    // The order service's breaker for inventory opened on the failed releases: a resume while it
    // is still open parks the checkout again (as an operator would see), so try until it is shut.
    await waitFor(async () => {
      const resumed = await flotilla(shop, ["checkouts", "resume", orderId]);
      assert.equal(resumed.code, 0, resumed.err);
      return resumed.out.startsWith(`${orderId} COMPENSATED`);
    }, { what: "the resumed checkout to be compensated", intervalMs: 500 });

    const order = await shop.get<Order>(`/orders/${orderId}`);
    assert.equal(order.body.status, "CANCELLED");
    assert.equal(order.body.reason, "INSUFFICIENT_FUNDS");
    assert.equal(await kettles(), before);
    const unknown = await flotilla(shop, ["checkouts", "resume", crypto.randomUUID()]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /CHECKOUT_NOT_FOUND/);
  },
});
