import assert from "node:assert/strict";
import { z } from "zod";
import { startEtcd, waitFor } from "@flotilla/testing";
import { toBase64 } from "@flotilla/discovery/etcd-gateway";
import { type ConfigSnapshot, ConfigStore } from "./config_store.ts";
import { EtcdConfigSource } from "./etcd_config_source.ts";

const schema = z.object({
  pool: z.object({ size: z.number().int().min(1), idleMs: z.number().int() }),
  feature: z.object({ checkout: z.boolean() }),
});
type Config = z.infer<typeof schema>;

/** A prefix of its own for each test, so tests on one etcd do not see each other. */
function uniquePrefix(): string {
  return `/flotilla-test/config/${crypto.randomUUID()}/`;
}

async function gateway(endpoint: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${endpoint}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  assert.ok(response.ok, `${path}: ${response.status}`);
  await response.body?.cancel();
}

function put(endpoint: string, key: string, value: string): Promise<void> {
  return gateway(endpoint, "/v3/kv/put", { key: toBase64(key), value: toBase64(value) });
}

/** Puts every pair in one etcd transaction: one revision. */
function putAll(endpoint: string, pairs: Record<string, string>): Promise<void> {
  return gateway(endpoint, "/v3/kv/txn", {
    success: Object.entries(pairs).map(([key, value]) => ({
      request_put: { key: toBase64(key), value: toBase64(value) },
    })),
  });
}

Deno.test("EtcdConfigSource loads keys under a prefix and reloads on watch events from a real etcd", async () => {
  await using etcd = await startEtcd();
  const prefix = uniquePrefix();
  await putAll(etcd.endpoint, {
    [`${prefix}pool/size`]: "4",
    [`${prefix}pool/idleMs`]: "1000",
    [`${prefix}feature/checkout`]: "true",
    [`/flotilla-test/config/other/pool/size`]: "99",
  });
  await using config = await ConfigStore.open(schema, {
    source: new EtcdConfigSource({ endpoint: etcd.endpoint, prefix }),
  });
  assert.deepEqual(config.current.values, {
    pool: { size: 4, idleMs: 1000 },
    feature: { checkout: true },
  });
  assert.equal(config.current.source, `etcd://127.0.0.1:${etcd.port}${prefix}`);
  const seen: Array<ConfigSnapshot<Config>> = [];
  config.subscribe((c) => c, (_c, snapshot) => seen.push(snapshot));

  await put(etcd.endpoint, `${prefix}pool/size`, "8");
  await waitFor(() => config.current.values.pool.size === 8, { what: "size 8", timeoutMs: 10_000 });

  // Not JSON: rejected, 8 stays; an invalid value: rejected too.
  await put(etcd.endpoint, `${prefix}feature/checkout`, "yes please");
  await waitFor(() => config.stats.rejected === 1, {
    what: "bad JSON rejected",
    timeoutMs: 10_000,
  });
  await put(etcd.endpoint, `${prefix}feature/checkout`, "false");
  await waitFor(() => config.current.values.feature.checkout === false, {
    what: "checkout off",
    timeoutMs: 10_000,
  });
  await put(etcd.endpoint, `${prefix}pool/size`, "0");
  await waitFor(() => config.stats.rejected === 2, { what: "size 0 rejected", timeoutMs: 10_000 });
  assert.equal(config.current.values.pool.size, 8);
  assert.equal(config.lastError?.error.code, "INVALID_CONFIG");

  // Two keys in one transaction arrive as one version, never half-applied.
  await putAll(etcd.endpoint, { [`${prefix}pool/size`]: "16", [`${prefix}pool/idleMs`]: "16000" });
  await waitFor(() => config.current.values.pool.size === 16, { what: "txn", timeoutMs: 10_000 });
  assert.ok(seen.every((s) => (s.values.pool.size === 16) === (s.values.pool.idleMs === 16000)));
  assert.deepEqual(seen.map((s) => s.values.pool.size), [8, 8, 16]);
  assert.ok(seen.every((s) => s.revision !== undefined));
});

Deno.test("EtcdConfigSource reports an outage, keeps the config, and catches up after etcd restarts", async () => {
  await using etcd = await startEtcd();
  const prefix = uniquePrefix();
  await putAll(etcd.endpoint, {
    [`${prefix}pool/size`]: "4",
    [`${prefix}pool/idleMs`]: "1",
    [`${prefix}feature/checkout`]: "true",
  });
  await using config = await ConfigStore.open(schema, {
    source: new EtcdConfigSource({
      endpoint: etcd.endpoint,
      prefix,
      requestTimeoutMs: 1_000,
      reconnectMinMs: 50,
      reconnectMaxMs: 200,
    }),
  });
  await etcd.kill();
  await waitFor(() => config.stats.sourceErrors > 0, {
    what: "outage reported",
    timeoutMs: 10_000,
  });
  assert.equal(config.lastError?.error.code, "CONFIG_SOURCE_UNAVAILABLE");
  assert.equal(config.current.values.pool.size, 4);
  await etcd.restart();
  await put(etcd.endpoint, `${prefix}pool/size`, "6");
  await waitFor(() => config.current.values.pool.size === 6, {
    what: "caught up",
    timeoutMs: 15_000,
  });
});

Deno.test("EtcdConfigSource refuses bad options", () => {
  assert.throws(() => new EtcdConfigSource({ endpoint: "ftp://x", prefix: "/a/" }), RangeError);
  assert.throws(() => new EtcdConfigSource({ prefix: "" }), RangeError);
  assert.throws(() => new EtcdConfigSource({ prefix: "/a/", reconnectMinMs: 0 }), RangeError);
});
