import assert from "node:assert/strict";
import { ManualClock, UnavailableError } from "@flotilla/core";
import { MemorySagaStore } from "./memory_saga_store.ts";
import {
  TccCoordinator,
  type TccCoordinatorOptions,
  type TccParticipant,
} from "./tcc_coordinator.ts";
import { manualSleep } from "./timing.ts";
import { type Hold, stockParticipant } from "./_test_stock.ts";
import { crashAt } from "./_test_saga.ts";
import { DatabaseSync } from "node:sqlite";

function world() {
  const clock = new ManualClock(1_000_000);
  const store = new MemorySagaStore();
  const db = new DatabaseSync(":memory:");
  const inventory = stockParticipant({ name: "inventory", clock, db, tryTimeoutMs: 60_000 });
  const payment = stockParticipant({
    name: "payment",
    clock,
    db: new DatabaseSync(":memory:"),
    tryTimeoutMs: 60_000,
  });
  const coordinator = (
    participants: TccParticipant<Hold>[] = [
      inventory.participant.asParticipant(),
      payment.participant.asParticipant(),
    ],
    options: Partial<TccCoordinatorOptions> = {},
  ) =>
    new TccCoordinator({
      store,
      clock,
      sleep: manualSleep(clock),
      random: () => 0.5,
      leaseMs: 10_000,
      timeoutMs: 5_000,
      owner: "c-1",
      participants,
      tryRetry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10 },
      phaseTwoRetry: { maxAttempts: 10, initialDelayMs: 10, maxDelayMs: 10 },
      ...options,
    });
  return { clock, store, inventory, payment, coordinator };
}

const tea = (quantity: number): Hold => ({ sku: "TEA", quantity });

/** A participant behind a network that the test scripts. */
function network(
  target: TccParticipant<Hold>,
  script: {
    try?: (attempt: number) => "deliver" | "drop" | "hold";
    confirm?: (attempt: number) => "deliver" | "drop";
  },
) {
  const held: (() => Promise<void>)[] = [];
  const keys: string[] = [];
  const participant: TccParticipant<Hold> = {
    name: target.name,
    async try(input, call) {
      keys.push(call.idempotencyKey);
      const what = script.try?.(call.attempt) ?? "deliver";
      if (what === "drop") throw new UnavailableError("the Try was swallowed");
      if (what === "hold") {
        held.push(async () => await target.try(input, call));
        return await new Promise<void>((_, reject) =>
          call.signal.addEventListener("abort", () => reject(call.signal.reason))
        );
      }
      await target.try(input, call);
    },
    async confirm(call) {
      keys.push(call.idempotencyKey);
      if ((script.confirm?.(call.attempt) ?? "deliver") === "drop") {
        throw new UnavailableError("the Confirm was lost");
      }
      await target.confirm(call);
    },
    async cancel(call) {
      keys.push(call.idempotencyKey);
      await target.cancel(call);
    },
  };
  return { participant, held, keys };
}

Deno.test("TccCoordinator.run() tries every participant, persists CONFIRM, then confirms all", async () => {
  const w = world();
  await using coordinator = w.coordinator();
  const tx = await coordinator.run("tx-1", { inventory: tea(2), payment: tea(3) });
  assert.equal(tx.status, "CONFIRMED");
  assert.equal(tx.decision, "CONFIRM");
  assert.equal(w.inventory.sold(), 2);
  assert.equal(w.payment.sold(), 3);
  const types = (await coordinator.transactionHistory("tx-1")).map((h) =>
    `${h.type}${h.step ? `:${h.step}` : ""}`
  );
  assert.deepEqual(types, [
    "tcc.started",
    "try.started:inventory",
    "try.completed:inventory",
    "try.started:payment",
    "try.completed:payment",
    "tcc.decided_confirm",
    "confirm.completed:inventory",
    "confirm.completed:payment",
    "tcc.confirmed",
  ]);
});

Deno.test("TccCoordinator cancels every tried participant when one refuses its Try", async () => {
  const w = world();
  await using coordinator = w.coordinator();
  const tx = await coordinator.run("tx-1", { inventory: tea(2), payment: tea(50) });
  assert.equal(tx.status, "CANCELLED");
  assert.equal(tx.error?.code, "OUT_OF_STOCK");
  assert.equal(w.inventory.available(), 10, "the inventory's hold was released");
  assert.equal(w.inventory.participant.status("tx-1"), "CANCELLED");
  assert.equal(
    w.payment.participant.status("tx-1"),
    "CANCELLED",
    "an empty rollback fences a late Try",
  );
  assert.equal(w.payment.calls.cancel, 0);
});

