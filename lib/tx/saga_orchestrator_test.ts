import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import { RejectedError, TxError } from "./errors.ts";
import { MemorySagaStore } from "./memory_saga_store.ts";
import { defineSaga } from "./saga.ts";
import { SagaOrchestrator } from "./saga_orchestrator.ts";
import { manualSleep } from "./timing.ts";
import { compensated, crashAt, scriptedSaga, testWorld } from "./_test_saga.ts";
import { DatabaseSync } from "node:sqlite";
import { checkLedgerSaga, effectsOf, ledgerSaga } from "./_ledger.ts";

Deno.test("SagaOrchestrator.start() runs the steps in order with typed results and completes", async () => {
  const { clock, store } = testWorld();
  const seen: string[] = [];
  const checkout = defineSaga<{ orderId: string; amount: number }>("checkout")
    .step("createOrder", { action: ({ input }) => ({ orderId: input.orderId }) })
    .step("reserve", {
      action: ({ results, idempotencyKey }) => {
        seen.push(idempotencyKey);
        return { reservation: `r-${results.createOrder.orderId}` };
      },
      compensate: () => {},
    })
    .step("charge", {
      action: ({ input, results }) => ({ paid: input.amount, for: results.reserve.reservation }),
    })
    .build();
  await using orchestrator = new SagaOrchestrator({ store, clock, sleep: manualSleep(clock) });
  const saga = await orchestrator.start(checkout, "o-1", { orderId: "o-1", amount: 12 });
  assert.equal(saga.status, "COMPLETED");
  assert.deepEqual(saga.results.charge, { paid: 12, for: "r-o-1" });
  assert.deepEqual(seen, ["o-1:reserve"]);
  assert.equal(saga.owner, null, "the lease is released");
  const history = await orchestrator.sagaHistory("o-1");
  assert.deepEqual(history.map((h) => `${h.type}${h.step ? `:${h.step}` : ""}`), [
    "saga.started",
    "step.started:createOrder",
    "step.completed:createOrder",
    "step.started:reserve",
    "step.completed:reserve",
    "step.started:charge",
    "step.completed:charge",
    "saga.completed",
  ]);
});

Deno.test("SagaOrchestrator compensates started steps in reverse order after a business failure, never the steps not started", async () => {
  const world = testWorld();
  const { saga, calls } = scriptedSaga("s", {
    steps: ["a", "b", "c", "d"],
    action: (step) => (step === "c" ? "reject" : "ok"),
  });
  await using orchestrator = world.orchestrator();
  const view = await orchestrator.start(saga, "s-1", { n: 1 });
  assert.equal(view.status, "COMPENSATED");
  assert.equal(view.error?.code, "NOPE");
  assert.equal(view.error?.business, true);
  assert.deepEqual(compensated(calls), ["c", "b", "a"]);
  assert.deepEqual(calls.filter((c) => c.kind === "compensate").map((c) => c.outcome), [
    "rejected",
    "done",
    "done",
  ]);
  assert.equal(calls.filter((c) => c.step === "d").length, 0, "d never ran nor was compensated");
  assert.deepEqual(view.steps.map((s) => [s.name, s.action, s.compensation]), [
    ["a", "DONE", "DONE"],
    ["b", "DONE", "DONE"],
    ["c", "REJECTED", "DONE"],
    ["d", "PENDING", "NONE"],
  ]);
  assert.equal(calls.filter((c) => c.kind === "action" && c.step === "c").length, 1, "no retry");
});

Deno.test("SagaOrchestrator skips a step without compensation and keeps going back", async () => {
  const world = testWorld();
  const { saga, calls } = scriptedSaga("s", {
    steps: ["a", "b", "c"],
    withoutCompensation: ["b"],
    action: (step) => (step === "c" ? "reject" : "ok"),
  });
  await using orchestrator = world.orchestrator();
  const view = await orchestrator.start(saga, "s-1", { n: 1 });
  assert.equal(view.status, "COMPENSATED");
  assert.deepEqual(compensated(calls), ["c", "a"]);
  assert.ok(
    (await orchestrator.sagaHistory("s-1")).some((h) =>
      h.type === "compensation.skipped" && h.step === "b"
    ),
  );
});

