import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { type ErrorKind, FlotillaError, NotFoundError, ValidationError } from "@flotilla/core";
import {
  fromGrpcStatus,
  GRPC_STATUS_CODES,
  grpcStatusOf,
  kindOfGrpcStatus,
  pointerOf,
  toGrpcStatus,
} from "./errors.ts";

Deno.test("grpcStatusOf() and kindOfGrpcStatus() map every kind to its gRPC code and back", () => {
  for (const [kind, code] of Object.entries(GRPC_STATUS_CODES)) {
    assert.equal(grpc.status[kind as keyof typeof grpc.status], code, kind);
    assert.equal(grpcStatusOf(kind as ErrorKind), code);
    assert.equal(kindOfGrpcStatus(code), kind);
  }
  assert.equal(kindOfGrpcStatus(grpc.status.DATA_LOSS), "INTERNAL");
  assert.equal(kindOfGrpcStatus(99), "UNKNOWN");
});

Deno.test("toGrpcStatus() and fromGrpcStatus() carry code, kind, message, data, issues and retryable", () => {
  const original = new FlotillaError("OUT_OF_STOCK", "No TEA-01 left", {
    kind: "FAILED_PRECONDITION",
    data: { sku: "TEA-01", available: 0 },
    issues: [{ pointer: "/items/0/sku", message: "sold out" }],
    retryable: true,
    httpStatus: 409,
  });
  const status = toGrpcStatus(original, { traceId: "abc" });
  assert.equal(status.code, grpc.status.FAILED_PRECONDITION);
  assert.equal(status.details, "No TEA-01 left");
  const back = fromGrpcStatus(status);
  assert.ok(back instanceof FlotillaError);
  assert.equal(back.code, "OUT_OF_STOCK");
  assert.equal(back.kind, "FAILED_PRECONDITION");
  assert.equal(back.message, "No TEA-01 left");
  assert.deepEqual(back.data, { sku: "TEA-01", available: 0 });
  assert.deepEqual(back.issues, [{ pointer: "/items/0/sku", message: "sold out" }]);
  assert.equal(back.retryable, true);
  assert.equal(back.httpStatus, 409);
});

Deno.test("toGrpcStatus() hides unknown errors behind INTERNAL", () => {
  const status = toGrpcStatus(new Error("password=hunter2"));
  assert.equal(status.code, grpc.status.INTERNAL);
  assert.equal(status.details, "Internal error");
  assert.equal(fromGrpcStatus(status)?.code, "INTERNAL");
  assert.equal(
    toGrpcStatus(new NotFoundError("ORDER_NOT_FOUND", "no")).code,
    grpc.status.NOT_FOUND,
  );
  assert.equal(toGrpcStatus(new ValidationError([])).code, grpc.status.INVALID_ARGUMENT);
});

Deno.test("fromGrpcStatus() gives undefined for a status without Flotilla details", () => {
  assert.equal(
    fromGrpcStatus({ code: 14, details: "down", metadata: new grpc.Metadata() }),
    undefined,
  );
  const garbage = new grpc.Metadata();
  garbage.set("grpc-status-details-bin", Buffer.from([0xff, 0xff]));
  assert.equal(fromGrpcStatus({ code: 13, details: "x", metadata: garbage }), undefined);
});

Deno.test("pointerOf() turns a field path back into a JSON Pointer", () => {
  assert.equal(pointerOf("items[0].sku"), "/items/0/sku");
  assert.equal(pointerOf("orderId"), "/orderId");
  assert.equal(pointerOf("(body)"), "");
  assert.equal(pointerOf(""), "");
});