Deno.test("TccCoordinator: a Try swallowed by the network is cancelled as an empty rollback", async () => {
  const w = world();
  const net = network(w.payment.participant.asParticipant(), { try: () => "drop" });
  await using coordinator = w.coordinator([
    w.inventory.participant.asParticipant(),
    net.participant,
  ]);
  const tx = await coordinator.run("tx-1", { inventory: tea(1), payment: tea(1) });
  assert.equal(tx.status, "CANCELLED");
  assert.equal(tx.branches[1]?.tryAttempts, 3);
  assert.equal(w.payment.calls.try, 0);
  assert.equal(w.payment.calls.cancel, 0, "nothing to release");
  assert.equal(w.payment.participant.status("tx-1"), "CANCELLED");
  assert.equal(w.payment.available(), 10);
  assert.equal(w.inventory.available(), 10);
  assert.deepEqual(net.keys, [
    "tx-1:payment:try",
    "tx-1:payment:try",
    "tx-1:payment:try",
    "tx-1:payment:cancel",
  ]);
});

Deno.test("TccCoordinator: a Try held past the timeout and released after Cancel is refused and changes nothing", async () => {
  const w = world();
  const net = network(w.payment.participant.asParticipant(), { try: () => "hold" });
  await using coordinator = w.coordinator([
    w.inventory.participant.asParticipant(),
    net.participant,
  ], {
    callTimeoutMs: 1_000,
    tryRetry: { maxAttempts: 1 },
  });
  const tx = await coordinator.run("tx-1", { inventory: tea(1), payment: tea(4) });
  assert.equal(tx.status, "CANCELLED");
  assert.equal(tx.error?.code, "TX_STEP_TIMEOUT");
  assert.equal(w.payment.participant.status("tx-1"), "CANCELLED");
  // The network finally delivers the held Try.
  assert.equal(net.held.length, 1);
  await assert.rejects(net.held[0]!(), { code: "TCC_TRY_AFTER_CANCEL" });
  assert.equal(w.payment.available(), 10);
  assert.equal(w.payment.held(), 0);
  assert.equal(w.payment.calls.try, 0);
});