Deno.test("SagaOrchestrator retries transient errors with backoff and the same idempotency key", async () => {
  const world = testWorld();
  const { saga, calls } = scriptedSaga("s", {
    steps: ["a", "b"],
    action: (step, attempt) => (step === "b" && attempt < 3 ? "fail" : "ok"),
    retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 1_000 },
  });
  await using orchestrator = world.orchestrator();
  const start = world.clock.now();
  const view = await orchestrator.start(saga, "s-1", { n: 1 });
  assert.equal(view.status, "COMPLETED");
  const b = calls.filter((c) => c.step === "b");
  assert.deepEqual(b.map((c) => [c.key, c.attempt]), [["s-1:b", 1], ["s-1:b", 2], ["s-1:b", 3]]);
  // Full jitter with random() = 0.5: 0.5 × 100, then 0.5 × 200.
  assert.equal(world.clock.now() - start, 50 + 100);
  assert.equal(view.steps[1]?.actionAttempts, 3);
});

Deno.test("SagaOrchestrator compensates a step that kept failing, as its outcome is unknown", async () => {
  const world = testWorld();
  const { saga, calls } = scriptedSaga("s", {
    steps: ["a", "b", "c"],
    action: (step) => (step === "b" ? "fail" : "ok"),
    retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10 },
  });
  await using orchestrator = world.orchestrator();
  const view = await orchestrator.start(saga, "s-1", { n: 1 });
  assert.equal(view.status, "COMPENSATED");
  assert.equal(view.error?.business, false);
  assert.equal(calls.filter((c) => c.kind === "action" && c.step === "b").length, 3);
  assert.deepEqual(compensated(calls), ["b", "a"]);
  assert.equal(calls.find((c) => c.kind === "compensate" && c.step === "b")?.outcome, "unknown");
});

Deno.test("SagaOrchestrator parks a saga whose compensation keeps failing as NEEDS_ATTENTION; resumeSaga() finishes it", async () => {
  const world = testWorld();
  let broken = true;
  const { saga, calls } = scriptedSaga("s", {
    steps: ["a", "b", "c"],
    action: (step) => (step === "c" ? "reject" : "ok"),
    compensate: (step) => (step === "b" && broken ? "fail" : "ok"),
    compensationRetry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10 },
  });
  await using orchestrator = world.orchestrator({ sagas: [saga] });
  const parked = await orchestrator.start(saga, "s-1", { n: 1 });
  assert.equal(parked.status, "NEEDS_ATTENTION");
  assert.equal(parked.error?.code, "TX_COMPENSATION_FAILED");
  assert.match(parked.error?.message ?? "", /"b" failed 3 times: Error: b broke/);
  assert.equal(parked.owner, null);
  assert.deepEqual(compensated(calls), ["c", "b"], "a waits behind b");
  assert.equal(calls.filter((c) => c.kind === "compensate" && c.step === "b").length, 3);

  // Recovery leaves a parked saga alone; an operator lists and resumes it.
  assert.deepEqual((await orchestrator.recover()).driven, []);
  const listed = await orchestrator.listSagas({ status: "NEEDS_ATTENTION" });
  assert.deepEqual(listed.map((s) => s.id), ["s-1"]);
  broken = false;
  const resumed = await orchestrator.resumeSaga("s-1");
  assert.equal(resumed.status, "COMPENSATED");
  assert.deepEqual(compensated(calls), ["c", "b", "a"]);
  assert.equal(resumed.steps[1]?.compensationAttempts, 1, "a fresh round of attempts");
  assert.deepEqual(await orchestrator.listSagas({ status: "NEEDS_ATTENTION" }), []);
  const types = (await orchestrator.sagaHistory("s-1")).map((h) => h.type);
  assert.ok(types.indexOf("saga.parked") < types.indexOf("saga.resumed"));
  await assert.rejects(orchestrator.resumeSaga("nope"), { code: "TX_NOT_FOUND" });
});

Deno.test("SagaOrchestrator compensates when the saga's deadline passes between steps", async () => {
  const world = testWorld();
  const { saga, calls } = scriptedSaga("s", {
    steps: ["a", "b", "c"],
    timeoutMs: 5_000,
    onAction: (step) => {
      if (step === "b") world.clock.advance(5_000);
    },
  });
  await using orchestrator = world.orchestrator();
  const view = await orchestrator.start(saga, "s-1", { n: 1 });
  assert.equal(view.status, "COMPENSATED");
  assert.equal(view.error?.code, "TX_DEADLINE_EXCEEDED");
  assert.equal(calls.filter((c) => c.step === "c").length, 0);
  assert.deepEqual(compensated(calls), ["b", "a"]);
  assert.ok((await orchestrator.sagaHistory("s-1")).some((h) => h.type === "saga.timed_out"));
});

