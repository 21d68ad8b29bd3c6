import assert from "node:assert/strict";
import { FlotillaError } from "@flotilla/core";
import { outOfStock, reservationMismatch, reservationReleased, unknownSku } from "./errors.ts";

Deno.test("unknownSku() points one issue at each unknown line", () => {
  const error = unknownSku([{ index: 0, sku: "A" }, { index: 2, sku: "B" }]);
  assert.ok(error instanceof FlotillaError);
  assert.equal(error.code, "UNKNOWN_SKU");
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.equal(error.httpStatus, 422);
  assert.deepEqual(error.issues, [
    { pointer: "/items/0/sku", message: 'unknown sku "A"' },
    { pointer: "/items/2/sku", message: 'unknown sku "B"' },
  ]);
  assert.equal(error.message, 'items[0].sku: unknown sku "A"; items[2].sku: unknown sku "B"');
});

Deno.test("reservationMismatch() is a FAILED_PRECONDITION", () => {
  const error = reservationMismatch("o-1");
  assert.equal(error.code, "RESERVATION_MISMATCH");
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.deepEqual(error.data, { orderId: "o-1" });
});

Deno.test("reservationReleased() is ABORTED and not retryable", () => {
  const error = reservationReleased("o-1");
  assert.equal(error.code, "RESERVATION_RELEASED");
  assert.equal(error.kind, "ABORTED");
  assert.equal(error.httpStatus, 409);
  assert.equal(error.retryable, false);
});

Deno.test("outOfStock() is a FAILED_PRECONDITION naming the sku, not retryable", () => {
  const error = outOfStock("MUG");
  assert.equal(error.code, "OUT_OF_STOCK");
  assert.equal(error.kind, "FAILED_PRECONDITION");
  assert.equal(error.httpStatus, 422);
  assert.equal(error.retryable, false);
  assert.deepEqual(error.data, { sku: "MUG" });
});
