import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import { DiscoveryError } from "./errors.ts";
import { EtcdRegistry } from "./etcd_registry.ts";
import { LocalRegistry } from "./local_registry.ts";
import { openRegistry, parseRegistryUrl } from "./open_registry.ts";
import { StaticRegistry } from "./static_registry.ts";

Deno.test("parseRegistryUrl() reads every FLOTILLA_REGISTRY form", () => {
  assert.deepEqual(parseRegistryUrl("local"), { type: "local" });
  assert.deepEqual(parseRegistryUrl(" static "), { type: "static" });
  assert.deepEqual(parseRegistryUrl("etcd://10.0.0.2:2379"), {
    type: "etcd",
    endpoint: "http://10.0.0.2:2379",
  });
  assert.deepEqual(parseRegistryUrl("etcd://etcd.internal"), {
    type: "etcd",
    endpoint: "http://etcd.internal:2379",
  });
  assert.deepEqual(parseRegistryUrl("etcd://[::1]:23790/"), {
    type: "etcd",
    endpoint: "http://[::1]:23790",
  });
  assert.deepEqual(parseRegistryUrl("consul://127.0.0.1:8500"), {
    type: "consul",
    endpoint: "http://127.0.0.1:8500",
  });
  assert.deepEqual(parseRegistryUrl("consul://consul"), {
    type: "consul",
    endpoint: "http://consul:8500",
  });
  assert.deepEqual(parseRegistryUrl("dns://127.0.0.1:5353"), {
    type: "dns",
    nameServer: { ipAddr: "127.0.0.1", port: 5353 },
  });
  assert.deepEqual(
    parseRegistryUrl("dns://10.96.0.10?domain=svc.cluster.local.&port=http&proto=tcp"),
    {
      type: "dns",
      nameServer: { ipAddr: "10.96.0.10", port: 53 },
      domain: "svc.cluster.local",
      portName: "http",
      protocol: "tcp",
    },
  );
  assert.deepEqual(parseRegistryUrl("dns://[::1]:53"), {
    type: "dns",
    nameServer: { ipAddr: "::1", port: 53 },
  });
});

Deno.test("parseRegistryUrl() rejects anything else with INVALID_REGISTRY_URL naming the value", () => {
  const invalid = [
    "",
    "Local",
    "sqlite",
    "zookeeper://h:2181",
    "etcd://",
    "etcd://h:2379/v3",
    "etcd://user:secret@h:2379",
    "etcd://h:2379?prefix=/x",
    "etcd://h:99999",
    "dns://resolver.local:53",
    "dns://999.1.1.1",
    "dns://127.0.0.1?zone=x",
    "dns://127.0.0.1?proto=sctp",
  ];
  for (const value of invalid) {
    assert.throws(
      () => parseRegistryUrl(value),
      (error) =>
        error instanceof DiscoveryError && error.code === "INVALID_REGISTRY_URL" &&
        error.message.includes(`'${value}'`) && error.data?.value === value,
      value,
    );
  }
});

Deno.test("openRegistry() opens a local registry in localDir, and needs one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-open-" });
  try {
    const clock = new ManualClock(0);
    await using registry = await openRegistry("local", { localDir: dir, clock });
    assert.ok(registry instanceof LocalRegistry);
    assert.equal(registry.kind, "local");
    await assert.rejects(
      () => openRegistry("local"),
      /Cannot open the local registry as 'localDir' \(FLOTILLA_REGISTRY_DIR\) must be set: current value is undefined/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openRegistry() opens a static registry of the given peers", async () => {
  await using registry = await openRegistry("static", {
    staticPeers: { payment: ["http://127.0.0.1:7001,http://127.0.0.1:7002"] },
  });
  assert.ok(registry instanceof StaticRegistry);
  assert.equal((await registry.instances("payment")).length, 2);
  await using empty = await openRegistry("static");
  assert.deepEqual(await empty.instances("payment"), []);
});

Deno.test("openRegistry() opens an etcd registry on the URL's endpoint", async () => {
  await using registry = await openRegistry("etcd://127.0.0.1:2379", {
    etcdPrefix: "/x/",
    ttlMs: 3_000,
  });
  assert.ok(registry instanceof EtcdRegistry);
  assert.equal(registry.endpoint, "http://127.0.0.1:2379");
  assert.equal(registry.prefix, "/x/");
});

Deno.test("openRegistry() accepts an already parsed URL", async () => {
  await using registry = await openRegistry({ type: "etcd", endpoint: "http://10.1.2.3:2379" });
  assert.equal(registry.kind, "etcd");
});

Deno.test("openRegistry() loads the DNS adapter only when asked, with the URL's settings", async () => {
  await using registry = await openRegistry(
    "dns://127.0.0.1:5353?domain=svc.cluster.local&port=http&proto=tcp",
  );
  assert.equal(registry.kind, "dns");
});

Deno.test("openRegistry() loads the Consul adapter only when asked", async () => {
  await using registry = await openRegistry("consul://127.0.0.1:8500");
  assert.equal(registry.kind, "consul");
});

Deno.test("openRegistry() rejects an invalid URL", async () => {
  await assert.rejects(
    () => openRegistry("redis://h:6379"),
    (error) => error instanceof DiscoveryError && error.code === "INVALID_REGISTRY_URL",
  );
});
