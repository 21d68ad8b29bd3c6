import assert from "node:assert/strict";
import { FlotillaError, toProblem } from "@flotilla/core";
import { BulkheadFullError, CircuitOpenError } from "./errors.ts";

Deno.test("CircuitOpenError is a retryable UNAVAILABLE FlotillaError with its endpoint", () => {
  const error = new CircuitOpenError(1_200, { endpoint: "inventory-1" });
  assert.ok(error instanceof FlotillaError);
  assert.equal(error.name, "CircuitOpenError");
  assert.equal(error.code, "CIRCUIT_OPEN");
  assert.equal(error.kind, "UNAVAILABLE");
  assert.equal(error.httpStatus, 503);
  assert.equal(error.retryable, true);
  assert.deepEqual(error.data, { endpoint: "inventory-1", retryAfterMs: 1_200 });
  assert.equal(error.message, 'Circuit open for "inventory-1": retry after 1200 ms');
  assert.deepEqual(new CircuitOpenError(5).data, { retryAfterMs: 5 });
});

Deno.test("BulkheadFullError is a retryable RESOURCE_EXHAUSTED FlotillaError", () => {
  const error = new BulkheadFullError({ name: "a", reason: "full", maxConcurrent: 2, maxQueue: 1 });
  assert.equal(error.name, "BulkheadFullError");
  assert.equal(error.code, "BULKHEAD_FULL");
  assert.equal(error.kind, "RESOURCE_EXHAUSTED");
  assert.equal(error.retryable, true);
  assert.equal(
    error.message,
    'Bulkhead "a" rejected the call as all 2 slots are busy and the queue of 1 is full',
  );
  assert.equal(
    new BulkheadFullError({ reason: "wait_timeout", maxConcurrent: 2, maxQueue: 1 }).message,
    "Bulkhead rejected the call as the wait for a slot timed out",
  );
});

Deno.test("CircuitOpenError has a problem+json wire form", () => {
  const problem = toProblem(new CircuitOpenError(300));
  assert.equal(problem.status, 503);
  assert.equal(problem.code, "CIRCUIT_OPEN");
  assert.equal(problem.retryable, true);
  assert.deepEqual(problem.data, { retryAfterMs: 300 });
});