Deno.test("SagaOrchestrator times a hanging step out, aborts its signal, retries, then compensates", async () => {
  const world = testWorld();
  const { saga, calls } = scriptedSaga("s", {
    steps: ["a", "b"],
    action: (step) => (step === "b" ? "hang" : "ok"),
    stepTimeoutMs: 2_000,
    retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 10 },
  });
  await using orchestrator = world.orchestrator();
  const start = world.clock.now();
  const view = await orchestrator.start(saga, "s-1", { n: 1 });
  assert.equal(view.status, "COMPENSATED");
  assert.equal(view.error?.code, "TX_STEP_TIMEOUT");
  assert.equal(calls.filter((c) => c.kind === "action" && c.step === "b").length, 2);
  assert.deepEqual(compensated(calls), ["b", "a"]);
  assert.equal(
    world.clock.now() - start,
    2_000 + 5 + 2_000,
    "two timeouts and one backoff, on the fake clock",
  );
});

Deno.test("SagaOrchestrator caps a step's timeout at the saga's deadline", async () => {
  const world = testWorld();
  const { saga } = scriptedSaga("s", {
    steps: ["a"],
    action: () => "hang",
    timeoutMs: 1_000,
    retry: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 10 },
  });
  await using orchestrator = world.orchestrator();
  const start = world.clock.now();
  const view = await orchestrator.start(saga, "s-1", { n: 1 });
  assert.equal(view.status, "COMPENSATED");
  assert.equal(view.error?.code, "TX_DEADLINE_EXCEEDED");
  assert.equal(world.clock.now() - start, 1_000);
});

Deno.test("SagaOrchestrator.recover() resumes after a crash with the same idempotency keys", async () => {
  const world = testWorld();
  const { saga, calls } = scriptedSaga("s", { steps: ["a", "b", "c"] });
  const crash = crashAt(1, (p) => p.boundary === "afterAction" && p.step === "b");
  const first = world.orchestrator({ owner: "first", faults: crash.hook });
  await assert.rejects(first.start(saga, "s-1", { n: 1 }), /crash at afterAction b/);
  assert.equal((await world.store.get("s-1"))?.owner, "first", "a crash keeps the lease");

  const second = world.orchestrator({ owner: "second", sagas: [saga] });
  assert.deepEqual((await second.recover()).driven, [], "the lease still holds");
  world.clock.advance(10_000);
  const { driven } = await second.recover();
  assert.deepEqual(driven.map((s) => s.status), ["COMPLETED"]);
  assert.deepEqual(calls.map((c) => `${c.key}#${c.attempt}`), [
    "s-1:a#1",
    "s-1:b#1",
    "s-1:b#2",
    "s-1:c#1",
  ]);
});

Deno.test("SagaOrchestrator fences off an orchestrator whose lease was taken over", async () => {
  const world = testWorld();
  const { saga, calls } = scriptedSaga("s", { steps: ["a", "b"] });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const slow = world.orchestrator({
    owner: "slow",
    faults: async (p) => {
      if (p.boundary === "afterAction" && p.step === "a") await gate;
    },
  });
  const running = slow.start(saga, "s-1", { n: 1 });
  await new Promise((resolve) => setTimeout(resolve, 0));
  const fast = world.orchestrator({ owner: "fast", sagas: [saga] });
  world.clock.advance(10_000);
  const { driven } = await fast.recover();
  assert.equal(driven[0]?.status, "COMPLETED");
  release();
  await assert.rejects(running, (e) => e instanceof TxError && e.code === "TX_LEASE_LOST");
  assert.equal((await world.store.get("s-1"))?.status, "COMPLETED");
  assert.deepEqual(calls.map((c) => c.key), ["s-1:a", "s-1:a", "s-1:b"]);
});

Deno.test("SagaOrchestrator.start() is idempotent per id and refuses an id of another saga", async () => {
  const world = testWorld();
  const { saga, calls } = scriptedSaga("s", { steps: ["a"] });
  const other = scriptedSaga("t", { steps: ["a"] }).saga;
  await using orchestrator = world.orchestrator();
  await orchestrator.start(saga, "s-1", { n: 1 });
  const again = await orchestrator.start(saga, "s-1", { n: 2 });
  assert.equal(again.status, "COMPLETED");
  assert.deepEqual(again.input, { n: 1 });
  assert.equal(calls.length, 1);
  await assert.rejects(orchestrator.start(other, "s-1", { n: 1 }), { code: "TX_ID_CONFLICT" });
});

