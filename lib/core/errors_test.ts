import assert from "node:assert/strict";
import fc from "fast-check";
import {
  asFlotillaError,
  fieldName,
  FlotillaError,
  fromProblem,
  httpStatusOf,
  kindFromHttpStatus,
  NotFoundError,
  toPointer,
  toProblem,
  ValidationError,
} from "./errors.ts";

Deno.test("FlotillaError derives HTTP status and retryability from its kind", () => {
  const error = new FlotillaError("OUT_OF_STOCK", "none left", { kind: "FAILED_PRECONDITION" });
  assert.equal(error.httpStatus, 422);
  assert.equal(error.retryable, false);
  const unavailable = new FlotillaError("DOWN", "down", { kind: "UNAVAILABLE" });
  assert.equal(unavailable.httpStatus, 503);
  assert.equal(unavailable.retryable, true);
  const overridden = new FlotillaError("TOO_BIG", "big", {
    kind: "INVALID_ARGUMENT",
    httpStatus: 413,
  });
  assert.equal(overridden.httpStatus, 413);
});

Deno.test("toProblem() hides unknown errors behind a generic INTERNAL problem", () => {
  const problem = toProblem(new Error("password=hunter2"), { instance: "/x", traceId: "t" });
  assert.equal(problem.status, 500);
  assert.equal(problem.code, "INTERNAL");
  assert.equal(problem.detail, "Internal error");
  assert.equal(problem.instance, "/x");
  assert.equal(problem.traceId, "t");
  assert.ok(!JSON.stringify(problem).includes("hunter2"));
});

Deno.test("toProblem() names each offending field of a ValidationError", () => {
  const error = new ValidationError([{
    pointer: "/items/0/quantity",
    message: "must be positive",
  }]);
  const problem = toProblem(error);
  assert.equal(problem.status, 400);
  assert.equal(problem.type, "urn:flotilla:problem:invalid-argument");
  assert.deepEqual(problem.errors, [{
    pointer: "/items/0/quantity",
    message: "must be positive",
    field: "items[0].quantity",
  }]);
  assert.match(problem.detail, /items\[0\]\.quantity: must be positive/);
});

Deno.test("fromProblem() rebuilds the error a peer sent", () => {
  const sent = new NotFoundError("ORDER_NOT_FOUND", "no order o-1", { orderId: "o-1" });
  const received = fromProblem(JSON.parse(JSON.stringify(toProblem(sent))), 404);
  assert.equal(received.code, "ORDER_NOT_FOUND");
  assert.equal(received.kind, "NOT_FOUND");
  assert.equal(received.httpStatus, 404);
  assert.equal(received.message, "no order o-1");
  assert.deepEqual(received.data, { orderId: "o-1" });
});

Deno.test("fromProblem() falls back to the HTTP status for a body that is not a problem", () => {
  const error = fromProblem(undefined, 503);
  assert.equal(error.kind, "UNAVAILABLE");
  assert.equal(error.retryable, true);
  assert.equal(fromProblem("<html>", 502).kind, "UNAVAILABLE");
});

Deno.test("kindFromHttpStatus() and httpStatusOf() agree on canonical statuses", () => {
  for (const status of [400, 401, 403, 404, 409, 422, 429, 501, 503, 504]) {
    assert.equal(httpStatusOf(kindFromHttpStatus(status)), status);
  }
});

Deno.test("asFlotillaError() keeps known errors and wraps the rest", () => {
  const known = new FlotillaError("X", "x", { kind: "ABORTED" });
  assert.equal(asFlotillaError(known), known);
  const wrapped = asFlotillaError("boom");
  assert.equal(wrapped.kind, "INTERNAL");
  assert.equal(wrapped.cause, "boom");
});

Deno.test("toPointer() and fieldName() escape and render any path", () => {
  assert.equal(toPointer(["a/b", "c~d", 3]), "/a~1b/c~0d/3");
  assert.equal(fieldName("/a~1b/c~0d/3"), "a/b.c~d[3]");
  assert.equal(fieldName(""), "(body)");
  fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.nat())), (path) => {
    const pointer = toPointer(path);
    const decoded = pointer === ""
      ? []
      : pointer.slice(1).split("/").map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
    assert.deepEqual(decoded, path.map(String));
  }));
});
