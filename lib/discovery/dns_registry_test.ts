/**
 * Tests of {@linkcode DnsRegistry} against a real dnsmasq started on a free
 * port of 127.0.0.1 (`lib/testing/dnsmasq.ts`). Changing records restarts
 * dnsmasq on the same port: it does not reload `--srv-host` on SIGHUP.
 *
 * @module
 */

import assert from "node:assert/strict";
import { waitFor } from "@flotilla/testing";
import { Dnsmasq, type DnsmasqRecords } from "@flotilla/testing";
import { DnsRegistry } from "./dns_registry.ts";
import { DiscoveryError } from "./errors.ts";
import type { ServiceInstance } from "./registry.ts";

const SRV = "_http._tcp.payment.shop.local";

const RECORDS: DnsmasqRecords = {
  srv: [
    { name: SRV, target: "pay-2.shop.local", port: 7002, priority: 1, weight: 5 },
    { name: SRV, target: "pay-1.shop.local", port: 7001, priority: 0, weight: 10 },
    { name: SRV, target: "127.0.0.9", port: 7009, priority: 0, weight: 20 },
    { name: SRV, target: "pay-6.shop.local", port: 7006, priority: 2, weight: 1 },
    // A target without A/AAAA records: skipped.
    { name: SRV, target: "gone.shop.local", port: 7000, priority: 0, weight: 1 },
    { name: "_grpc._tcp.payment.shop.local", target: "pay-1.shop.local", port: 9001 },
    { name: "_http._udp.payment.prod.example", target: "pay-2.shop.local", port: 8002 },
  ],
  hosts: [
    { name: "pay-1.shop.local", ipv4: "127.0.0.1", ipv6: "::1" },
    { name: "pay-2.shop.local", ipv4: "127.0.0.2" },
    { name: "pay-6.shop.local", ipv6: "::1" },
  ],
};

function start(records: DnsmasqRecords = RECORDS): Promise<Dnsmasq> {
  return Dnsmasq.start(records, { localDomains: ["shop.local"], ttlSeconds: 1 });
}

/** Runs a watch in the background, keeping every list it yields. */
function collect(iterable: AsyncIterable<ServiceInstance[]>) {
  const lists: ServiceInstance[][] = [];
  const done = (async () => {
    for await (const list of iterable) lists.push(list);
  })();
  return {
    lists,
    done,
    /** The ids of the latest list, joined, once there is one. */
    latest: () => lists.at(-1)?.map((i) => i.id).join(" "),
  };
}

Deno.test("DnsRegistry.instances() resolves SRV targets and sorts them by priority, then weight", async () => {
  await using dns = await start();
  await using registry = new DnsRegistry({ nameServer: dns.nameServer, domain: "shop.local" });
  assert.deepEqual(await registry.instances("payment"), [
    {
      service: "payment",
      id: "127.0.0.9:7009",
      address: "127.0.0.9",
      port: 7009,
      metadata: { priority: "0", weight: "20", target: "127.0.0.9" },
    },
    {
      service: "payment",
      id: "pay-1.shop.local:7001",
      address: "127.0.0.1",
      port: 7001,
      metadata: { priority: "0", weight: "10", target: "pay-1.shop.local" },
    },
    {
      service: "payment",
      id: "pay-2.shop.local:7002",
      address: "127.0.0.2",
      port: 7002,
      metadata: { priority: "1", weight: "5", target: "pay-2.shop.local" },
    },
    {
      service: "payment",
      id: "pay-6.shop.local:7006",
      address: "::1",
      port: 7006,
      metadata: { priority: "2", weight: "1", target: "pay-6.shop.local" },
    },
  ]);
});

Deno.test("DnsRegistry.instances() returns [] for a name that does not exist or has no SRV records", async () => {
  await using dns = await start();
  await using registry = new DnsRegistry({ nameServer: dns.nameServer, domain: "shop.local" });
  assert.deepEqual(await registry.instances("inventory"), []); // NXDOMAIN
  await using hosts = new DnsRegistry({
    nameServer: dns.nameServer,
    name: (service) => `${service}.shop.local`, // exists, but only with A records
  });
  assert.deepEqual(await hosts.instances("pay-1"), []);
});

