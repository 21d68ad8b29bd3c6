import assert from "node:assert/strict";
import { validate } from "@flotilla/core";
import { runtimeConfigSchema } from "./runtime_config.ts";

Deno.test("runtimeConfigSchema checks logLevel, policies and featureFlags, and keeps other keys", async () => {
  const ok = await validate(runtimeConfigSchema, {
    logLevel: "warn",
    policies: { peers: { payment: { timeoutMs: 500 } } },
    featureFlags: { newCheckout: true },
    pool: 4,
  });
  assert.deepEqual(ok.issues, undefined);
  assert.deepEqual((ok as { value: unknown }).value, {
    logLevel: "warn",
    policies: { peers: { payment: { timeoutMs: 500 } } },
    featureFlags: { newCheckout: true },
    pool: 4,
  });
  const bad = await validate(runtimeConfigSchema, {
    logLevel: "loud",
    policies: { peers: { payment: { retry: { maxAttempts: 0 } } } },
    featureFlags: { x: "yes" },
  });
  const paths = (bad.issues ?? []).map((issue) => issue.path?.map(String).join("/"));
  assert.ok(paths.includes("logLevel"), paths.join());
  assert.ok(paths.some((p) => p?.startsWith("policies/peers/payment/retry")), paths.join());
  assert.ok(paths.includes("featureFlags/x"), paths.join());
});
