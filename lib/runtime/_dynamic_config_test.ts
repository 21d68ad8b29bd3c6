import assert from "node:assert/strict";
import { z } from "zod";
import {
  createContext,
  defineContract,
  defineService,
  type FlotillaError,
  Logger,
  MemorySink,
} from "@flotilla/core";
import { MemoryConfigSource } from "@flotilla/config";
import type { PolicyConfig } from "@flotilla/resilience";
import { openDynamicConfig, tokenGuard } from "./_dynamic_config.ts";

async function open(source: MemoryConfigSource, token?: string) {
  const sink = new MemorySink();
  const logger = new Logger({ level: "info", sink });
  const config = await openDynamicConfig({
    service: "order",
    config: "file",
    dataDir: undefined,
    token,
    defaults: { logLevel: "info", policies: { defaults: { timeoutMs: 5_000 } } },
    logger,
    source,
  });
  return { config, logger, sink };
}

Deno.test("openDynamicConfig() layers the source over the environment's level and policies", async () => {
  const source = new MemoryConfigSource({ policies: { peers: { payment: { timeoutMs: 900 } } } });
  const { config } = await open(source);
  await using _ = config;
  assert.deepEqual(config.store.current.values.policies, {
    defaults: { timeoutMs: 5_000 },
    peers: { payment: { timeoutMs: 900 } },
  });
  assert.equal(config.store.current.values.logLevel, "info");
  assert.equal(config.chaos.enabled, false);
});

Deno.test("openDynamicConfig() hot-reloads the log level, the policies and the chaos rules", async () => {
  const source = new MemoryConfigSource({});
  const { config, logger } = await open(source);
  await using _ = config;
  const applied: PolicyConfig[] = [];
  config.followPolicies((policies) => applied.push(policies));
  await config.store.apply({
    logLevel: "debug",
    policies: { peers: { payment: { timeoutMs: 700 } } },
    chaos: {
      enabled: true,
      rules: [{ id: "down", peer: "payment", fault: { type: "error", code: "UNAVAILABLE" } }],
    },
  });
  assert.equal(logger.level, "debug");
  assert.deepEqual(applied, [{
    defaults: { timeoutMs: 5_000 },
    peers: { payment: { timeoutMs: 700 } },
  }]);
  assert.equal(config.chaos.enabled, true);
  assert.equal(config.chaos.plan({ side: "client", peer: "payment" }).terminal?.rule, "down");
  await config.store.apply({});
  assert.equal(logger.level, "info", "back to FLOTILLA_LOG_LEVEL");
  assert.equal(config.chaos.enabled, false);
});

Deno.test("openDynamicConfig() rejects invalid policies, log levels and rules; the version stays", async () => {
  const source = new MemoryConfigSource({});
  const { config } = await open(source);
  await using _ = config;
  const outcome = await config.store.apply({
    logLevel: "loud",
    policies: { defaults: { timeoutMs: -1 } },
    chaos: { rules: [{ id: "x", fault: { type: "nope" } }] },
  });
  assert.equal(outcome.type, "rejected");
  const pointers = outcome.type === "rejected" ? outcome.error.issues.map((i) => i.pointer) : [];
  assert.ok(pointers.includes("/logLevel"), pointers.join());
  assert.ok(pointers.some((p) => p.startsWith("/policies/defaults/timeoutMs")), pointers.join());
  assert.ok(pointers.some((p) => p.startsWith("/chaos/rules/0")), pointers.join());
  assert.equal(config.store.current.version, 1);
  assert.equal(config.store.describe().lastError?.code, "INVALID_CONFIG");
});

Deno.test("openDynamicConfig() wraps a transport with the client-side chaos rules", async () => {
  const source = new MemoryConfigSource({
    chaos: {
      enabled: true,
      rules: [{ id: "slow-2", instance: "p-2", fault: { type: "error", status: 503 } }],
    },
  });
  const { config } = await open(source);
  await using _ = config;
  const sent: string[] = [];
  const transport = config.transport((endpoint) => {
    sent.push(endpoint.id);
    return Promise.resolve("ok");
  });
  const call = { service: "payment", action: "charge", signal: new AbortController().signal };
  const endpoint = (id: string) => ({ id, url: "http://x", metadata: {} });
  assert.equal(await transport(endpoint("p-1") as never, call as never), "ok");
  await assert.rejects(() => transport(endpoint("p-2") as never, call as never), /slow-2/);
  assert.deepEqual(sent, ["p-1"]);
});

Deno.test("tokenGuard() serves GET /config to the token's holder only", async () => {
  const inner = () => new Response("{}", { status: 200 });
  const closed = tokenGuard(undefined, inner);
  assert.equal(closed(new Request("http://x/config")).status, 404);
  const guarded = tokenGuard("s3cret", inner);
  const anonymous = guarded(new Request("http://x/config"));
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).code, "UNAUTHENTICATED");
  assert.equal(
    guarded(new Request("http://x/config", { headers: { authorization: "Bearer wrong!" } })).status,
    401,
  );
  assert.equal(
    guarded(new Request("http://x/config", { headers: { authorization: "Bearer s3cret" } })).status,
    200,
  );
});

Deno.test("openDynamicConfig() limits a service's inbound rate as rateLimit says, hot", async () => {
  const source = new MemoryConfigSource({});
  const { config } = await open(source);
  await using _ = config;
  const contract = defineContract({
    name: "order",
    version: "1.0.0",
    actions: { ping: { input: z.object({}), output: z.object({ ok: z.boolean() }) } },
  });
  let ran = 0;
  const service = config.rateLimited(defineService(contract, {
    ping: () => (ran++, { ok: true }),
  }));
  using ctx = createContext({ service: "order", action: "ping" });
  const ping = async () => {
    try {
      await service.handlers.ping({}, ctx);
      return "ok";
    } catch (error) {
      return (error as FlotillaError).code;
    }
  };
  assert.deepEqual(await Promise.all([1, 2, 3].map(ping)), ["ok", "ok", "ok"], "no limit yet");

  await config.store.apply({ rateLimit: { ratePerSecond: 0.001, burst: 2 } });
  assert.deepEqual(await Promise.all([1, 2, 3].map(ping)), ["ok", "ok", "RATE_LIMITED"]);
  assert.equal(ran, 5, "a refused call never reaches its handler");

  const refused = await config.store.apply({ rateLimit: { ratePerSecond: -1 } });
  assert.equal(refused.type, "rejected");
  assert.equal(await ping(), "RATE_LIMITED", "an invalid limit leaves the one in force");

  await config.store.apply({});
  assert.equal(await ping(), "ok", "lifted");
});