Deno.test("TccCoordinator: stopping a drive aborts the Try in flight, which is not counted and is sent again on resume", async () => {
  const w = world();
  let tries = 0;
  const net = network(w.payment.participant.asParticipant(), {
    try: () => ++tries === 1 ? "hold" : "deliver",
  });
  const participants = [w.inventory.participant.asParticipant(), net.participant];
  // One attempt only: were the stopped Try counted, the resumed transaction would cancel.
  const options = { tryRetry: { maxAttempts: 1 } };
  const controller = new AbortController();
  const running = w.coordinator(participants, options).run(
    "tx-1",
    { inventory: tea(1), payment: tea(4) },
    { signal: controller.signal },
  );
  while (net.held.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  controller.abort(new Error("stop"));
  await assert.rejects(running, /stop/);
  await using paused = w.coordinator(participants, options);
  const types = (await paused.transactionHistory("tx-1")).map((h) =>
    `${h.type}${h.step ? `:${h.step}` : ""}`
  );
  assert.deepEqual(types.slice(-3), [
    "try.started:payment",
    "try.interrupted:payment",
    "tcc.paused",
  ]);
  assert.equal((await paused.getTransaction("tx-1"))?.status, "TRYING");

  await using again = w.coordinator(participants, { ...options, owner: "c-2" });
  const { driven } = await again.recover();
  assert.equal(driven[0]?.status, "CONFIRMED");
  assert.deepEqual(net.keys.filter((k) => k.endsWith(":try")), [
    "tx-1:payment:try",
    "tx-1:payment:try",
  ]);
  assert.equal(w.payment.sold(), 4);
});

Deno.test("TccCoordinator persists its decision before phase two: a crash there is finished by recover()", async () => {
  const w = world();
  const crash = crashAt(1, (p) => p.boundary === "beforeConfirm" && p.step === "payment");
  const first = w.coordinator(undefined, { faults: crash.hook });
  await assert.rejects(first.run("tx-1", { inventory: tea(2), payment: tea(2) }), /crash/);
  const stored = await first.getTransaction("tx-1");
  assert.equal(stored?.status, "CONFIRMING");
  assert.equal(stored?.decision, "CONFIRM");
  assert.equal(w.inventory.participant.status("tx-1"), "CONFIRMED");
  assert.equal(w.payment.participant.status("tx-1"), "TRIED");

  w.clock.advance(10_000);
  const { driven } = await w.coordinator(undefined, { owner: "c-2" }).recover();
  assert.deepEqual(driven.map((t) => t.status), ["CONFIRMED"]);
  assert.equal(w.payment.sold(), 2);
  assert.equal(w.inventory.calls.confirm, 1);
});

Deno.test("TccCoordinator retries phase two until done, across drives", async () => {
  const w = world();
  let lost = 12;
  const net = network(w.payment.participant.asParticipant(), {
    confirm: () => (lost-- > 0 ? "drop" : "deliver"),
  });
  await using coordinator = w.coordinator([
    w.inventory.participant.asParticipant(),
    net.participant,
  ]);
  const tx = await coordinator.run("tx-1", { inventory: tea(1), payment: tea(1) });
  assert.equal(tx.status, "CONFIRMING", "ten attempts in this drive");
  assert.equal(tx.decision, "CONFIRM");
  assert.equal((await w.store.get("tx-1"))?.owner, null, "the lease is released for recover()");
  const { driven } = await coordinator.recover();
  assert.equal(driven[0]?.status, "CONFIRMED");
  assert.equal(w.payment.sold(), 1);
  assert.equal(net.keys.filter((k) => k === "tx-1:payment:confirm").length, 13);
});

Deno.test("TccCoordinator.recover() cancels an undecided transaction past its timeout", async () => {
  const w = world();
  const crash = crashAt(1, (p) => p.boundary === "afterTry" && p.step === "inventory");
  await assert.rejects(
    w.coordinator(undefined, { faults: crash.hook }).run("tx-1", {
      inventory: tea(3),
      payment: tea(1),
    }),
  );
  assert.equal(w.inventory.available(), 7);
  w.clock.advance(10_000); // past the lease and the 5 s timeout
  const { driven } = await w.coordinator(undefined, { owner: "c-2" }).recover();
  assert.equal(driven[0]?.status, "CANCELLED");
  assert.equal(driven[0]?.error?.code, "TX_DEADLINE_EXCEEDED");
  assert.equal(w.inventory.available(), 10);
  assert.equal(w.payment.participant.status("tx-1"), undefined, "a Try never sent needs no Cancel");
});

Deno.test("TccCoordinator.recover() resumes the Tries of an undecided transaction within its timeout", async () => {
  const w = world();
  const crash = crashAt(1, (p) => p.boundary === "afterTry" && p.step === "inventory");
  await assert.rejects(
    w.coordinator(undefined, { faults: crash.hook, leaseMs: 1_000 }).run("tx-1", {
      inventory: tea(3),
      payment: tea(1),
    }),
  );
  w.clock.advance(1_000);
  const { driven } = await w.coordinator(undefined, { owner: "c-2" }).recover();
  assert.equal(driven[0]?.status, "CONFIRMED");
  assert.equal(w.inventory.calls.try, 1, "the replayed Try was a no-op");
  assert.equal(w.inventory.sold(), 3);
  assert.equal(w.payment.sold(), 1);
});

Deno.test("TccCoordinator parks a transaction whose Confirm a participant refuses; resumeTransaction() retries it", async () => {
  const w = world();
  const crash = crashAt(1, (p) => p.boundary === "beforeConfirm");
  await assert.rejects(
    w.coordinator(undefined, { faults: crash.hook }).run("tx-1", {
      inventory: tea(1),
      payment: tea(1),
    }),
  );
  // The coordinator stays away for longer than the reservations live.
  w.clock.advance(60_000);
  assert.deepEqual(w.inventory.participant.expireStale(), ["tx-1"]);
  const coordinator = w.coordinator(undefined, { owner: "c-2" });
  const { driven } = await coordinator.recover();
  assert.equal(driven[0]?.status, "NEEDS_ATTENTION");
  assert.equal(driven[0]?.error?.code, "TCC_CONFIRM_AFTER_CANCEL");
  assert.deepEqual(
    (await coordinator.listTransactions({ status: "NEEDS_ATTENTION" })).map((t) => t.id),
    ["tx-1"],
  );
  const again = await coordinator.resumeTransaction("tx-1");
  assert.equal(again.status, "NEEDS_ATTENTION", "still refused: an operator must reconcile");
  await assert.rejects(coordinator.resumeTransaction("nope"), { code: "TX_NOT_FOUND" });
});

Deno.test("TccCoordinator.run() is idempotent per id and checks its inputs", async () => {
  const w = world();
  await using coordinator = w.coordinator();
  await coordinator.run("tx-1", { inventory: tea(1) });
  const again = await coordinator.run("tx-1", { inventory: tea(5) });
  assert.equal(again.status, "CONFIRMED");
  assert.equal(w.inventory.sold(), 1);
  assert.throws(() => coordinator.run("tx-2", { nobody: tea(1) }), RangeError);
  assert.throws(() => coordinator.run("tx-2", {}), RangeError);
  assert.throws(
    () =>
      w.coordinator([
        w.inventory.participant.asParticipant(),
        w.inventory.participant.asParticipant(),
      ]),
    RangeError,
  );
});

Deno.test("TccCoordinator with parallelTries has every Try in flight at once, then confirms", async () => {
  const w = world();
  let inFlight = 0;
  let most = 0;
  const overlapping = (target: TccParticipant<Hold>): TccParticipant<Hold> => ({
    ...target,
    try: async (input, call) => {
      most = Math.max(most, ++inFlight);
      // A turn of the event loop: a Try sent at the same time is in flight by now.
      await new Promise((resolve) => setTimeout(resolve, 0));
      inFlight--;
      await target.try(input, call);
    },
  });
  const participants = [w.inventory, w.payment].map((p) =>
    overlapping(p.participant.asParticipant())
  );
  await using sequential = w.coordinator(participants);
  assert.equal(
    (await sequential.run("tx-1", { inventory: tea(1), payment: tea(1) })).status,
    "CONFIRMED",
  );
  assert.equal(most, 1);

  await using parallel = w.coordinator(participants, { parallelTries: true });
  const tx = await parallel.run("tx-2", { inventory: tea(2), payment: tea(3) });
  assert.equal(tx.status, "CONFIRMED");
  assert.equal(most, 2);
  assert.equal(w.inventory.sold(), 3);
  assert.equal(w.payment.sold(), 4);
  const types = (await parallel.transactionHistory("tx-2")).map((h) =>
    `${h.type}${h.step ? `:${h.step}` : ""}`
  );
  assert.deepEqual(types.slice(0, 5), [
    "tcc.started",
    "try.started:inventory",
    "try.started:payment",
    "try.completed:inventory",
    "try.completed:payment",
  ]);
});

Deno.test("TccCoordinator with parallelTries cancels both when one refuses, the other's hold included", async () => {
  const w = world();
  await using coordinator = w.coordinator(undefined, { parallelTries: true });
  const tx = await coordinator.run("tx-1", { inventory: tea(2), payment: tea(50) });
  assert.equal(tx.status, "CANCELLED");
  assert.equal(tx.error?.code, "OUT_OF_STOCK");
  assert.equal(w.inventory.calls.try, 1, "the inventory's Try went out with the payment's");
  assert.equal(w.inventory.participant.status("tx-1"), "CANCELLED");
  assert.equal(w.inventory.available(), 10, "and its hold was released");
  assert.equal(w.payment.held(), 0);
});

Deno.test("TccCoordinator with parallelTries retries only the Try that failed", async () => {
  const w = world();
  const net = network(w.payment.participant.asParticipant(), {
    try: (attempt) => attempt === 1 ? "drop" : "deliver",
  });
  await using coordinator = w.coordinator([
    w.inventory.participant.asParticipant(),
    net.participant,
  ], {
    parallelTries: true,
  });
  const tx = await coordinator.run("tx-1", { inventory: tea(1), payment: tea(2) });
  assert.equal(tx.status, "CONFIRMED");
  assert.equal(w.inventory.calls.try, 1);
  assert.deepEqual(net.keys.filter((k) => k.endsWith(":try")), [
    "tx-1:payment:try",
    "tx-1:payment:try",
  ]);
  assert.equal(w.payment.sold(), 2);
});

Deno.test("TccCoordinator with parallelTries: a crash after the Tries is finished by recover(), each Try replayed as a no-op", async () => {
  const w = world();
  const crash = crashAt(1, (p) => p.boundary === "afterTry" && p.step === "payment");
  await assert.rejects(
    w.coordinator(undefined, { faults: crash.hook, leaseMs: 1_000, parallelTries: true }).run(
      "tx-1",
      { inventory: tea(3), payment: tea(1) },
    ),
  );
  w.clock.advance(1_000);
  await using again = w.coordinator(undefined, { owner: "c-2", parallelTries: true });
  const { driven } = await again.recover();
  assert.equal(driven[0]?.status, "CONFIRMED");
  assert.equal(w.inventory.calls.try, 1);
  assert.equal(w.payment.calls.try, 1);
  assert.equal(w.inventory.sold(), 3);
  assert.equal(w.payment.sold(), 1);
});
