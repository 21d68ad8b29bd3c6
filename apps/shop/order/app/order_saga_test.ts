import assert from "node:assert/strict";
import {
  createContext,
  DeadlineExceededError,
  FlotillaError,
  formatTraceparent,
  type TraceContext,
  UnavailableError,
} from "@flotilla/core";
import { MemorySagaStore, RejectedError } from "@flotilla/tx";
import { OrderSaga } from "./order_saga.ts";
import { EventSourcedOrderStore } from "../infra/event_sourced_order_store.ts";
import { fixture, pendingOrder, testContext } from "./_fixture.ts";

async function setup() {
  const f = await fixture();
  const saga = new OrderSaga(f);
  return { ...f, saga };
}

Deno.test("OrderSaga.drive() reserves, charges and confirms", async () => {
  await using f = await setup();
  const { saga, store, inventory, payments, logger, clock } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }, { sku: "MUG", quantity: 1 }]);
  clock.advance(1_000);
  using ctx = testContext(logger);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CONFIRMED");
  assert.equal(order.updatedAt, "2025-01-01T00:00:01.000Z");
  assert.deepEqual(await store.get("o-1"), order);
  assert.equal(inventory.stock("TEA"), 8);
  assert.equal(inventory.stock("MUG"), 1);
  assert.equal(payments.balance("alice"), 50_000 - 3_500);
  assert.deepEqual(inventory.log, ["reserve:o-1"]);
  assert.deepEqual(payments.log, ["charge:o-1"]);
});

Deno.test("OrderSaga.drive() cancels OUT_OF_STOCK, tombstones the stock and never calls payment", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }, { sku: "MUG", quantity: 3 }]);
  using ctx = testContext(logger);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "OUT_OF_STOCK");
  assert.equal(inventory.stock("TEA"), 10);
  assert.equal(payments.balance("alice"), 50_000);
  // The charge step never started, so it has nothing to compensate.
  assert.deepEqual(payments.log, []);
  assert.deepEqual(inventory.log, ["reserve:o-1", "release:o-1"]);
  assert.equal(inventory.reservations.get("o-1")?.status, "TOMBSTONE");
  const checkout = await saga.checkoutOf("o-1");
  assert.equal(checkout?.status, "COMPENSATED");
  assert.equal(checkout?.error?.code, "OUT_OF_STOCK");
});

Deno.test("OrderSaga.drive() cancels INSUFFICIENT_FUNDS and gives the stock back", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "carol", [{ sku: "MUG", quantity: 1 }]);
  using ctx = testContext(logger);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "INSUFFICIENT_FUNDS");
  assert.equal(inventory.stock("MUG"), 2);
  assert.equal(payments.balance("carol"), 1_000);
  assert.deepEqual(inventory.log, ["reserve:o-1", "release:o-1"]);
  assert.deepEqual(payments.log, ["charge:o-1", "refund:o-1"]);
});

Deno.test("OrderSaga.drive() returns a terminal order without calling anyone", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  using ctx = testContext(logger);
  const first = await saga.drive("o-1", ctx);
  const second = await saga.drive("o-1", ctx);
  assert.deepEqual(second, first);
  assert.equal(inventory.log.length + payments.log.length, 2);
});

Deno.test("OrderSaga.drive() of an unknown order is ORDER_NOT_FOUND", async () => {
  await using f = await setup();
  const { saga, logger } = f;
  using ctx = testContext(logger);
  await assert.rejects(
    saga.drive("nope", ctx),
    (e: unknown) => e instanceof FlotillaError && e.code === "ORDER_NOT_FOUND",
  );
});

