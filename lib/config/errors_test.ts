import assert from "node:assert/strict";
import { FlotillaError } from "@flotilla/core";
import { ConfigError } from "./errors.ts";

Deno.test("ConfigError derives kind and retryable from its code", () => {
  const invalid = new ConfigError("INVALID_CONFIG", "bad", {
    issues: [{ pointer: "/port", message: "Expected number" }],
  });
  assert.ok(invalid instanceof FlotillaError);
  assert.equal(invalid.kind, "INVALID_ARGUMENT");
  assert.equal(invalid.retryable, false);
  assert.equal(invalid.issues.length, 1);
  const down = new ConfigError("CONFIG_SOURCE_UNAVAILABLE", "etcd down", { data: { source: "x" } });
  assert.equal(down.kind, "UNAVAILABLE");
  assert.equal(down.retryable, true);
  assert.deepEqual(down.data, { source: "x" });
  assert.equal(new ConfigError("CONFIG_VETOED", "no").httpStatus, 422);
});
