import assert from "node:assert/strict";
import { FlotillaError, toProblem } from "@flotilla/core";
import {
  DiscoveryError,
  invalidRegistryUrl,
  registrationUnsupported,
  registryUnavailable,
} from "./errors.ts";

Deno.test("DiscoveryError derives kind, status and retryable from its code", () => {
  const cases = [
    ["REGISTRY_UNAVAILABLE", "UNAVAILABLE", 503, true],
    ["REGISTRATION_UNSUPPORTED", "UNIMPLEMENTED", 501, false],
    ["INVALID_REGISTRY_URL", "INVALID_ARGUMENT", 400, false],
  ] as const;
  for (const [code, kind, status, retryable] of cases) {
    const error = new DiscoveryError(code, "message");
    assert.ok(error instanceof FlotillaError);
    assert.equal(error.name, "DiscoveryError");
    assert.equal(error.code, code);
    assert.equal(error.kind, kind);
    assert.equal(error.httpStatus, status);
    assert.equal(error.retryable, retryable);
  }
});

Deno.test("registryUnavailable() names the registry and keeps the cause", () => {
  const cause = new TypeError("connection refused");
  const error = registryUnavailable("etcd", "Cannot reach etcd", {
    cause,
    data: { endpoint: "http://127.0.0.1:2379" },
  });
  assert.equal(error.code, "REGISTRY_UNAVAILABLE");
  assert.equal(error.message, "Cannot reach etcd");
  assert.equal(error.cause, cause);
  assert.deepEqual(error.data, { registry: "etcd", endpoint: "http://127.0.0.1:2379" });
});

Deno.test("registrationUnsupported() says which registry is read-only", () => {
  const error = registrationUnsupported("static");
  assert.equal(error.code, "REGISTRATION_UNSUPPORTED");
  assert.equal(
    error.message,
    "Cannot register an instance with the 'static' registry: it is read-only",
  );
  assert.deepEqual(error.data, { registry: "static" });
});

Deno.test("invalidRegistryUrl() names the value and the reason", () => {
  const error = invalidRegistryUrl("zk://h:1", "unknown scheme");
  assert.equal(error.code, "INVALID_REGISTRY_URL");
  assert.equal(
    error.message,
    "Cannot open a registry as 'zk://h:1' is not a valid registry URL: unknown scheme",
  );
  assert.deepEqual(error.data, { value: "zk://h:1" });
  assert.equal(
    invalidRegistryUrl("x").message,
    "Cannot open a registry as 'x' is not a valid registry URL",
  );
});

Deno.test("DiscoveryError has a problem+json wire form", () => {
  const problem = toProblem(registryUnavailable("local", "Cannot read the local registry"));
  assert.equal(problem.code, "REGISTRY_UNAVAILABLE");
  assert.equal(problem.status, 503);
  assert.equal(problem.retryable, true);
});
