/**
 * Chaos scenario 5: the call policies of order → payment change 100 times
 * while checkouts keep coming. A reload swaps the policies new calls use
 * and leaves calls in flight on theirs, so no checkout fails because of it.
 */

import assert from "node:assert/strict";
import { waitFor } from "@flotilla/testing";
import { startShop } from "../support/shop.ts";
import { configOf, writeConfigFile } from "../support/config.ts";

const RELOADS = 100;

function policiesOf(n: number) {
  return {
    peers: {
      payment: {
        timeoutMs: 3_000 + (n % 7) * 500,
        attemptTimeoutMs: n % 2 === 0 ? false : 2_500,
        retry: { maxAttempts: 2 + (n % 3), baseDelayMs: 10 + n % 5, maxDelayMs: 100 },
        breaker: n % 5 === 4 ? false : {
          slidingWindow: { type: "count", size: 10 + (n % 4) * 5 },
          minimumNumberOfCalls: 5 + (n % 3),
          failureRateThreshold: 50 + (n % 4) * 10,
          waitDurationInOpenMs: 500 + n * 10,
        },
        bulkhead: { maxConcurrent: 16 + (n % 3) * 16 },
      },
    },
  };
}

Deno.test({
  name: "100 reloads of payment's policies under load fail no checkout",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using shop = await startShop();
    const start = await configOf(shop, "order");
    // Light load, paced by the reloads so the seeded balances and stock last: a checkout
    // goes out with every other reload and is in flight while the file is replaced.
    const customers = [
      { customerId: "alice", items: [{ sku: "TEA-GREEN", quantity: 1 }] },
      { customerId: "bob", items: [{ sku: "TEA-BLACK", quantity: 1 }] },
    ];
    const results: { status: number; body: unknown }[] = [];
    for (let n = 1; n <= RELOADS; n++) {
      const inFlight = n % 2 === 0
        ? shop.post<{ status?: string }>("/orders", customers[(n / 2) % 2]!, {
          "Idempotency-Key": crypto.randomUUID(),
        })
        : undefined;
      await writeConfigFile(shop, "order", { policies: policiesOf(n) });
      await waitFor(async () => {
        const config = await configOf(shop, "order");
        return config.stats.accepted >= start.stats.accepted + n;
      }, { what: `order to accept reload ${n}`, intervalMs: 20 });
      if (inFlight) results.push(await inFlight);
    }
    const end = await configOf(shop, "order");
    assert.equal(end.stats.rejected, start.stats.rejected);
    assert.equal(end.version, start.version + RELOADS);
    assert.deepEqual(end.values.policies, policiesOf(RELOADS));
    assert.equal(results.length, RELOADS / 2);
    const failed = results.filter((r) =>
      r.status !== 201 || (r.body as { status?: string }).status !== "CONFIRMED"
    );
    assert.deepEqual(failed, [], `${failed.length} of ${results.length} checkouts failed`);
  },
});