Deno.test("OrderSaga.drive() retries a peer failure with backoff, compensates nothing, and confirms", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  payments.fail("charge", { error: new UnavailableError("payment is down") }, 2);
  using ctx = testContext(logger);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CONFIRMED");
  assert.equal(inventory.stock("TEA"), 8);
  assert.equal(payments.balance("alice"), 50_000 - 1_700);
  assert.deepEqual(payments.log, ["charge:o-1", "charge:o-1", "charge:o-1"]);
  assert.deepEqual(inventory.log, ["reserve:o-1"]);
  const steps = (await saga.checkoutOf("o-1"))!.steps;
  assert.deepEqual(steps.map((s) => [s.name, s.actionAttempts]), [
    ["createOrder", 1],
    ["reserveStock", 1],
    ["chargePayment", 3],
    ["confirmOrder", 1],
  ]);
});

Deno.test("OrderSaga.drive() stopped by its caller during an outage leaves the order PENDING, and resumes", async () => {
  await using f = await setup();
  const { saga, store, inventory, payments } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  payments.fail("charge", { error: new UnavailableError("payment is down") }, 1_000_000);
  const controller = new AbortController();
  using ctx = createContext({ service: "order", action: "test", signal: controller.signal });
  const charging = payments.called("charge");
  const driving = saga.drive("o-1", ctx);
  await charging;
  controller.abort(new DeadlineExceededError());
  await assert.rejects(driving, DeadlineExceededError);
  assert.equal((await store.get("o-1"))?.status, "PENDING");
  assert.equal(inventory.stock("TEA"), 8, "the stock stays reserved for the pending order");

  payments.heal("charge");
  assert.deepEqual(await saga.resume(), { driven: 1, failed: 0 });
  assert.equal((await store.get("o-1"))?.status, "CONFIRMED");
  assert.equal(payments.balance("alice"), 50_000 - 1_700);
});

Deno.test("OrderSaga.drive() undoes a checkout that cannot finish before its deadline (TIMED_OUT)", async () => {
  await using f = await setup();
  const { store, inventory, payments, clock, logger } = f;
  const saga = new OrderSaga({ ...f, timeoutMs: 60_000 });
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  payments.fail("charge", { error: new UnavailableError("payment is down") }, 1_000_000);
  payments.called("charge").then(() => clock.advance(61_000));
  using ctx = testContext(logger);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "TIMED_OUT");
  assert.equal(inventory.stock("TEA"), 10);
  assert.equal(payments.balance("alice"), 50_000);
  // The charge was sent (its outcome unknown), so it is compensated: a refund voids it.
  assert.equal(payments.payments.get("o-1")?.status, "VOIDED");
  assert.deepEqual((await store.history("o-1")).map((e) => e.type), [
    "OrderPlaced",
    "StockReserved",
    "CancellationStarted",
    "OrderCancelled",
  ]);
  await saga[Symbol.asyncDispose]();
});

Deno.test("OrderSaga.drive() after a lost charge reply charges once", async () => {
  await using f = await setup();
  const { saga, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  payments.fail("charge", { error: new DeadlineExceededError(), after: true });
  using ctx = testContext(logger);
  assert.equal((await saga.drive("o-1", ctx)).status, "CONFIRMED");
  assert.equal(payments.balance("alice"), 50_000 - 1_700);
  assert.deepEqual(payments.log, ["charge:o-1", "charge:o-1"]);
});

Deno.test("OrderSaga.drive() after a lost reserve reply reserves once", async () => {
  await using f = await setup();
  const { saga, inventory, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "MUG", quantity: 2 }]);
  inventory.fail("reserve", { error: new UnavailableError("reset"), after: true });
  using ctx = testContext(logger);
  assert.equal((await saga.drive("o-1", ctx)).status, "CONFIRMED");
  assert.equal(inventory.stock("MUG"), 0);
});

Deno.test("OrderSaga.drive() retries a failing compensation and keeps the recorded reason", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "carol", [{ sku: "MUG", quantity: 1 }]);
  inventory.fail("release", { error: new UnavailableError("inventory is down") }, 2);
  using ctx = testContext(logger);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "INSUFFICIENT_FUNDS");
  assert.equal(inventory.stock("MUG"), 2);
  assert.equal(payments.balance("carol"), 1_000);
  assert.deepEqual(inventory.log, ["reserve:o-1", "release:o-1", "release:o-1", "release:o-1"]);
  assert.equal(payments.log.filter((c) => c.startsWith("charge")).length, 1);
});

