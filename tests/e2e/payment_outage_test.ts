/**
 * The shop while payment is out.
 *
 * Payment is frozen (SIGSTOP: registered, reachable, answering nothing — the
 * hardest kind of outage). Orders fail with a clear error instead of hanging:
 * the first ones at their deadline, then — once the order service's circuit
 * breaker for payment has opened — at once with `CIRCUIT_OPEN`. Nothing is
 * created or changed meanwhile. When payment returns, the breaker lets a
 * probe through (half-open), closes on its success, and orders are confirmed
 * again. Payment is also stopped cleanly through the supervisor: it
 * deregisters, and orders fail fast with `NO_ENDPOINTS` until it is back.
 */

import assert from "node:assert/strict";
import { waitFor } from "@flotilla/testing";
import { snapshot, startShop } from "../support/shop.ts";

const POLICIES = {
  peers: {
    payment: {
      timeoutMs: 1_000,
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
      breaker: {
        slidingWindow: { type: "count", size: 5 },
        minimumNumberOfCalls: 3,
        failureRateThreshold: 50,
        waitDurationInOpenMs: 1_500,
        permittedCallsInHalfOpen: 1,
      },
      outlier: false,
    },
  },
};

interface Problem {
  status: number;
  code: string;
  detail: string;
}

const order = { customerId: "bob", items: [{ sku: "TEA-BLACK", quantity: 1 }] };

async function breakerTransitions(dataDir: string): Promise<string[]> {
  const text = await Deno.readTextFile(`${dataDir}/logs/order.log`);
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line))
    .filter((r) => r.msg === "circuit breaker changed state" && r.peer === "payment")
    .map((r) => `${r.from}->${r.to}`);
}

Deno.test({
  name:
    "with payment out, orders fail fast once the breaker opens and succeed again after it closes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using shop = await startShop({
      env: {
        FLOTILLA_POLICIES: JSON.stringify(POLICIES),
        // Frozen processes stop their heartbeats; keep payment listed for the whole outage.
        FLOTILLA_REGISTRY_TTL_MS: "60000",
      },
    });
    const payment = (await shop.status()).find((s) => s.name === "payment")!;
    const before = await snapshot(shop);

    await t.step(
      "frozen payment: deadlines first, then CIRCUIT_OPEN at once; nothing changes",
      async () => {
        Deno.kill(payment.pid!, "SIGSTOP");
        try {
          const codes: string[] = [];
          while (!codes.includes("CIRCUIT_OPEN")) {
            const response = await shop.post<Problem>("/orders", order, {
              "Idempotency-Key": crypto.randomUUID(),
            });
            assert.ok(
              response.status === 503 || response.status === 504,
              JSON.stringify(response.body),
            );
            assert.equal(response.headers.get("content-type"), "application/problem+json");
            codes.push(response.body.code);
            assert.ok(codes.length <= 6, `the breaker never opened: ${codes.join(", ")}`);
          }
          assert.equal(codes[0], "DEADLINE_EXCEEDED");
          // Open: every order fails at once, without waiting for payment.
          for (let i = 0; i < 5; i++) {
            const response = await shop.post<Problem>("/orders", order);
            assert.equal(response.status, 503);
            assert.equal(response.body.code, "CIRCUIT_OPEN");
          }
          // Payment answers nothing now, so compare what the others own; balances are checked below.
          const during = await Promise.all([shop.get("/products"), shop.get("/orders?limit=1000")]);
          assert.deepEqual(
            during.map((r) => r.body),
            [before.products, before.orders],
            "a failed order leaves no trace",
          );
        } finally {
          Deno.kill(payment.pid!, "SIGCONT");
        }
      },
    );

    await t.step(
      "payment back: the breaker closes through half-open and orders are confirmed",
      async () => {
        const placed = await waitFor(async () => {
          const response = await shop.post<{ status: string } & Problem>("/orders", order, {
            "Idempotency-Key": crypto.randomUUID(),
          });
          if (response.status === 503) {
            assert.equal(response.body.code, "CIRCUIT_OPEN");
            return false;
          }
          return response;
        }, { what: "an order to succeed after payment returned", intervalMs: 200 });
        assert.equal(placed.status, 201);
        assert.equal(placed.body.status, "CONFIRMED");
        const transitions = await breakerTransitions(shop.dataDir);
        assert.deepEqual(transitions.slice(0, 3), [
          "closed->open",
          "open->half_open",
          "half_open->closed",
        ]);
      },
    );

    await t.step(
      "payment stopped through the supervisor: orders fail fast with NO_ENDPOINTS",
      async () => {
        const stop = await new Deno.Command(Deno.execPath(), {
          args: ["task", "--quiet", "flotilla", "stop", "payment"],
          env: { FLOTILLA_DATA_DIR: shop.dataDir },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(stop.success, new TextDecoder().decode(stop.stderr));
        const failed = await waitFor(async () => {
          const response = await shop.post<Problem>("/orders", order);
          return response.body.code === "NO_ENDPOINTS" && response;
        }, { what: "discovery to drop the stopped payment", intervalMs: 100 });
        assert.equal(failed.status, 503);
        const start = await new Deno.Command(Deno.execPath(), {
          args: ["task", "--quiet", "flotilla", "start", "payment"],
          env: { FLOTILLA_DATA_DIR: shop.dataDir },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(start.success, new TextDecoder().decode(start.stderr));
        const placed = await waitFor(async () => {
          const response = await shop.post<{ status: string }>("/orders", order);
          return response.status === 201 && response;
        }, { what: "orders to succeed once payment is back", intervalMs: 100 });
        assert.equal(placed.body.status, "CONFIRMED");
      },
    );
  },
});
