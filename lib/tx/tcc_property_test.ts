import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock, UnavailableError } from "@flotilla/core";
import type { FaultHook } from "./faults.ts";
import { MemorySagaStore } from "./memory_saga_store.ts";
import { isTerminal } from "./saga_store.ts";
import { TccCoordinator, type TccParticipant, type TccView } from "./tcc_coordinator.ts";
import { manualSleep } from "./timing.ts";
import { type Hold, stockParticipant } from "./_test_stock.ts";

/**
 * What the network does to a participant's first Try: deliver it, refuse it
 * (not enough stock), drop it before it arrives, or lose the reply after it
 * took effect.
 */
type Script = "ok" | "refuse" | "flaky" | "lost";

const scenario = fc.record({
  scripts: fc.array(fc.constantFrom<Script>("ok", "ok", "refuse", "flaky", "lost"), {
    minLength: 1,
    maxLength: 4,
  }),
  flakyPhaseTwo: fc.boolean(),
  parallelTries: fc.boolean(),
  crashes: fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { maxLength: 3 }),
});

const STOCK = 10;
const QUANTITY = 2;

Deno.test("TccCoordinator property: for random refusals, lost messages and crash points, in turn or in parallel, every participant ends confirmed or every one cancelled", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ scripts, flakyPhaseTwo, parallelTries, crashes }) => {
      const clock = new ManualClock(1_000_000);
      const store = new MemorySagaStore();
      const stocks = scripts.map((_, i) =>
        stockParticipant({ name: `p${i}`, clock, tryTimeoutMs: 600_000, available: STOCK })
      );
      const sent = new Map<string, number>();
      const once = (key: string) => (sent.set(key, (sent.get(key) ?? 0) + 1).get(key) === 1);
      const participants: TccParticipant<Hold>[] = stocks.map(({ participant }, i) => {
        const target = participant.asParticipant();
        return {
          name: target.name,
          async try(input, call) {
            const first = once(`${target.name}:try`);
            if (first && scripts[i] === "flaky") throw new UnavailableError("the Try was dropped");
            await target.try(input, call);
            if (first && scripts[i] === "lost") throw new UnavailableError("the reply was lost");
          },
          async confirm(call) {
            if (once(`${target.name}:confirm`) && flakyPhaseTwo) {
              throw new UnavailableError("the Confirm was dropped");
            }
            await target.confirm(call);
          },
          async cancel(call) {
            if (once(`${target.name}:cancel`) && flakyPhaseTwo) {
              throw new UnavailableError("the Cancel was dropped");
            }
            await target.cancel(call);
          },
        };
      });
      let boundary = 0;
      const pending = new Set(crashes);
      const faults: FaultHook = (point) => {
        boundary++;
        if (pending.delete(boundary)) throw new Error(`crash #${boundary} at ${point.boundary}`);
      };
      const coordinator = (owner: string) =>
        new TccCoordinator({
          store,
          clock,
          sleep: manualSleep(clock),
          random: () => 0.5,
          leaseMs: 1_000,
          timeoutMs: 60_000,
          owner,
          participants,
          faults,
          parallelTries,
          tryRetry: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 10 },
          phaseTwoRetry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 10 },
        });
      const inputs = Object.fromEntries(
        scripts.map((script, i) => [`p${i}`, {
          sku: "TEA",
          quantity: script === "refuse" ? STOCK + 1 : QUANTITY,
        }]),
      );
      let view: TccView | undefined = await coordinator("c-0").run("tx-1", inputs)
        .catch(() => undefined);
      for (let round = 1; view === undefined || !isTerminal(view.status); round++) {
        assert.ok(round < 12, `the transaction ends (${view?.status})`);
        clock.advance(1_001); // a crashed coordinator's lease expires
        const { driven } = await coordinator(`c-${round}`).recover();
        view = driven[0] ?? await coordinator("reader").getTransaction("tx-1");
      }

      assert.ok(view.status === "CONFIRMED" || view.status === "CANCELLED", view.status);
      const confirmed = view.status === "CONFIRMED";
      stocks.forEach((stock, i) => {
        const name = `p${i}`;
        assert.equal(stock.held(), 0, `${name} holds nothing`);
        assert.equal(stock.sold(), confirmed ? QUANTITY : 0, `${name} sold`);
        assert.equal(stock.available(), confirmed ? STOCK - QUANTITY : STOCK, `${name} available`);
        const barrier = stock.participant.status("tx-1");
        if (confirmed) assert.equal(barrier, "CONFIRMED", name);
        else assert.ok(barrier === "CANCELLED" || barrier === undefined, `${name}: ${barrier}`);
        assert.ok(stock.calls.confirm <= 1 && stock.calls.cancel <= 1, "each applied once");
        assert.ok(stock.calls.confirm + stock.calls.cancel <= 1, "never both");
      });
      if (scripts.includes("refuse")) assert.equal(view.status, "CANCELLED");
      if (crashes.length === 0 && !scripts.includes("refuse")) {
        assert.equal(view.status, "CONFIRMED");
      }
    }),
    { numRuns: 200 },
  );
});
