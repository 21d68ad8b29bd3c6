import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DeadlineExceededError,
  type ErrorKind,
  FlotillaError,
  fromProblem,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from "@flotilla/core";
import { classifyError, isFailure } from "./classify.ts";
import { BulkheadFullError, CircuitOpenError } from "./errors.ts";

const kind = (k: ErrorKind, httpStatus?: number) =>
  new FlotillaError("E", "e", httpStatus === undefined ? { kind: k } : { kind: k, httpStatus });

Deno.test("classifyError() counts a caller's mistakes as successes of the callee", () => {
  for (
    const k of [
      "INVALID_ARGUMENT",
      "FAILED_PRECONDITION",
      "OUT_OF_RANGE",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "UNAUTHENTICATED",
      "PERMISSION_DENIED",
    ] as const
  ) {
    assert.equal(classifyError(kind(k)), "success", k);
    assert.equal(isFailure(kind(k)), false, k);
  }
  assert.equal(
    classifyError(new ValidationError([{ pointer: "/sku", message: "required" }])),
    "success",
  );
  assert.equal(classifyError(new NotFoundError("ORDER_NOT_FOUND", "no such order")), "success");
  assert.equal(classifyError(kind("ABORTED")), "success"); // 409 conflict
  assert.equal(classifyError(kind("INTERNAL", 413)), "success");
});

Deno.test("classifyError() counts the callee's failures", () => {
  for (
    const k of [
      "UNAVAILABLE",
      "DEADLINE_EXCEEDED",
      "INTERNAL",
      "UNKNOWN",
      "RESOURCE_EXHAUSTED",
      "UNIMPLEMENTED",
    ] as const
  ) {
    assert.equal(classifyError(kind(k)), "failure", k);
    assert.equal(isFailure(kind(k)), true, k);
  }
  assert.equal(classifyError(new UnavailableError("down")), "failure");
  assert.equal(classifyError(new DeadlineExceededError()), "failure");
  assert.equal(classifyError(new TypeError("fetch failed")), "failure");
  assert.equal(classifyError("a string"), "failure");
  assert.equal(classifyError(new DOMException("late", "TimeoutError")), "failure");
});

Deno.test("classifyError() treats 408 and 429 as failures and other 4xx as mistakes", () => {
  assert.equal(classifyError(fromProblem(undefined, 429)), "failure");
  assert.equal(classifyError(fromProblem(undefined, 408)), "failure");
  assert.equal(classifyError(fromProblem(undefined, 400)), "success");
  assert.equal(classifyError(fromProblem(undefined, 503)), "failure");
  assert.equal(classifyError(Object.assign(new Error("x"), { httpStatus: 404 })), "success");
  assert.equal(classifyError(Object.assign(new Error("x"), { httpStatus: 429 })), "failure");
  assert.equal(classifyError(Object.assign(new Error("x"), { httpStatus: "404" })), "failure");
});

Deno.test("classifyError() ignores cancellations and local rejections", () => {
  assert.equal(classifyError(kind("CANCELLED")), "ignore");
  assert.equal(classifyError(new DOMException("stop", "AbortError")), "ignore");
  assert.equal(classifyError(new CircuitOpenError(100)), "ignore");
  assert.equal(
    classifyError(new BulkheadFullError({ reason: "full", maxConcurrent: 1, maxQueue: 0 })),
    "ignore",
  );
  assert.equal(isFailure(kind("CANCELLED")), false);
});

Deno.test("classifyError() counts a peer's relayed CIRCUIT_OPEN or BULKHEAD_FULL as a failure", () => {
  const relayed = fromProblem({ code: "BULKHEAD_FULL", kind: "RESOURCE_EXHAUSTED" }, 429);
  assert.equal(classifyError(relayed), "failure");
  assert.equal(
    classifyError(fromProblem({ code: "CIRCUIT_OPEN", kind: "UNAVAILABLE" }, 503)),
    "failure",
  );
});

Deno.test("classifyError() never calls a 4xx caller mistake a failure", () => {
  fc.assert(
    fc.property(fc.integer({ min: 400, max: 499 }), (status) => {
      fc.pre(status !== 408 && status !== 429 && status !== 499);
      assert.notEqual(classifyError(fromProblem(undefined, status)), "failure");
    }),
  );
});
