import assert from "node:assert/strict";
import {
  createClient,
  createContext,
  DeadlineExceededError,
  FlotillaError,
  Logger,
  MemorySink,
  NotFoundError,
} from "@flotilla/core";
import { paymentContract } from "../../contracts/mod.ts";
import { PeerPayments } from "./peer_payments.ts";
import { stubHandler } from "./_stub_handler.ts";

function context() {
  return createContext({
    service: "order",
    action: "placeOrder",
    logger: new Logger({ sink: new MemorySink() }),
  });
}

function setup(answers: Record<string, (input: unknown) => unknown>) {
  const handler = stubHandler(answers);
  const payments = new PeerPayments(createClient(paymentContract, handler, { caller: "order" }));
  return { handler, payments };
}

Deno.test("PeerPayments.getCustomer() returns the customer, or undefined on CUSTOMER_NOT_FOUND", async () => {
  const alice = { id: "alice", name: "Alice", balance: 100 };
  const { payments } = setup({
    getCustomer: (input) => {
      if ((input as { customerId: string }).customerId === "alice") return alice;
      throw new NotFoundError("CUSTOMER_NOT_FOUND", "no such customer");
    },
  });
  using ctx = context();
  assert.deepEqual(await payments.getCustomer("alice", ctx), alice);
  assert.equal(await payments.getCustomer("mallory", ctx), undefined);
});

Deno.test("PeerPayments.getCustomer() rethrows other errors", async () => {
  const { payments } = setup({
    getCustomer: () => {
      throw new DeadlineExceededError();
    },
  });
  using ctx = context();
  await assert.rejects(payments.getCustomer("alice", ctx), DeadlineExceededError);
});

Deno.test("PeerPayments.charge() maps CHARGED, DECLINED and PAYMENT_VOIDED", async () => {
  let answer: () => unknown = () => ({ status: "CHARGED" });
  const { handler, payments } = setup({ charge: () => answer() });
  using ctx = context();
  const request = { orderId: "o-1", customerId: "alice", amount: 850 };
  assert.equal(await payments.charge(request, ctx), "CHARGED");
  assert.deepEqual(handler.calls[0]?.input, request);
  answer = () => ({ status: "DECLINED", reason: "INSUFFICIENT_FUNDS" });
  assert.equal(await payments.charge(request, ctx), "DECLINED");
  answer = () => {
    throw new FlotillaError("PAYMENT_VOIDED", "voided", { kind: "ABORTED" });
  };
  assert.equal(await payments.charge(request, ctx), "VOIDED");
  answer = () => {
    throw new FlotillaError("PAYMENT_MISMATCH", "mismatch", { kind: "FAILED_PRECONDITION" });
  };
  await assert.rejects(
    payments.charge(request, ctx),
    (e: unknown) => e instanceof FlotillaError && e.code === "PAYMENT_MISMATCH",
  );
});

Deno.test("PeerPayments.refund() calls refund with the order id", async () => {
  const { handler, payments } = setup({ refund: () => ({ status: "VOIDED" }) });
  using ctx = context();
  await payments.refund("o-1", ctx);
  assert.equal(handler.calls[0]?.action, "refund");
  assert.deepEqual(handler.calls[0]?.input, { orderId: "o-1" });
});