Deno.test("SagaOrchestrator.recover() reports a saga whose definition it lacks", async () => {
  const world = testWorld();
  const { saga } = scriptedSaga("s", { steps: ["a", "b"] });
  const crash = crashAt(1, (p) => p.boundary === "beforeAction");
  await assert.rejects(world.orchestrator({ faults: crash.hook }).start(saga, "s-1", { n: 1 }));
  world.clock.advance(10_000);
  const { driven, failed } = await world.orchestrator({ owner: "other" }).recover();
  assert.deepEqual(driven, []);
  assert.deepEqual(failed.map((f) => [f.id, f.error.code]), [["s-1", "TX_UNKNOWN_DEFINITION"]]);
});

Deno.test("SagaOrchestrator pauses at a boundary when its signal aborts, leaving the saga resumable", async () => {
  const world = testWorld();
  const controller = new AbortController();
  const { saga } = scriptedSaga("s", {
    steps: ["a", "b"],
    onAction: (step) => {
      if (step === "a") controller.abort(new Error("stop"));
    },
  });
  const orchestrator = world.orchestrator({ sagas: [saga] });
  await assert.rejects(
    orchestrator.start(saga, "s-1", { n: 1 }, { signal: controller.signal }),
    /stop/,
  );
  const paused = await orchestrator.getSaga("s-1");
  assert.equal(paused?.status, "RUNNING");
  assert.equal(paused?.owner, null);
  assert.equal((await orchestrator.recover()).driven[0]?.status, "COMPLETED");
});

Deno.test("SagaOrchestrator: stopping a drive aborts the running step, which is not counted as an attempt", async () => {
  const world = testWorld();
  const controller = new AbortController();
  let bCalls = 0;
  const { saga, calls } = scriptedSaga("s", {
    steps: ["a", "b"],
    // Only one attempt: were the stopped one counted, the resumed saga would compensate.
    retry: { maxAttempts: 1 },
    action: (step) => step === "b" && ++bCalls === 1 ? "hang" : "ok",
    onAction: (step) => {
      if (step === "b" && bCalls === 0) setTimeout(() => controller.abort(new Error("stop")), 0);
    },
  });
  const orchestrator = world.orchestrator({ sagas: [saga] });
  await assert.rejects(
    orchestrator.start(saga, "s-1", { n: 1 }, { signal: controller.signal }),
    /stop/,
  );
  const paused = await orchestrator.getSaga("s-1");
  assert.equal(paused?.status, "RUNNING");
  assert.equal(paused?.owner, null);
  const types = (await orchestrator.sagaHistory("s-1")).map((h) => `${h.type}:${h.step ?? ""}`);
  assert.deepEqual(types.slice(-3), ["step.started:b", "step.interrupted:b", "saga.paused:"]);
  assert.ok(!types.includes("step.failed:b"));

  assert.equal((await orchestrator.recover()).driven[0]?.status, "COMPLETED");
  assert.deepEqual(
    calls.filter((c) => c.step === "b").map((c) => [c.attempt, c.key]),
    [[1, "s-1:b"], [1, "s-1:b"]],
  );
});

