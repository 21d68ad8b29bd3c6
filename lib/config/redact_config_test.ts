import assert from "node:assert/strict";
import { redactConfig } from "./redact_config.ts";

Deno.test("redactConfig() hides marked paths, secret-looking keys and URL passwords", () => {
  const shown = redactConfig({
    db: { url: "postgres://app:hunter2@db/shop", password: "hunter2", pool: 4 },
    stripe: { key: "sk_live_1" },
    peers: { payment: { token: "t1" }, inventory: { token: "" } },
    nested: { deep: { apiKey: "k" } },
    list: [{ secret: "s" }],
  }, { secrets: ["stripe.key"] });
  assert.deepEqual(shown, {
    db: { url: "postgres://app:***@db/shop", password: "***", pool: 4 },
    stripe: { key: "***" },
    peers: { payment: { token: "***" }, inventory: { token: "" } },
    nested: { deep: { apiKey: "***" } },
    list: [{ secret: "***" }],
  });
});

Deno.test("redactConfig() matches * and ** path patterns", () => {
  const shown = redactConfig(
    { a: { x: { pin: 1 }, y: { pin: 2 } }, b: { c: { d: { pin: 3 } } }, pin: 4 },
    { secrets: ["a.*.pin", "b.**.pin"], secretKeys: /^never$/ },
  );
  assert.deepEqual(shown, {
    a: { x: { pin: "***" }, y: { pin: "***" } },
    b: { c: { d: { pin: "***" } } },
    pin: 4,
  });
});
