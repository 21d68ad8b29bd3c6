/**
 * Chaos scenario 1: 1 s of latency on every order → payment call.
 *
 * The shop runs with a breaker on payment that treats a call slower than
 * 800 ms as a failure (`slowCallDurationMs`), over a window of 5 calls. The
 * load, four clients placing checkouts (each with its own Idempotency-Key,
 * retried on 429/503/504 with backoff, six attempts at most), goes in three
 * phases:
 *
 * 1. **healthy** — 4 × 5 checkouts; all succeed.
 * 2. **slow payment** — `flotilla chaos add --service order --peer payment
 *    --latency 1000` (the CLI writes `config/order.json`; order reloads it).
 *    One client places checkouts until one is answered `CIRCUIT_OPEN` (at
 *    most 10), then 3 more: the breaker opened (`closed->open` for peer
 *    payment in order.log) and checkouts fail fast. These are expected to
 *    fail (the few placed before it opened succeed slowly).
 * 3. **recovered** — `flotilla chaos clear`; 4 × 15 checkouts. The
 *    breaker goes half-open, its probe succeeds and it closes
 *    (`half_open->closed`); checkouts succeed again.
 *
 * The ≥ 80 % rule is over the whole run: at most 13 checkouts fail in
 * phase 2 against 80 that must succeed in phases 1 and 3, so the run passes
 * only if the shop is healthy before, fails fast (boundedly) during, and
 * really recovers after — a shop that kept failing after the clear, or
 * whose breaker never opened, fails it. Then the history checker and the
 * invariants (every order CONFIRMED or CANCELLED, stock conserved, nobody
 * charged twice) judge the run. No assertion is on elapsed time.
 *
 * @module
 */

import assert from "node:assert/strict";
import { waitFor } from "@flotilla/testing";
import { startShop } from "../support/shop.ts";
import { configOf, flotilla } from "../support/config.ts";
import {
  assertShopInvariants,
  breakerTransitions,
  ChaosLoad,
  mixedRequest,
  seedChaosShop,
} from "../support/chaos.ts";

const POLICIES = {
  peers: {
    payment: {
      timeoutMs: 5_000,
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
      breaker: {
        slidingWindow: { type: "count", size: 5 },
        minimumNumberOfCalls: 3,
        failureRateThreshold: 50,
        slowCallDurationMs: 800,
        slowCallRateThreshold: 60,
        waitDurationInOpenMs: 1_500,
        permittedCallsInHalfOpen: 1,
      },
      outlier: false,
    },
  },
};

Deno.test({
  name: "chaos 1: 1 s latency on payment opens the breaker, checkouts fail fast, then recover",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dataDir = await Deno.makeTempDir({ prefix: "flotilla-chaos-latency-" });
    try {
      await seedChaosShop(dataDir);
      await using shop = await startShop({
        dataDir,
        env: { FLOTILLA_POLICIES: JSON.stringify(POLICIES), FLOTILLA_CHECKOUT: "saga" },
      });
      const load = new ChaosLoad(shop);

      await t.step("healthy: checkouts succeed", async () => {
        const outcomes = await load.run("healthy", 4, 5);
        assert.ok(outcomes.every((o) => o.result === "success"), load.summary());
      });

      await t.step(
        "1 s latency on order→payment: the breaker opens, checkouts fail fast",
        async () => {
          const added = await flotilla(shop, [
            "chaos",
            "add",
            "--service",
            "order",
            "--id",
            "payment-slow",
            "--peer",
            "payment",
            "--side",
            "client",
            "--latency",
            "1000",
          ]);
          assert.equal(added.code, 0, added.err);
          await waitFor(async () => {
            const config = await configOf(shop, "order");
            return config.values.chaos?.rules.some((r) => r.id === "payment-slow") ?? false;
          }, { what: "order to load the latency rule", timeoutMs: 30_000 });
          let n = 0;
          let open = false;
          while (!open) {
            assert.ok(n < 10, `the breaker never opened: ${load.summary()}`);
            const outcome = await load.checkout("slow", "slow", mixedRequest(n++));
            open = outcome.codes.includes("CIRCUIT_OPEN");
          }
          const fast = [];
          for (let i = 0; i < 3; i++) {
            fast.push(await load.checkout("slow", "slow", mixedRequest(n++)));
          }
          assert.ok(
            fast.some((o) => o.codes.includes("CIRCUIT_OPEN")),
            `checkouts fail fast with CIRCUIT_OPEN: ${load.summary()}`,
          );
          const transitions = await breakerTransitions(shop.dataDir, "order", "payment");
          assert.equal(transitions[0], "closed->open", transitions.join(", "));
        },
      );

      await t.step("latency cleared: the breaker closes and checkouts succeed", async () => {
        const cleared = await flotilla(shop, ["chaos", "clear", "--service", "order"]);
        assert.equal(cleared.code, 0, cleared.err);
        await waitFor(async () => {
          const config = await configOf(shop, "order");
          return (config.values.chaos?.rules.length ?? 0) === 0;
        }, { what: "order to drop the latency rule", timeoutMs: 30_000 });
        await load.run("recovered", 4, 15);
        const transitions = await waitFor(async () => {
          const all = await breakerTransitions(shop.dataDir, "order", "payment");
          return all.at(-1) === "half_open->closed" && all;
        }, { what: "the breaker on payment to close", timeoutMs: 60_000 });
        assert.ok(transitions.includes("open->half_open"), transitions.join(", "));
        const recovered = load.outcomes.filter((o) => o.phase === "recovered");
        assert.ok(
          recovered.slice(-10).every((o) => o.result === "success"),
          `checkouts succeed again: ${load.summary()}`,
        );
      });

      await t.step("history, invariants and the 80 % rule", async () => {
        await assertShopInvariants(shop, load);
        load.assertSuccessRate(0.8);
        // deno-lint-ignore no-console
        console.log(`chaos 1: ${load.summary()}`);
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
