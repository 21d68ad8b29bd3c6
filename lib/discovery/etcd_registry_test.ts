import assert from "node:assert/strict";
import { freePort } from "@flotilla/testing";
// Until `startEtcd` is exported from @flotilla/testing's mod.ts.
import { startEtcd } from "@flotilla/testing";
import { DiscoveryError } from "./errors.ts";
import { EtcdRegistry, type EtcdRegistryOptions } from "./etcd_registry.ts";
import { fromBase64, toBase64 } from "./_etcd_gateway.ts";
import { ids, nextMatching, registration, testRegistryConformance } from "./_shared_conformance.ts";
import { startInstance, testKillAndRestart } from "./_shared_processes.ts";

/** A prefix of its own for each test, so tests on one etcd do not see each other. */
function uniquePrefix(): string {
  return `/flotilla-test/${crypto.randomUUID()}/`;
}

/** POSTs straight to etcd's gateway, for looking behind the registry's back. */
async function gateway<T>(endpoint: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${endpoint}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  return await response.json() as T;
}

interface KeyValue {
  key: string;
  value: string;
  lease?: string;
}

async function keysUnder(endpoint: string, prefix: string): Promise<KeyValue[]> {
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const { kvs } = await gateway<{ kvs?: KeyValue[] }>(endpoint, "/v3/kv/range", {
    key: toBase64(prefix),
    range_end: toBase64(end),
  });
  return (kvs ?? []).map((kv) => ({ ...kv, key: fromBase64(kv.key), value: fromBase64(kv.value) }));
}

Deno.test("EtcdRegistry conforms to the Registry port", async (t) => {
  await using etcd = await startEtcd();
  await testRegistryConformance(t, () => {
    const options: EtcdRegistryOptions = { endpoint: etcd.endpoint, prefix: uniquePrefix() };
    const registry = new EtcdRegistry(options);
    return Promise.resolve({
      registry,
      ttlMs: 1_000,
      advance: undefined,
      async registerThenCrash(r) {
        const peer = new EtcdRegistry(options);
        await peer.register(r);
        await peer[Symbol.asyncDispose](); // stops the keep-alive, leaves the lease to expire
      },
      openPeer: () => Promise.resolve(new EtcdRegistry(options)),
      [Symbol.asyncDispose]: () => registry[Symbol.asyncDispose](),
    });
  });
});

Deno.test("EtcdRegistry puts <prefix><service>/<id> as JSON on a lease, and deregister() revokes it", async () => {
  await using etcd = await startEtcd();
  const prefix = uniquePrefix();
  await using registry = new EtcdRegistry({ endpoint: etcd.endpoint, prefix, ttlMs: 4_500 });
  const handle = await registry.register(registration("payment", { id: "payment-1" }));
  const [kv, ...rest] = await keysUnder(etcd.endpoint, prefix);
  assert.equal(rest.length, 0);
  assert.equal(kv?.key, `${prefix}payment/payment-1`);
  assert.deepEqual(JSON.parse(kv!.value), handle.instance);
  const lease = kv!.lease!;
  const { TTL, grantedTTL } = await gateway<{ TTL: string; grantedTTL: string }>(
    etcd.endpoint,
    "/v3/lease/timetolive",
    { ID: lease },
  );
  assert.equal(grantedTTL, "5", "4.5 s rounds up to 5 s");
  assert.ok(Number(TTL) > 0);
  await handle.deregister();
  assert.deepEqual(await keysUnder(etcd.endpoint, prefix), []);
  const after = await gateway<{ TTL: string }>(etcd.endpoint, "/v3/lease/timetolive", {
    ID: lease,
  });
  assert.equal(after.TTL, "-1", "the lease is revoked");
});

Deno.test("EtcdRegistry keeps a registration alive past its TTL", async () => {
  await using etcd = await startEtcd();
  await using registry = new EtcdRegistry({ endpoint: etcd.endpoint, prefix: uniquePrefix() });
  await using handle = await registry.register(registration("payment", { ttlMs: 1_000 }));
  const { ID } = await gateway<{ ID: string }>(etcd.endpoint, "/v3/lease/grant", { TTL: 2 });
  // A reference lease granted now with the same TTL (etcd's 2 s minimum) and never renewed:
  // once it has expired, an unrenewed registration would have expired too.
  await pollUntilAsync(
    async () =>
      (await gateway<{ TTL: string }>(etcd.endpoint, "/v3/lease/timetolive", { ID })).TTL === "-1",
    "the reference lease to expire",
  );
  assert.deepEqual(ids(await registry.instances("payment")), [handle.instance.id]);
});

Deno.test("EtcdRegistry grants a new lease and puts the key again when its lease is lost", async () => {
  await using etcd = await startEtcd();
  const prefix = uniquePrefix();
  await using registry = new EtcdRegistry({ endpoint: etcd.endpoint, prefix });
  await using handle = await registry.register(registration("payment", { ttlMs: 600 }));
  const [before] = await keysUnder(etcd.endpoint, prefix);
  // Someone (or an expiry while this process was frozen) revokes the lease: the key goes with it.
  await gateway(etcd.endpoint, "/v3/lease/revoke", { ID: before!.lease });
  const after = await waitForKey(etcd.endpoint, prefix, (kv) => kv.lease !== before!.lease);
  assert.deepEqual(JSON.parse(after.value), handle.instance);
});

