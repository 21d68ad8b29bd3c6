import assert from "node:assert/strict";
import {
  DeadlineExceededError,
  FlotillaError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from "@flotilla/core";
import { fromWireError, toWireError } from "./envelope.ts";

Deno.test("toWireError() and fromWireError() carry code, kind, message, retryable, issues and data", () => {
  const errors: FlotillaError[] = [
    new NotFoundError("ORDER_NOT_FOUND", "No order o-1", { orderId: "o-1" }),
    new ValidationError([{ pointer: "/items/0/qty", message: "must be positive" }]),
    new DeadlineExceededError(),
    new FlotillaError("OUT_OF_STOCK", "Not enough", {
      kind: "FAILED_PRECONDITION",
      retryable: true,
      data: { sku: "TEA-01" },
    }),
    new FlotillaError("PAYLOAD_TOO_LARGE", "Too big", {
      kind: "INVALID_ARGUMENT",
      httpStatus: 413,
    }),
  ];
  for (const error of errors) {
    const back = fromWireError(JSON.parse(JSON.stringify(toWireError(error))));
    assert.equal(back.code, error.code);
    assert.equal(back.kind, error.kind);
    assert.equal(back.message, error.message);
    assert.equal(back.retryable, error.retryable);
    assert.equal(back.httpStatus, error.httpStatus);
    assert.deepEqual(back.issues, error.issues);
    assert.deepEqual(back.data, error.data);
  }
});

Deno.test("toWireError() hides unknown errors and names the trace", () => {
  const wire = toWireError(new Error("password=hunter2"), "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.deepEqual(wire, {
    code: "INTERNAL",
    kind: "INTERNAL",
    message: "Internal error",
    retryable: false,
    issues: [],
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  });
});

Deno.test("fromWireError() rebuilds a plain FlotillaError, also from a malformed body", () => {
  const relayed = fromWireError(
    toWireError(new UnavailableError("down", { code: "CONNECTION_REFUSED" })),
  );
  assert.equal(relayed instanceof UnavailableError, false);
  assert.equal(relayed.code, "CONNECTION_REFUSED");
  assert.equal(relayed.retryable, true);
  const junk = fromWireError({ kind: "NOPE", issues: [{ nope: 1 }] });
  assert.equal(junk.kind, "UNKNOWN");
  assert.equal(junk.code, "UNKNOWN");
  assert.deepEqual(junk.issues, []);
  assert.equal(fromWireError(null).message, "Remote error");
});