Deno.test("SagaOrchestrator: disposing of it aborts a running compensation, which resumes later", async () => {
  const world = testWorld();
  let compensations = 0;
  let orchestrator: SagaOrchestrator | undefined;
  const { saga, calls } = scriptedSaga("s", {
    steps: ["a", "b"],
    action: (step) => step === "b" ? "reject" : "ok",
    compensate: () => ++compensations === 1 ? "hang" : "ok",
    compensationRetry: { maxAttempts: 1 },
  });
  orchestrator = world.orchestrator({ sagas: [saga] });
  const running = orchestrator.start(saga, "s-1", { n: 1 });
  while (compensations === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  await orchestrator[Symbol.asyncDispose]();
  await assert.rejects(running, { code: "TX_LEASE_LOST" });
  const types = (await world.orchestrator().sagaHistory("s-1")).map((h) => h.type);
  assert.deepEqual(types.slice(-2), ["compensation.interrupted", "saga.paused"]);

  orchestrator = world.orchestrator({ sagas: [saga], owner: "other" });
  assert.equal((await orchestrator.recover()).driven[0]?.status, "COMPENSATED");
  assert.deepEqual(
    calls.filter((c) => c.kind === "compensate" && c.step === "b").map((c) => c.attempt),
    [1, 1],
  );
});

Deno.test("SagaOrchestrator rejects options that make no sense", () => {
  const store = new MemorySagaStore();
  assert.throws(() => new SagaOrchestrator({ store, leaseMs: 0 }), RangeError);
  const a = defineSaga<unknown>("x").step("a", { action: () => 1 }).build();
  const b = defineSaga<unknown>("x").step("a", { action: () => 1 }).build();
  assert.throws(() => new SagaOrchestrator({ store, sagas: [a, b] }), RangeError);
  const orchestrator = new SagaOrchestrator({ store, clock: new ManualClock() });
  assert.throws(() => orchestrator.start(a, "id", {}, { timeoutMs: -1 }), RangeError);
  const bad = defineSaga<unknown>("y").step("a", { action: () => 1, retry: { maxAttempts: 0 } })
    .build();
  return assert.rejects(orchestrator.start(bad, "id-2", {}), RangeError);
});

Deno.test("RejectedError thrown by an action carries its code into the saga's error", async () => {
  const world = testWorld();
  const saga = defineSaga<{ sku: string }>("stock")
    .step("reserve", {
      action: ({ input }) => {
        throw new RejectedError("OUT_OF_STOCK", `no ${input.sku}`, { data: { sku: input.sku } });
      },
      compensate: () => {},
    })
    .build();
  await using orchestrator = world.orchestrator();
  const view = await orchestrator.start(saga, "s-1", { sku: "TEA" });
  assert.deepEqual(view.error, { code: "OUT_OF_STOCK", message: "no TEA", business: true });
});

Deno.test("SagaOrchestrator: the compensation of a step that was started but never ran is a no-op", async () => {
  const world = testWorld();
  const db = new DatabaseSync(":memory:");
  const saga = ledgerSaga(db);
  // Crash after s1's STARTED is persisted, before its action runs; the deadline passes meanwhile.
  const crash = crashAt(1, (p) => p.boundary === "beforeAction" && p.step === "s1");
  await assert.rejects(
    world.orchestrator({ faults: crash.hook }).start(saga, "s-1", { fail: false }, {
      timeoutMs: 1_000,
    }),
  );
  world.clock.advance(10_000);
  const { driven } = await world.orchestrator({ owner: "two", sagas: [saga] }).recover();
  const view = driven[0]!;
  assert.equal(view.status, "COMPENSATED");
  assert.deepEqual(view.steps.map((s) => s.action), ["DONE", "STARTED", "PENDING"]);
  assert.deepEqual(effectsOf(db, "s-1"), [
    "s0/action/applied",
    "s0/compensation/undone",
    "s1/compensation/noop",
  ]);
  checkLedgerSaga(db, view);
});

Deno.test("SagaOrchestrator renews the lease while a step outlasts it, so no one takes the saga over", async () => {
  const clock = new ManualClock(1_000_000);
  const store = new MemorySagaStore();
  const options = { store, clock, sleep: manualSleep(clock), leaseMs: 30 };
  let finish!: () => void;
  const slowStep = new Promise<void>((resolve) => finish = resolve);
  let started = false;
  const saga = defineSaga<{ n: number }>("slow").step("long", {
    action: async () => {
      started = true;
      await slowStep;
      return { done: true };
    },
  }).build();
  await using first = new SagaOrchestrator({ ...options, owner: "first", sagas: [saga] });
  await using second = new SagaOrchestrator({ ...options, owner: "second", sagas: [saga] });
  const running = first.start(saga, "s-1", { n: 1 });
  while (!started) await new Promise((resolve) => setTimeout(resolve, 1));
  // The lease the step's start wrote runs out on the clock; the step still runs...
  clock.advance(1_000);
  const lapsed = (await store.get("s-1"))!.leaseUntil;
  assert.ok(lapsed < clock.now());
  // ...and renews it (every third of leaseMs, on the real timer), from the clock's now.
  for (let turn = 0; turn < 500 && (await store.get("s-1"))!.leaseUntil <= clock.now(); turn++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok((await store.get("s-1"))!.leaseUntil > clock.now(), "the lease was renewed");
  assert.deepEqual((await second.recover()).driven, [], "a live step's saga is not taken over");
  finish();
  assert.equal((await running).status, "COMPLETED");
  const history = await store.history("s-1");
  assert.ok(!history.some((h) => h.type.includes("renew")), "a renewal writes no history");
});
