import assert from "node:assert/strict";
import { z } from "zod";
import { ManualClock } from "@flotilla/core";
import { configHandler } from "./config_handler.ts";
import { ConfigStore } from "./config_store.ts";

Deno.test("configHandler() answers GET /config with the version, source and redacted values", async () => {
  const schema = z.object({
    db: z.object({ url: z.string(), password: z.string() }),
    stripe: z.object({ key: z.string() }),
    pool: z.number(),
  });
  await using config = await ConfigStore.open(schema, {
    service: "order",
    defaults: {
      db: { url: "postgres://app:hunter2@db/shop", password: "hunter2" },
      stripe: { key: "sk_live_42" },
      pool: 4,
    },
    secrets: ["stripe.key"],
    clock: new ManualClock(0),
  });
  await config.apply({ pool: -1 }, { source: "etcd://u:pw@h:2379/p/" });
  await config.apply({ pool: "x" }); // rejected: keeps version 1
  const handler = configHandler(config);
  const response = handler(new Request("http://127.0.0.1/config"));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("cache-control"), "no-store");
  const body = await response.json();
  assert.deepEqual(body, {
    service: "order",
    version: 2,
    source: "etcd://u:***@h:2379/p/",
    revision: null,
    loadedAt: "1970-01-01T00:00:00.000Z",
    values: {
      db: { url: "postgres://app:***@db/shop", password: "***" },
      stripe: { key: "***" },
      pool: -1,
    },
    stats: { accepted: 1, rejected: 1, sourceErrors: 0 },
    lastError: {
      code: "INVALID_CONFIG",
      message:
        "The configuration from apply is invalid: pool: Invalid input: expected number, received string",
      source: "apply",
      at: "1970-01-01T00:00:00.000Z",
      issues: [{ pointer: "/pool", message: "Invalid input: expected number, received string" }],
    },
  });
  assert.ok(!JSON.stringify(body).includes("hunter2") && !JSON.stringify(body).includes("sk_live"));
  const post = handler(new Request("http://127.0.0.1/config", { method: "POST" }));
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("content-type"), "application/problem+json");
  await post.body?.cancel();
});