Deno.test("DnsRegistry builds the SRV name from portName, protocol and domain, or from name()", async () => {
  await using dns = await start();
  await using grpc = new DnsRegistry({
    nameServer: dns.nameServer,
    domain: "shop.local.",
    portName: "grpc",
    metadata: { protocol: "grpc" },
  });
  assert.deepEqual(await grpc.instances("payment"), [{
    service: "payment",
    id: "pay-1.shop.local:9001",
    address: "127.0.0.1",
    port: 9001,
    metadata: { protocol: "grpc", priority: "0", weight: "0", target: "pay-1.shop.local" },
  }]);
  await using udp = new DnsRegistry({
    nameServer: dns.nameServer,
    protocol: "udp",
    domain: "prod.example",
  });
  assert.deepEqual((await udp.instances("payment")).map((i) => i.id), ["pay-2.shop.local:8002"]);
  await using custom = new DnsRegistry({
    nameServer: dns.nameServer,
    name: (service) => `_grpc._tcp.${service}.shop.local`,
  });
  assert.deepEqual((await custom.instances("payment")).map((i) => i.id), [
    "pay-1.shop.local:9001",
  ]);
});

Deno.test("DnsRegistry with resolveTargets: false uses the target host name as the address", async () => {
  await using dns = await start();
  await using registry = new DnsRegistry({
    nameServer: dns.nameServer,
    domain: "shop.local",
    portName: "grpc",
    resolveTargets: false,
  });
  const [instance] = await registry.instances("payment");
  assert.equal(instance?.address, "pay-1.shop.local");
});

Deno.test("DnsRegistry.register() rejects with REGISTRATION_UNSUPPORTED", async () => {
  await using registry = new DnsRegistry({ nameServer: { ipAddr: "127.0.0.1", port: 53 } });
  await assert.rejects(
    registry.register({
      service: "payment",
      id: "p1",
      address: "127.0.0.1",
      port: 7001,
      metadata: {},
    }),
    (error) =>
      error instanceof DiscoveryError && error.code === "REGISTRATION_UNSUPPORTED" &&
      !error.retryable,
  );
});

Deno.test("DnsRegistry.instances() fails with REGISTRY_UNAVAILABLE when the name server does not answer", async () => {
  await using dns = await start();
  dns.pause();
  await using registry = new DnsRegistry({
    nameServer: dns.nameServer,
    domain: "shop.local",
    timeoutMs: 200,
  });
  await assert.rejects(
    registry.instances("payment"),
    (error) =>
      error instanceof DiscoveryError && error.code === "REGISTRY_UNAVAILABLE" &&
      error.retryable && /no answer within 200 ms/.test(error.message),
  );
  dns.resume();
});

Deno.test("DnsRegistry.instances() rejects with the abort reason when its signal aborts", async () => {
  await using dns = await start();
  dns.pause();
  await using registry = new DnsRegistry({ nameServer: dns.nameServer, domain: "shop.local" });
  const controller = new AbortController();
  const pending = registry.instances("payment", { signal: controller.signal });
  controller.abort(new Error("caller gave up"));
  await assert.rejects(pending, { message: "caller gave up" });
  await assert.rejects(
    registry.instances("payment", { signal: AbortSignal.abort() }),
    { name: "AbortError" },
  );
  dns.resume();
});

Deno.test("DnsRegistry rejects bad options with a RangeError naming them", () => {
  assert.throws(
    () => new DnsRegistry({ nameServer: { ipAddr: "dns.local" } }),
    new RangeError(
      `Cannot create the DNS registry as 'nameServer.ipAddr' must be an IP address: current value is "dns.local"`,
    ),
  );
  assert.throws(
    () => new DnsRegistry({ nameServer: { ipAddr: "127.0.0.1", port: 70_000 } }),
    /'nameServer.port' must be an integer between 1 and 65535: current value is 70000/,
  );
  assert.throws(() => new DnsRegistry({ portName: "_http" }), /'portName' must be a DNS label/);
  assert.throws(() => new DnsRegistry({ protocol: "" }), /'protocol' must be a DNS label/);
  assert.throws(() => new DnsRegistry({ domain: ".local" }), /'domain' must be a domain name/);
  assert.throws(
    () => new DnsRegistry({ intervalMs: 0 }),
    /'intervalMs' must be a positive number: current value is 0/,
  );
  assert.throws(() => new DnsRegistry({ timeoutMs: Number.NaN }), /'timeoutMs'/);
});

