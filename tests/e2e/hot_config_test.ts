/**
 * The shop's configuration changes while it runs: a chaos rule injected with
 * `flotilla chaos` fails checkouts and `chaos clear` restores them, and an
 * invalid version is refused while the running one stays — all without
 * restarting a process.
 */

import assert from "node:assert/strict";
import { waitFor } from "@flotilla/testing";
import { startShop } from "../support/shop.ts";
import { configOf, flotilla, writeConfigFile } from "../support/config.ts";

// A short breaker wait, so checkouts recover soon after the fault is cleared.
const POLICIES = {
  peers: {
    payment: {
      timeoutMs: 2_000,
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
      breaker: { waitDurationInOpenMs: 200, permittedCallsInHalfOpen: 1 },
      outlier: false,
    },
  },
};

const order = { customerId: "bob", items: [{ sku: "TEA-BLACK", quantity: 1 }] };

interface Placed {
  status?: string;
  code?: string;
}

function checkout(shop: Awaited<ReturnType<typeof startShop>>) {
  return shop.post<Placed>("/orders", order, { "Idempotency-Key": crypto.randomUUID() });
}

function pids(services: { name: string; pid: number | null }[]): Record<string, number | null> {
  return Object.fromEntries(services.map((s) => [s.name, s.pid]));
}

Deno.test({
  name: "configuration and chaos rules change in a running shop without a restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using shop = await startShop({
      env: { FLOTILLA_POLICIES: JSON.stringify(POLICIES) },
    });
    const before = pids(await shop.status());
    const first = await checkout(shop);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.status, "CONFIRMED");

    await t.step("chaos add of UNAVAILABLE on order→payment fails checkouts", async () => {
      const added = await flotilla(shop, [
        "chaos",
        "add",
        "--service",
        "order",
        "--id",
        "payment-down",
        "--peer",
        "payment",
        "--error",
        "UNAVAILABLE",
        "--percentage",
        "100",
      ]);
      assert.equal(added.code, 0, added.err);
      await waitFor(async () => {
        const config = await configOf(shop, "order");
        return config.values.chaos?.enabled &&
          config.values.chaos.rules.some((r) => r.id === "payment-down");
      }, { what: "order to load the chaos rule" });
      const listed = await flotilla(shop, ["chaos", "list", "--service", "order"]);
      assert.match(listed.out, /payment-down/);
      for (let i = 0; i < 3; i++) {
        const failed = await checkout(shop);
        assert.ok(
          failed.status >= 500 || failed.body.status === "CANCELLED",
          `expected a failed checkout, got ${failed.status} ${JSON.stringify(failed.body)}`,
        );
      }
    });

    await t.step("chaos clear restores checkouts", async () => {
      const cleared = await flotilla(shop, ["chaos", "clear", "--service", "order"]);
      assert.equal(cleared.code, 0, cleared.err);
      await waitFor(async () => {
        const placed = await checkout(shop);
        return placed.status === 201 && placed.body.status === "CONFIRMED";
      }, { what: "a checkout to succeed again" });
    });

    await t.step("an invalid version is rejected and the running one stays", async () => {
      const current = await configOf(shop, "order");
      await writeConfigFile(shop, "order", {
        logLevel: "loud",
        policies: { peers: { payment: { timeoutMs: -5 } } },
      });
      const after = await waitFor(async () => {
        const config = await configOf(shop, "order");
        return config.stats.rejected > current.stats.rejected && config;
      }, { what: "order to reject the invalid version" });
      assert.equal(after.version, current.version);
      assert.deepEqual(after.values, current.values);
      assert.equal(after.lastError?.code, "INVALID_CONFIG");
      assert.match(after.lastError!.message, /logLevel/);
      const placed = await checkout(shop);
      assert.equal(placed.status, 201, JSON.stringify(placed.body));
    });

    await t.step("GET /config needs the token", async () => {
      const order = (await shop.status()).find((s) => s.name === "order")!;
      const response = await fetch(`http://127.0.0.1:${order.port}/config`);
      await response.body?.cancel();
      assert.equal(response.status, 401);
    });

    assert.deepEqual(pids(await shop.status()), before, "no process was restarted");
  },
});
