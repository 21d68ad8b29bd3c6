/**
 * Chaos scenario 2: 30 % of the inventory's answers to the order service
 * are `UNAVAILABLE`.
 *
 * `flotilla chaos add --service inventory --side server --peer order
 * --error UNAVAILABLE --percentage 30` (seeded, so a run replays): the
 * inventory refuses, before its handler runs, three calls in ten from the
 * order service (reserve and release alike). The order service's pipeline
 * retries them — reserve and release carry the checkout's idempotency key —
 * within its retry budget (at most 20 % of calls, plus 10 a second), and
 * its breaker on inventory is sized not to open on a 30 % failure rate. Six
 * clients place 6 × 12 checkouts (a client retries its own key on
 * 429/503/504, as a real one would).
 *
 * Asserted: the rule really fired (the order service's pipeline retried
 * calls to inventory: `flotilla_client_retries_total{peer="inventory"}` on
 * its /metrics moved), at least
 * 80 % of the checkouts succeeded (CONFIRMED, or CANCELLED for a business
 * reason), the history checker's verdict, and the invariants: every order
 * CONFIRMED or CANCELLED, stock conserved, nobody charged twice, and the
 * inventory holds exactly one reservation per confirmed order and none for
 * a cancelled one — a retried reserve never reserved twice. No assertion is
 * on elapsed time.
 *
 * @module
 */

import assert from "node:assert/strict";
import { waitFor } from "@flotilla/testing";
import { startShop } from "../support/shop.ts";
import { configOf, flotilla } from "../support/config.ts";
import { assertShopInvariants, ChaosLoad, metricSum, seedChaosShop } from "../support/chaos.ts";

const POLICIES = {
  peers: {
    inventory: {
      retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 100 },
      breaker: {
        slidingWindow: { type: "count", size: 50 },
        minimumNumberOfCalls: 20,
        failureRateThreshold: 70,
      },
      outlier: false,
    },
  },
};

Deno.test({
  name:
    "chaos 2: 30 % UNAVAILABLE from inventory: retries keep checkouts succeeding, no double reservation",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "flotilla-chaos-inventory-" });
    try {
      await seedChaosShop(dataDir);
      await using shop = await startShop({
        dataDir,
        env: { FLOTILLA_POLICIES: JSON.stringify(POLICIES), FLOTILLA_CHECKOUT: "saga" },
      });
      const added = await flotilla(shop, [
        "chaos",
        "add",
        "--service",
        "inventory",
        "--id",
        "inventory-flaky",
        "--side",
        "server",
        "--peer",
        "order",
        "--error",
        "UNAVAILABLE",
        "--percentage",
        "30",
        "--seed",
        "20240602",
      ]);
      assert.equal(added.code, 0, added.err);
      await waitFor(async () => {
        const config = await configOf(shop, "inventory");
        return config.values.chaos?.rules.some((r) => r.id === "inventory-flaky") ?? false;
      }, { what: "inventory to load the error rule", timeoutMs: 30_000 });

      const load = new ChaosLoad(shop);
      await load.run("flaky", 6, 12);

      const order = (await shop.status()).find((s) => s.name === "order")!;
      const retries = await metricSum("127.0.0.1", order.port, "flotilla_client_retries_total", {
        peer: "inventory",
      });
      const exhausted = await metricSum(
        "127.0.0.1",
        order.port,
        "flotilla_retry_budget_exhausted_total",
        { peer: "inventory" },
      );
      assert.ok(retries > 0, "the order service retried failed calls to inventory");

      const cleared = await flotilla(shop, ["chaos", "clear", "--service", "inventory"]);
      assert.equal(cleared.code, 0, cleared.err);
      await assertShopInvariants(shop, load);
      load.assertSuccessRate(0.8);
      // deno-lint-ignore no-console
      console.log(
        `chaos 2: ${load.summary()}; order retried ${retries} calls to inventory, ${exhausted} refused by the budget`,
      );
    } finally {
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