Deno.test("DnsRegistry.watch() keeps its last list through an outage, reports it, and ends on dispose", async () => {
  await using dns = await start();
  const errors: DiscoveryError[] = [];
  const registry = new DnsRegistry({
    nameServer: dns.nameServer,
    domain: "shop.local",
    intervalMs: 20,
    timeoutMs: 100,
    onError: (error) => errors.push(error),
  });
  const watch = collect(registry.watch("payment"));
  await waitFor(() => watch.lists.length === 1, { what: "the first list" });
  dns.pause();
  await waitFor(() => errors.length >= 2, { what: "failed lookups to be reported" });
  assert.ok(errors.every((error) => error.code === "REGISTRY_UNAVAILABLE"));
  dns.resume();
  await dns.update({ srv: RECORDS.srv?.slice(1) ?? [], hosts: RECORDS.hosts ?? [] });
  await waitFor(() => watch.lists.length === 2, { what: "the changed list" });
  // The outage yielded nothing: no empty list in between.
  assert.deepEqual(watch.lists.map((list) => list.length), [4, 3]);
  await registry[Symbol.asyncDispose]();
  await watch.done;
  await assert.rejects(registry.instances("payment"), /the DNS registry is disposed/);
});

Deno.test("DnsRegistry.watch() ends when its signal aborts", async () => {
  await using dns = await start();
  await using registry = new DnsRegistry({
    nameServer: dns.nameServer,
    domain: "shop.local",
    intervalMs: 20,
  });
  const controller = new AbortController();
  const watch = collect(registry.watch("payment", { signal: controller.signal }));
  await waitFor(() => watch.lists.length === 1, { what: "the first list" });
  controller.abort();
  await watch.done;
  assert.equal(watch.lists.length, 1);
});

Deno.test("DnsRegistry.watch(): of three instances one is killed — it disappears from discovery, and comes back when restarted", async () => {
  // Three real HTTP instances; DNS names each one, as Kubernetes does for the
  // ready pods of a headless Service. Killing one makes the test remove its
  // records (the endpoints controller's job); restarting it adds them back.
  const servers = new Map<string, Deno.HttpServer<Deno.NetAddr>>();
  const serve = (name: string) => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response(name),
    );
    servers.set(name, server);
    return server.addr.port;
  };
  const ports = new Map(["pay-1", "pay-2", "pay-3"].map((name) => [name, serve(name)]));
  const recordsOf = (): DnsmasqRecords => ({
    srv: [...ports].map(([name, port]) => ({
      name: SRV,
      target: `${name}.shop.local`,
      port,
      weight: 10,
    })),
    hosts: [...ports.keys()].map((name) => ({ name: `${name}.shop.local`, ipv4: "127.0.0.1" })),
  });
  await using dns = await start(recordsOf());
  await using registry = new DnsRegistry({
    nameServer: dns.nameServer,
    domain: "shop.local",
    intervalMs: 50,
    timeoutMs: 500,
  });
  const controller = new AbortController();
  const watch = collect(registry.watch("payment", { signal: controller.signal }));
  const answers = async (list: ServiceInstance[]) =>
    await Promise.all(
      list.map(async (i) => await (await fetch(`http://${i.address}:${i.port}/`)).text()),
    );
  try {
    const expected = () =>
      [...ports].sort(([a], [b]) => a < b ? -1 : 1).map(([name, port]) =>
        `${name}.shop.local:${port}`
      ).join(" ");
    await waitFor(() => watch.latest() === expected(), { what: "three instances" });
    assert.deepEqual(await answers(watch.lists.at(-1)!), ["pay-1", "pay-2", "pay-3"]);

    // Kill pay-2; its records go.
    await servers.get("pay-2")!.shutdown();
    ports.delete("pay-2");
    await dns.update(recordsOf());
    await waitFor(() => watch.latest() === expected(), { what: "pay-2 to disappear" });
    assert.deepEqual(await answers(watch.lists.at(-1)!), ["pay-1", "pay-3"]);

    // Restart it (on a new port, as a new process gets); its records come back.
    ports.set("pay-2", serve("pay-2"));
    await dns.update(recordsOf());
    await waitFor(() => watch.latest() === expected(), { what: "pay-2 to come back" });
    assert.deepEqual(await answers(watch.lists.at(-1)!), ["pay-1", "pay-2", "pay-3"]);
    assert.ok(watch.lists.length >= 3);
  } finally {
    controller.abort();
    await watch.done;
    for (const server of servers.values()) await server.shutdown();
  }
});