Deno.test("OrderSaga.drive() cancels an order whose payment was voided elsewhere and releases its stock", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  using ctx = testContext(logger);
  await payments.refund("o-1", ctx);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "INSUFFICIENT_FUNDS");
  assert.equal(inventory.stock("TEA"), 10);
});

Deno.test("OrderSaga.drive() runs concurrent drives of one order one after the other", async () => {
  await using f = await setup();
  const { saga, inventory, payments, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  using ctx = testContext(logger);
  const [a, b, c] = await Promise.all([
    saga.drive("o-1", ctx),
    saga.drive("o-1", ctx),
    saga.drive("o-1", ctx),
  ]);
  assert.equal(a.status, "CONFIRMED");
  assert.deepEqual(b, a);
  assert.deepEqual(c, a);
  assert.deepEqual(inventory.log, ["reserve:o-1"]);
  assert.deepEqual(payments.log, ["charge:o-1"]);
});

Deno.test("OrderSaga.drive() with a context already past its deadline does nothing", async () => {
  await using f = await setup();
  const { saga, inventory, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  const controller = new AbortController();
  controller.abort(new DeadlineExceededError());
  using ctx = testContext(logger);
  const done = {
    ...ctx,
    signal: controller.signal,
    throwIfDone: () => controller.signal.throwIfAborted(),
  };
  await assert.rejects(saga.drive("o-1", done), DeadlineExceededError);
  assert.deepEqual(inventory.log, []);
});

Deno.test("OrderSaga.drive() appends each step once, in the drive's trace", async () => {
  await using f = await setup();
  const { saga, store, logger } = f;
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  await pendingOrder(f, "o-2", "carol", [{ sku: "MUG", quantity: 1 }]);
  using ctx = testContext(logger);
  await saga.drive("o-1", ctx);
  await saga.drive("o-1", ctx);
  await saga.drive("o-2", ctx);
  await saga.drive("o-2", ctx);
  const steps = (await f.appended()).filter((e) => e.type !== "OrderPlaced");
  assert.deepEqual(steps.map(({ stream, type }) => `${stream} ${type}`), [
    "order-o-1 StockReserved",
    "order-o-1 PaymentCharged",
    "order-o-1 OrderConfirmed",
    "order-o-2 StockReserved",
    "order-o-2 CancellationStarted",
    "order-o-2 OrderCancelled",
  ]);
  assert.deepEqual(steps[2]?.data, {
    orderId: "o-1",
    customerId: "alice",
    total: 1_700,
    at: "2025-01-01T00:00:00.000Z",
  });
  assert.deepEqual(steps[5]?.data, {
    orderId: "o-2",
    customerId: "carol",
    reason: "INSUFFICIENT_FUNDS",
    at: "2025-01-01T00:00:00.000Z",
  });
  for (const event of steps) {
    assert.equal(event.metadata.traceparent, `00-${ctx.trace.traceId}-${ctx.trace.spanId}-01`);
  }
  assert.deepEqual(await store.history("o-1").then((h) => h.map((e) => e.version)), [0, 1, 2, 3]);
});

Deno.test("OrderSaga.drive() retries a step whose event cannot be appended, charging again idempotently", async () => {
  await using f = await setup();
  let failures = 1;
  const flaky = new Proxy(f.events, {
    get(target, key) {
      if (key === "append" && failures > 0) {
        return (...args: Parameters<typeof target.append>) =>
          args[1][0]?.type === "PaymentCharged" && failures-- > 0
            ? Promise.reject(new Error("the event store is down"))
            : target.append(...args);
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const store = new EventSourcedOrderStore({
    events: flaky,
    waitForReadSide: (position) => f.projector.waitFor(position),
  });
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  using ctx = testContext(f.logger);
  await using saga = new OrderSaga({ ...f, store });
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CONFIRMED");
  assert.equal(f.payments.balance("alice"), 50_000 - 850);
  assert.deepEqual(f.payments.log, ["charge:o-1", "charge:o-1"]);
  assert.deepEqual((await f.appended()).map((e) => e.type), [
    "OrderPlaced",
    "StockReserved",
    "PaymentCharged",
    "OrderConfirmed",
  ]);
});

function recordingParticipants(refusePayment = false) {
  const calls: string[] = [];
  const participant = (name: string, refuse: boolean) => ({
    name,
    try: (_input: unknown, call: { txId: string }) => {
      calls.push(`${name}.try:${call.txId}`);
      if (refuse) throw new RejectedError("INSUFFICIENT_FUNDS", "declined");
    },
    confirm: (call: { txId: string }) => void calls.push(`${name}.confirm:${call.txId}`),
    cancel: (call: { txId: string }) => void calls.push(`${name}.cancel:${call.txId}`),
  });
  return {
    calls,
    participants: {
      inventory: participant("inventory", false),
      payment: participant("payment", refusePayment),
    },
  };
}

Deno.test("OrderSaga.drive() with TCC tries both participants, then confirms both and the order", async () => {
  await using f = await setup();
  const { calls, participants } = recordingParticipants();
  await using saga = new OrderSaga({ ...f, protocol: "tcc", participants });
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  using ctx = testContext(f.logger);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CONFIRMED");
  assert.deepEqual(calls, [
    "inventory.try:o-1",
    "payment.try:o-1",
    "inventory.confirm:o-1",
    "payment.confirm:o-1",
  ]);
  assert.deepEqual((await f.appended()).map((e) => e.type), [
    "OrderPlaced",
    "StockReserved",
    "PaymentCharged",
    "OrderConfirmed",
  ]);
  // The saga and the transaction share the store under different ids.
  assert.equal((await saga.checkoutOf("o-1"))?.name, "checkout-tcc");
});

Deno.test("OrderSaga.drive() with TCC cancels both participants when one refuses, with its reason", async () => {
  await using f = await setup();
  const { calls, participants } = recordingParticipants(true);
  await using saga = new OrderSaga({ ...f, protocol: "tcc", participants });
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  using ctx = testContext(f.logger);
  const order = await saga.drive("o-1", ctx);
  assert.equal(order.status, "CANCELLED");
  assert.equal(order.reason, "INSUFFICIENT_FUNDS");
  assert.deepEqual(calls, [
    "inventory.try:o-1",
    "payment.try:o-1",
    "inventory.cancel:o-1",
    "payment.cancel:o-1",
  ]);
  assert.deepEqual(f.inventory.log, [], "the saga's own reserve/charge are not used");
});

Deno.test("OrderSaga.drive() with TCC stopped by its caller during a Try aborts it, leaves the order PENDING, and resumes", async () => {
  await using f = await setup();
  const { calls, participants } = recordingParticipants();
  let paymentTries = 0;
  let tryAborted = false;
  let tryStarted: () => void;
  const started = new Promise<void>((resolve) => (tryStarted = resolve));
  const hanging = {
    ...participants.payment,
    try: (input: unknown, call: { txId: string; signal: AbortSignal }) => {
      if (++paymentTries > 1) return participants.payment.try(input, call);
      tryStarted();
      // A payment service that does not answer: only the call's signal ends the wait.
      return new Promise<void>((_, reject) =>
        call.signal.addEventListener("abort", () => {
          tryAborted = true;
          reject(call.signal.reason);
        })
      );
    },
  };
  await using saga = new OrderSaga({
    ...f,
    protocol: "tcc",
    participants: { ...participants, payment: hanging },
  });
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  const controller = new AbortController();
  using ctx = createContext({ service: "order", action: "test", signal: controller.signal });
  const driving = saga.drive("o-1", ctx);
  await started;
  controller.abort(new DeadlineExceededError());
  await assert.rejects(driving, DeadlineExceededError);
  assert.ok(tryAborted, "the payment Try in flight was aborted");
  assert.equal((await f.store.get("o-1"))?.status, "PENDING");

  assert.deepEqual(await saga.resume(), { driven: 1, failed: 0 });
  assert.equal((await f.store.get("o-1"))?.status, "CONFIRMED");
  assert.equal(paymentTries, 2);
  assert.ok(calls.includes("payment.confirm:o-1"));
});

Deno.test("OrderSaga with TCC confirms, not cancels, an order whose checkout timed out after its transaction confirmed", async () => {
  await using f = await setup();
  const { calls, participants } = recordingParticipants();
  let paymentDown = true;
  const controller = new AbortController();
  const flaky = {
    ...participants.payment,
    confirm: (call: { txId: string }) => {
      if (paymentDown) {
        // The Confirm cannot get through until the checkout's deadline has passed.
        f.clock.advance(61_000);
        controller.abort(new DeadlineExceededError());
        throw new UnavailableError("payment is down");
      }
      return participants.payment.confirm(call);
    },
  };
  await using saga = new OrderSaga({
    ...f,
    timeoutMs: 60_000,
    protocol: "tcc",
    participants: { ...participants, payment: flaky },
  });
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 2 }]);
  using ctx = createContext({ service: "order", action: "test", signal: controller.signal });
  await assert.rejects(saga.drive("o-1", ctx), DeadlineExceededError);
  assert.equal((await f.store.get("o-1"))?.status, "PENDING");

  // Recovery confirms the payment; the checkout, past its deadline, is undone — but the
  // transaction's CONFIRM stands, so the order is confirmed, not cancelled with the money taken.
  paymentDown = false;
  assert.deepEqual(await saga.resume(), { driven: 1, failed: 0 });
  assert.ok(calls.includes("payment.confirm:o-1"));
  assert.equal((await saga.checkoutOf("o-1"))?.status, "COMPENSATED");
  const order = await f.store.get("o-1");
  assert.equal(order?.status, "CONFIRMED");
  assert.deepEqual((await f.appended()).map((e) => e.type), [
    "OrderPlaced",
    "StockReserved",
    "PaymentCharged",
    "OrderConfirmed",
  ]);
  assert.ok(!calls.some((c) => c.includes(".cancel:")), "nothing was cancelled");
});

Deno.test("OrderSaga.drive() tells onSettled of each checkout it ends, once", async () => {
  await using f = await setup();
  const settled: string[] = [];
  await using saga = new OrderSaga({ ...f, onSettled: (s) => settled.push(`${s.id} ${s.status}`) });
  await pendingOrder(f, "o-1", "alice", [{ sku: "TEA", quantity: 1 }]);
  await pendingOrder(f, "o-2", "carol", [{ sku: "MUG", quantity: 1 }]);
  using ctx = testContext(f.logger);
  await saga.drive("o-1", ctx);
  await saga.drive("o-1", ctx);
  await saga.drive("o-2", ctx);
  assert.deepEqual(settled, ["checkout:o-1 COMPLETED", "checkout:o-2 COMPENSATED"]);
});

Deno.test("OrderSaga.drive() with a tracer runs each step and compensation in a span of the checkout's trace", async () => {
  await using f = await setup();
  const spans: Array<{ name: string; trace: TraceContext; attributes: Record<string, unknown> }> =
    [];
  const errors: string[] = [];
  const tracer = {
    startSpan(
      name: string,
      options: { trace: TraceContext; attributes: Record<string, string | number> },
    ) {
      spans.push({ name, trace: options.trace, attributes: options.attributes });
      return { recordError: () => errors.push(name), end: () => {} };
    },
  };
  await using saga = new OrderSaga({ ...f, tracer });
  await pendingOrder(f, "o-1", "carol", [{ sku: "MUG", quantity: 1 }]);
  using ctx = testContext(f.logger);
  assert.equal((await saga.drive("o-1", ctx)).status, "CANCELLED");
  assert.deepEqual(spans.map((s) => s.name), [
    "checkout createOrder",
    "checkout reserveStock",
    "checkout chargePayment",
    // A refused step may have done something: its compensation runs too (a refund voids it).
    "checkout chargePayment undo",
    "checkout reserveStock undo",
    "checkout createOrder undo",
  ]);
  for (const span of spans) {
    assert.equal(span.trace.traceId, ctx.trace.traceId);
    assert.equal(span.trace.parentSpanId, ctx.trace.spanId);
  }
  assert.deepEqual(errors, ["checkout chargePayment"], "the refused step's span records why");
  assert.equal(spans[1]?.attributes["flotilla.saga.step"], "reserveStock");
  assert.equal(spans[3]?.attributes["flotilla.saga.phase"], "compensation");
  // What a step appends is in its span's trace.
  const reserved = (await f.appended()).find((e) => e.type === "StockReserved")!;
  assert.equal(reserved.metadata.traceparent, formatTraceparent(spans[1]!.trace));
});

Deno.test("OrderSaga switched from TCC to saga drives the TCC checkouts in flight on in TCC, and lists them", async () => {
  await using f = await setup();
  const sagas = new MemorySagaStore();
  const { calls, participants } = recordingParticipants();
  const deps = { ...f, sagas, owner: "order-1", participants };
  // Two checkouts begin under TCC; the process dies after each payment Try was sent. (A hook
  // that throws stops the transaction's drive as a crash would; the saga step around it would
  // try again, so the saga's drive is stopped too, at that retry.)
  const tcc = new OrderSaga({
    ...deps,
    protocol: "tcc",
    faults: (point) => {
      const tryDone = point.kind === "tcc" && point.boundary === "afterTry" &&
        point.step === "payment";
      const stepAgain = point.kind === "saga" && point.boundary === "beforeAction" &&
        point.step === "reserveAndCharge" && point.attempt === 2;
      if (tryDone || stepAgain) throw new Error(`crash after the payment Try of ${point.id}`);
    },
  });
  for (const orderId of ["o-1", "o-2"]) {
    await pendingOrder(f, orderId, "alice", [{ sku: "TEA", quantity: 1 }]);
    using ctx = testContext(f.logger);
    await assert.rejects(tcc.drive(orderId, ctx), /crash after the payment Try/);
    assert.equal((await f.store.get(orderId))?.status, "PENDING");
  }
  await tcc[Symbol.asyncDispose]();

  // The same instance restarts with FLOTILLA_CHECKOUT=saga.
  await using saga = new OrderSaga({ ...deps, protocol: "saga" });
  assert.deepEqual(
    (await saga.listCheckouts({ limit: 10 })).map((c) => [c.orderId, c.protocol]),
    [["o-1", "checkout-tcc"], ["o-2", "checkout-tcc"]],
  );
  // A new drive of a TCC-begun order goes on in TCC instead of failing on the taken id.
  using ctx = testContext(f.logger);
  assert.equal((await saga.drive("o-2", ctx)).status, "CONFIRMED");
  // Recovery drives the other one on in TCC too.
  assert.deepEqual(await saga.resume(), { driven: 1, failed: 0 });
  assert.equal((await f.store.get("o-1"))?.status, "CONFIRMED");
  assert.ok(calls.includes("payment.confirm:o-1") && calls.includes("payment.confirm:o-2"));
  assert.deepEqual(f.inventory.log, [], "the saga protocol's own reserve was never used");
  // New checkouts run the saga protocol.
  await pendingOrder(f, "o-3", "alice", [{ sku: "TEA", quantity: 1 }]);
  assert.equal((await saga.drive("o-3", ctx)).status, "CONFIRMED");
  assert.deepEqual(f.inventory.log, ["reserve:o-3"]);
  assert.equal((await saga.checkoutOf("o-3"))?.name, "checkout");
});
