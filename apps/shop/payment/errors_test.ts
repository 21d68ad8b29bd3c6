import assert from "node:assert/strict";
import { NotFoundError } from "@flotilla/core";
import {
  customerNotFound,
  insufficientFunds,
  paymentMismatch,
  paymentVoided,
  unknownCustomer,
} from "./errors.ts";

Deno.test("unknownCustomer() points at /customerId and names the field", () => {
  const error = unknownCustomer("mallory");
  assert.equal(error.code, "UNKNOWN_CUSTOMER");
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.deepEqual(error.issues, [{
    pointer: "/customerId",
    message: 'unknown customer "mallory"',
  }]);
  assert.ok(error.message.includes("customerId"));
});

Deno.test("customerNotFound() is a NotFoundError", () => {
  const error = customerNotFound("mallory");
  assert.ok(error instanceof NotFoundError);
  assert.equal(error.code, "CUSTOMER_NOT_FOUND");
  assert.equal(error.httpStatus, 404);
});

Deno.test("paymentMismatch() is FAILED_PRECONDITION and paymentVoided() is ABORTED, not retryable", () => {
  assert.equal(paymentMismatch("o-1").kind, "FAILED_PRECONDITION");
  const voided = paymentVoided("o-1");
  assert.equal(voided.code, "PAYMENT_VOIDED");
  assert.equal(voided.kind, "ABORTED");
  assert.equal(voided.retryable, false);
});

Deno.test("insufficientFunds() is a FAILED_PRECONDITION, not retryable", () => {
  const error = insufficientFunds("alice", 900);
  assert.equal(error.code, "INSUFFICIENT_FUNDS");
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.equal(error.httpStatus, 422);
  assert.equal(error.retryable, false);
  assert.deepEqual(error.data, { customerId: "alice", amount: 900 });
});
