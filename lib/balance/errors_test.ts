import assert from "node:assert/strict";
import { FlotillaError, toProblem } from "@flotilla/core";
import { NoEndpointsError } from "./errors.ts";

Deno.test("NoEndpointsError is a non-retryable UNAVAILABLE FlotillaError", () => {
  const error = new NoEndpointsError({ service: "payment" });
  assert.ok(error instanceof FlotillaError);
  assert.equal(error.name, "NoEndpointsError");
  assert.equal(error.code, "NO_ENDPOINTS");
  assert.equal(error.kind, "UNAVAILABLE");
  assert.equal(error.httpStatus, 503);
  assert.equal(error.retryable, false);
  assert.equal(error.service, "payment");
  assert.deepEqual(error.data, { service: "payment" });
  assert.equal(error.message, `Cannot pick an endpoint of "payment" as none is eligible`);
});

Deno.test("NoEndpointsError without a service names none and keeps the cause", () => {
  const cause = new Error("registry empty");
  const error = new NoEndpointsError({ cause });
  assert.equal(error.service, undefined);
  assert.deepEqual(error.data, {});
  assert.equal(error.cause, cause);
  assert.equal(error.message, "Cannot pick an endpoint as none is eligible");
});

Deno.test("NoEndpointsError has a problem+json form that says not to retry", () => {
  const problem = toProblem(new NoEndpointsError({ service: "order" }));
  assert.equal(problem.status, 503);
  assert.equal(problem.code, "NO_ENDPOINTS");
  assert.equal(problem.retryable, false);
  assert.deepEqual(problem.data, { service: "order" });
});
