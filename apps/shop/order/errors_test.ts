import assert from "node:assert/strict";
import { NotFoundError } from "@flotilla/core";
import {
  idempotencyKeyReused,
  invalidTransition,
  orderNotFound,
  unknownCustomer,
  unknownSku,
} from "./errors.ts";

Deno.test("unknownCustomer() points at /customerId and names the field in its message", () => {
  const error = unknownCustomer("mallory");
  assert.equal(error.code, "UNKNOWN_CUSTOMER");
  assert.equal(error.httpStatus, 422);
  assert.deepEqual(error.issues, [{
    pointer: "/customerId",
    message: 'unknown customer "mallory"',
  }]);
  assert.equal(error.message, 'customerId: unknown customer "mallory"');
});

Deno.test("unknownSku() points at each line's sku and names the fields", () => {
  const error = unknownSku([{ index: 1, sku: "NOPE" }]);
  assert.equal(error.code, "UNKNOWN_SKU");
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.deepEqual(error.issues, [{ pointer: "/items/1/sku", message: 'unknown sku "NOPE"' }]);
  assert.ok(error.message.includes("items[1].sku"));
});

Deno.test("idempotencyKeyReused() is a 422", () => {
  const error = idempotencyKeyReused("k", "o-1");
  assert.equal(error.code, "IDEMPOTENCY_KEY_REUSED");
  assert.equal(error.httpStatus, 422);
});

Deno.test("orderNotFound() is a NotFoundError and invalidTransition() a precondition failure", () => {
  assert.ok(orderNotFound("o-1") instanceof NotFoundError);
  assert.equal(orderNotFound("o-1").code, "ORDER_NOT_FOUND");
  assert.equal(invalidTransition("o-1", "CONFIRMED", "CANCELLED").kind, "FAILED_PRECONDITION");
});
