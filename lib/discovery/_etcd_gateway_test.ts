import assert from "node:assert/strict";
import { fromBase64, isLeaseNotFound, prefixRangeEnd, toBase64 } from "./_etcd_gateway.ts";
import { registryUnavailable } from "./errors.ts";

Deno.test("toBase64() and fromBase64() round-trip UTF-8", () => {
  assert.equal(toBase64("/p/a/1"), "L3AvYS8x");
  assert.equal(fromBase64(toBase64("/services/zahlung-ü/1")), "/services/zahlung-ü/1");
});

Deno.test("prefixRangeEnd() is the prefix with its last byte incremented", () => {
  assert.equal(
    fromBase64(prefixRangeEnd("/flotilla/services/payment/")),
    "/flotilla/services/payment0",
  );
  assert.equal(prefixRangeEnd("a\u00ff"), toBase64(new Uint8Array([0x61, 0xc3, 0xc0])));
});

Deno.test("isLeaseNotFound() recognises etcd's message", () => {
  assert.equal(
    isLeaseNotFound(registryUnavailable("etcd", "x", {
      data: { etcdMessage: "etcdserver: requested lease not found" },
    })),
    true,
  );
  assert.equal(isLeaseNotFound(registryUnavailable("etcd", "x")), false);
  assert.equal(isLeaseNotFound(new Error("requested lease not found")), false);
});