async function waitForKey(
  endpoint: string,
  prefix: string,
  predicate: (kv: KeyValue) => boolean,
): Promise<KeyValue> {
  const giveUpAt = Date.now() + 30_000;
  while (true) {
    const [kv] = await keysUnder(endpoint, prefix);
    if (kv !== undefined && predicate(kv)) return kv;
    if (Date.now() > giveUpAt) throw new Error("Gave up waiting for the key");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

Deno.test("EtcdRegistry.watch() reconnects after etcd restarts and catches up on what it missed", async () => {
  await using etcd = await startEtcd();
  const prefix = uniquePrefix();
  const errors: DiscoveryError[] = [];
  await using watcher = new EtcdRegistry({
    endpoint: etcd.endpoint,
    prefix,
    // Long enough that the writes below most likely land while the watch is disconnected.
    reconnectMinMs: 1_000,
    reconnectMaxMs: 1_000,
    onError: (error) => errors.push(error),
  });
  await using writer = new EtcdRegistry({ endpoint: etcd.endpoint, prefix });
  const first = await writer.register(registration("payment", { id: "payment-a", ttlMs: 60_000 }));
  const iterator = watcher.watch("payment")[Symbol.asyncIterator]();
  await nextMatching(iterator, (l) => ids(l).join() === "payment-a", "the first list");

  // The watch is pulled (a pending next()) while etcd goes down and comes back.
  const caughtUp = nextMatching(
    iterator,
    (l) => ids(l).join() === "payment-b",
    "the change made after the restart",
  );
  await etcd.kill();
  await pollUntil(() => errors.length >= 2, "the watch to fail to reconnect");
  await etcd.restart();
  // Changes the broken stream could not see: the watch reads the keys again after reconnecting.
  await first.deregister();
  await using _b = await writer.register(registration("payment", { id: "payment-b" }));
  await caughtUp;
  assert.ok(errors.every((e) => e.code === "REGISTRY_UNAVAILABLE" && e.retryable));
  await iterator.return?.();
});

function pollUntil(condition: () => boolean, what: string): Promise<void> {
  return pollUntilAsync(() => Promise.resolve(condition()), what);
}

async function pollUntilAsync(condition: () => Promise<boolean>, what: string): Promise<void> {
  const giveUpAt = Date.now() + 30_000;
  while (!await condition()) {
    if (Date.now() > giveUpAt) throw new Error(`Gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("EtcdRegistry reports an unreachable etcd as REGISTRY_UNAVAILABLE", async () => {
  await using registry = new EtcdRegistry({
    endpoint: `http://127.0.0.1:${freePort()}`,
    requestTimeoutMs: 2_000,
  });
  const unavailable = (error: unknown) =>
    error instanceof DiscoveryError && error.code === "REGISTRY_UNAVAILABLE" &&
    error.kind === "UNAVAILABLE" && error.retryable && error.data?.registry === "etcd";
  await assert.rejects(() => registry.instances("payment"), unavailable);
  await assert.rejects(() => registry.register(registration("payment")), unavailable);
});

Deno.test("EtcdRegistry rejects invalid options with a RangeError", () => {
  assert.throws(
    () => new EtcdRegistry({ endpoint: "ftp://127.0.0.1:2379" }),
    /Cannot create the etcd registry as 'endpoint' must be an http\(s\) URL: current value is "ftp:\/\/127.0.0.1:2379"/,
  );
  assert.throws(() => new EtcdRegistry({ ttlMs: 0 }), /'ttlMs' must be a positive integer/);
  assert.throws(
    () => new EtcdRegistry({ reconnectMinMs: 500, reconnectMaxMs: 100 }),
    /'reconnectMaxMs' must be >= 'reconnectMinMs'/,
  );
  assert.throws(() => new EtcdRegistry({ prefix: "" }), /'prefix' must be a non-empty string/);
});

Deno.test("EtcdRegistry reaches a loopback etcd even when HTTP_PROXY points elsewhere", async () => {
  await using etcd = await startEtcd();
  const prefix = "/flotilla/services/"; // the fixture process uses the default prefix
  await using registry = new EtcdRegistry({ endpoint: etcd.endpoint, prefix });
  const port = etcd.endpoint.split(":").at(-1);
  await using instance = await startInstance(
    {
      registryUrl: `etcd://127.0.0.1:${port}`,
      ttlMs: 5_000,
      env: { HTTP_PROXY: "http://127.0.0.1:9", http_proxy: "http://127.0.0.1:9", NO_PROXY: "" },
    },
    "payment",
    "payment-1",
  );
  assert.deepEqual(
    (await registry.instances("payment")).map((i) => [i.id, i.port]),
    [["payment-1", instance.port]],
  );
});

Deno.test("EtcdRegistry: three instances, one SIGKILLed disappears and comes back when restarted", async () => {
  await using etcd = await startEtcd();
  await using registry = new EtcdRegistry({ endpoint: etcd.endpoint });
  await testKillAndRestart(registry, {
    registryUrl: `etcd://${new URL(etcd.endpoint).host}`,
    ttlMs: 2_000,
  });
});
