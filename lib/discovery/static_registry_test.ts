import assert from "node:assert/strict";
import { DiscoveryError } from "./errors.ts";
import { parsePeerUrls, StaticRegistry } from "./static_registry.ts";
import { nextMatching, registration } from "./_shared_conformance.ts";

Deno.test("parsePeerUrls() reads a comma-separated list of URLs", () => {
  assert.deepEqual(parsePeerUrls("http://127.0.0.1:7001,http://127.0.0.1:7002"), [
    { address: "127.0.0.1", port: 7001, metadata: { protocol: "http" } },
    { address: "127.0.0.1", port: 7002, metadata: { protocol: "http" } },
  ]);
  assert.deepEqual(parsePeerUrls(" https://pay.example , ,http://[::1]:8080/api/ "), [
    { address: "pay.example", port: 443, metadata: { protocol: "https" } },
    { address: "::1", port: 8080, metadata: { protocol: "http", path: "/api/" } },
  ]);
  assert.deepEqual(parsePeerUrls(""), []);
});

Deno.test("parsePeerUrls() rejects an item that is not a URL with a host and a port", () => {
  assert.throws(
    () => parsePeerUrls("http://a:1,127.0.0.1:7001"),
    /Cannot parse the peer URLs as each item must be a URL such as http:\/\/host:port: current value is "127.0.0.1:7001"/,
  );
  assert.throws(() => parsePeerUrls("not a url"), /each item must be a URL/);
  assert.throws(() => parsePeerUrls("localhost:7001"), /must be a URL with a host/);
  assert.throws(() => parsePeerUrls("grpc://h"), /must name a port/);
  assert.throws(() => parsePeerUrls("file:///x"), /must be a URL with a host/);
});

Deno.test("StaticRegistry lists the instances of each service, sorted, with ids", async () => {
  await using registry = new StaticRegistry({
    payment: ["http://127.0.0.1:7002,http://127.0.0.1:7001", "http://127.0.0.1:7001"],
    inventory: [{ address: "10.0.0.5", port: 7003, id: "inv-1", metadata: { protocol: "grpc" } }],
  });
  assert.equal(registry.kind, "static");
  assert.deepEqual(await registry.instances("payment"), [
    {
      service: "payment",
      id: "127.0.0.1:7001",
      address: "127.0.0.1",
      port: 7001,
      metadata: { protocol: "http" },
    },
    {
      service: "payment",
      id: "127.0.0.1:7002",
      address: "127.0.0.1",
      port: 7002,
      metadata: { protocol: "http" },
    },
  ]);
  assert.deepEqual(await registry.instances("inventory"), [
    {
      service: "inventory",
      id: "inv-1",
      address: "10.0.0.5",
      port: 7003,
      metadata: { protocol: "grpc" },
    },
  ]);
  assert.deepEqual(await registry.instances("shipping"), []);
});

Deno.test("StaticRegistry takes the peers of ServiceEnv (a record of URL lists) or a Map", async () => {
  await using fromMap = new StaticRegistry(new Map([["payment", "http://127.0.0.1:7001"]]));
  assert.equal((await fromMap.instances("payment")).length, 1);
});

Deno.test("StaticRegistry.register() fails with REGISTRATION_UNSUPPORTED", async () => {
  await using registry = new StaticRegistry({});
  await assert.rejects(
    () => registry.register(registration("payment")),
    (error) => error instanceof DiscoveryError && error.code === "REGISTRATION_UNSUPPORTED",
  );
});

Deno.test("StaticRegistry.watch() yields once, then ends on abort or dispose", async () => {
  const registry = new StaticRegistry({ payment: ["http://127.0.0.1:7001"] });
  const controller = new AbortController();
  const iterator = registry.watch("payment", { signal: controller.signal })[
    Symbol.asyncIterator
  ]();
  await nextMatching(iterator, (l) => l.length === 1, "the list");
  const next = iterator.next();
  controller.abort();
  assert.equal((await next).done, true);

  const other = registry.watch("payment")[Symbol.asyncIterator]();
  await nextMatching(other, (l) => l.length === 1, "the list");
  const pending = other.next();
  await registry[Symbol.asyncDispose]();
  assert.equal((await pending).done, true);
});

Deno.test("StaticRegistry rejects a bad service name or port", () => {
  assert.throws(() => new StaticRegistry({ "": ["http://a:1"] }), RangeError);
  assert.throws(
    () => new StaticRegistry({ payment: [{ address: "a", port: 70_000 }] }),
    /Cannot create the static registry as 'port' must be an integer between 1 and 65535: current value is 70000/,
  );
});
