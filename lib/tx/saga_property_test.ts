import assert from "node:assert/strict";
import fc from "fast-check";
import { isTerminal } from "./saga_store.ts";
import { type Behaviour, compensated, scriptedSaga, testWorld } from "./_test_saga.ts";
import type { FaultHook } from "./faults.ts";

type Script = "ok" | "reject" | "flaky" | "broken";

const scenario = fc.record({
  steps: fc.array(fc.constantFrom<Script>("ok", "ok", "reject", "flaky", "broken"), {
    minLength: 1,
    maxLength: 5,
  }),
  flakyCompensation: fc.boolean(),
  crashes: fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 3 }),
});

Deno.test("SagaOrchestrator property: for random failures and crash points a saga ends terminal and exactly its started steps are compensated, in reverse order", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ steps, flakyCompensation, crashes }) => {
      const names = steps.map((_, i) => `s${i}`);
      const world = testWorld();
      const { saga, calls } = scriptedSaga("prop", {
        steps: names,
        action: (step, attempt): Behaviour => {
          const script = steps[names.indexOf(step)];
          if (script === "reject") return "reject";
          if (script === "broken") return "fail";
          if (script === "flaky") return attempt === 1 ? "fail" : "ok";
          return "ok";
        },
        compensate: (_step, attempt) => (flakyCompensation && attempt === 1 ? "fail" : "ok"),
        retry: { maxAttempts: 6, initialDelayMs: 10, maxDelayMs: 50 },
        compensationRetry: { maxAttempts: 8, initialDelayMs: 10, maxDelayMs: 50 },
      });
      let boundary = 0;
      const pending = new Set(crashes);
      const faults: FaultHook = (point) => {
        boundary++;
        if (pending.delete(boundary)) throw new Error(`crash #${boundary} at ${point.boundary}`);
      };
      let view = await world.orchestrator({ owner: "o-0", faults }).start(saga, "p-1", { n: 1 })
        .catch(() => undefined);
      for (let round = 1; view === undefined || !isTerminal(view.status); round++) {
        assert.ok(round < 10, "the saga ends");
        world.clock.advance(10_001); // the crashed owner's lease expires
        const { driven } = await world.orchestrator({ owner: `o-${round}`, faults, sagas: [saga] })
          .recover();
        view = driven[0] ?? view;
        if (driven.length === 0) view = await world.orchestrator().getSaga("p-1");
      }
      assert.ok(view.status === "COMPLETED" || view.status === "COMPENSATED", view.status);

      const started = view.steps.filter((s) => s.action !== "PENDING").map((s) => s.name);
      // Started steps are a prefix: nothing runs after a failure.
      assert.deepEqual(started, names.slice(0, started.length));
      for (const call of calls) {
        assert.equal(
          call.key,
          call.kind === "action" ? `p-1:${call.step}` : `p-1:${call.step}:compensate`,
        );
        assert.ok(started.includes(call.step), "only started steps are called");
      }
      if (view.status === "COMPLETED") {
        assert.deepEqual(compensated(calls), []);
        assert.ok(steps.every((s) => s === "ok" || s === "flaky"));
      } else {
        assert.deepEqual(compensated(calls), [...started].reverse());
        assert.ok(view.steps.every((s) => s.action === "PENDING" || s.compensation === "DONE"));
        // No action runs once its compensation began.
        for (const name of started) {
          const firstCompensation = calls.findIndex((c) =>
            c.kind === "compensate" && c.step === name
          );
          const lastAction = calls.findLastIndex((c) => c.kind === "action" && c.step === name);
          assert.ok(lastAction < firstCompensation);
        }
      }
      if (crashes.length === 0 && steps.every((s) => s === "ok" || s === "flaky")) {
        assert.equal(view.status, "COMPLETED");
      }
      if (steps.some((s) => s === "reject" || s === "broken")) {
        assert.equal(view.status, "COMPENSATED");
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("SagaOrchestrator property: drives stopped at random boundaries never fail a saga — an interrupted attempt is not counted, and the saga completes when resumed", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { maxLength: 4 }),
      async (count, stops) => {
        const names = Array.from({ length: count }, (_, i) => `s${i}`);
        const world = testWorld();
        const { saga, calls } = scriptedSaga("prop", {
          steps: names,
          action: () => "slow",
          // One attempt each: a stop counted as a failed attempt would compensate the saga.
          retry: { maxAttempts: 1 },
        });
        let drive = new AbortController();
        let boundary = 0;
        const faults: FaultHook = () => {
          if (stops.includes(++boundary)) drive.abort(new Error(`stop at #${boundary}`));
        };
        let view = await world.orchestrator({ owner: "o-0", faults })
          .start(saga, "p-1", { n: 1 }, { signal: drive.signal }).catch(() => undefined);
        for (let round = 1; view === undefined || !isTerminal(view.status); round++) {
          assert.ok(round < 10, "the saga ends");
          drive = new AbortController();
          const orchestrator = world.orchestrator({ owner: `o-${round}`, faults, sagas: [saga] });
          await orchestrator.recover({ signal: drive.signal }).catch(() => undefined);
          view = await world.orchestrator().getSaga("p-1");
        }
        assert.equal(view.status, "COMPLETED");
        const history = await world.orchestrator().sagaHistory("p-1");
        assert.ok(!history.some((h) => h.type === "step.failed"));
        for (const name of names) {
          const interrupted = history.filter((h) =>
            h.type === "step.interrupted" && h.step === name
          ).length;
          const runs = calls.filter((c) => c.kind === "action" && c.step === name);
          assert.equal(runs.length, interrupted + 1, `${name}: one run per interruption, plus one`);
          assert.ok(runs.every((c) => c.attempt === 1), "no interrupted attempt counted");
        }
      },
    ),
    { numRuns: 150 },
  );
});
