/**
 * Contract tests of {@linkcode ConsulRegistry}.
 *
 * These tests were NOT run against a live Consul: none exists here. They run
 * against `ConsulDouble` (`lib/testing/consul_double.ts`), a small server of
 * ours that answers reads in the format of HashiCorp's own API fixtures
 * (`@hashicorp/consul-api-double`, rendered from its templates) and keeps
 * the agent's writes (register, TTL pass, deregister) in memory, recording
 * every request so the tests can assert that the bodies, paths, query
 * parameters and headers follow Consul's documented API. What the double
 * cannot prove — that a real agent accepts these exact bodies, its error
 * texts, its one-minute floor on `DeregisterCriticalServiceAfter`, its
 * scheduling of HTTP checks — needs a run against a real Consul.
 *
 * @module
 */

import assert from "node:assert/strict";
import { freePort, waitFor } from "@flotilla/testing";
import { ConsulDouble } from "@flotilla/testing";
import { ConsulRegistry } from "./consul_registry.ts";
import { DiscoveryError } from "./errors.ts";
import type { ServiceInstance } from "./registry.ts";
import { testRegistryConformance } from "./_shared_conformance.ts";
import { type InstanceProcess, startInstance } from "./_shared_processes.ts";

const PAYMENT_1 = {
  service: "payment",
  id: "payment-1",
  address: "10.0.0.5",
  port: 7001,
  metadata: { protocol: "http", version: "1.4.2" },
};

/** Runs a watch in the background, keeping every list it yields. */
function collect(iterable: AsyncIterable<ServiceInstance[]>) {
  const lists: ServiceInstance[][] = [];
  const done = (async () => {
    for await (const list of iterable) lists.push(list);
  })();
  return { lists, done, ids: () => lists.at(-1)?.map((i) => i.id).join(" ") };
}

function isUnavailable(status?: number) {
  return (error: unknown) =>
    error instanceof DiscoveryError && error.code === "REGISTRY_UNAVAILABLE" && error.retryable &&
    (status === undefined || error.data?.status === status);
}

// --- Reads, against consul-api-double's fixtures -----------------------------

Deno.test("ConsulRegistry.instances() maps consul-api-double's health/service fixture (seeds 1–8)", async () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    await using consul = await ConsulDouble.start({
      seed,
      fixtureServices: ["payment"],
      // No checks: the fixture always makes its first two checks critical,
      // so with `passing` (which the double applies) nothing would be left.
      env: { CONSUL_NODE_COUNT: 6, CONSUL_CHECK_COUNT: 0 },
    });
    await using registry = new ConsulRegistry({ endpoint: consul.endpoint });
    const instances = await registry.instances("payment");

    const [request] = consul.requestsTo("/v1/health/service/payment");
    assert.deepEqual(request?.query, { passing: "true" });
    const fixture = (await consul.fixture("/v1/health/service/payment", { passing: "true" }))!
      .body as Array<{
        Node: { Node: string; Address: string };
        Service: { ID: string; Address: string; Port: number; Meta?: Record<string, string> };
      }>;
    assert.equal(instances.length, fixture.length);
    for (const entry of fixture) {
      const twins = fixture.filter((e) => e.Service.ID === entry.Service.ID).length;
      const id = twins > 1 ? `${entry.Service.ID}@${entry.Node.Node}` : entry.Service.ID;
      assert.deepEqual(instances.find((i) => i.id === id), {
        service: "payment",
        id,
        address: entry.Service.Address,
        port: entry.Service.Port,
        metadata: entry.Service.Meta ?? {},
      }, `seed ${seed}, ${id}`);
    }
  }
});

Deno.test("ConsulRegistry.instances() falls back to Node.Address when Service.Address is empty", async () => {
  await using consul = await ConsulDouble.start();
  // Registered by another client, without an address.
  const response = await fetch(`${consul.endpoint}/v1/agent/service/register`, {
    method: "PUT",
    body: JSON.stringify({ ID: "legacy-1", Name: "legacy", Port: 9000 }),
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  await using registry = new ConsulRegistry({ endpoint: consul.endpoint });
  const [instance] = await registry.instances("legacy");
  const node = ((await consul.fixture("/v1/health/service/legacy"))!.body as Array<{
    Node: { Address: string };
  }>)[0]!.Node;
  assert.equal(instance?.address, node.Address);
  assert.deepEqual(instance?.metadata, {});
});

Deno.test("ConsulRegistry.watch() follows the fixture's X-Consul-Index with blocking queries", async () => {
  await using consul = await ConsulDouble.start({
    fixtureServices: ["payment"],
    // The fixture's .config: X-Consul-Index is the request's index + 1, and a
    // blocking request takes CONSUL_LATENCY ms.
    env: { CONSUL_NODE_COUNT: 2, CONSUL_CHECK_COUNT: 0, CONSUL_LATENCY: 20 },
  });
  await using registry = new ConsulRegistry({
    endpoint: consul.endpoint,
    watchWaitMs: 1_500,
    watchMinIntervalMs: 0,
  });
  const controller = new AbortController();
  const watch = collect(registry.watch("payment", { signal: controller.signal }));
  await waitFor(() => consul.requestsTo("/v1/health/service/payment").length >= 4, {
    what: "four queries",
  });
  controller.abort();
  await watch.done;
  const queries = consul.requestsTo("/v1/health/service/payment").slice(0, 4).map((r) => r.query);
  assert.deepEqual(queries, [
    { passing: "true" },
    { passing: "true", index: "2", wait: "1500ms" },
    { passing: "true", index: "3", wait: "1500ms" },
    { passing: "true", index: "4", wait: "1500ms" },
  ]);
  // The same seeded data every time: one list only.
  assert.equal(watch.lists.length, 1);
});

// --- Writes, against the stateful agent endpoints ----------------------------

Deno.test("ConsulRegistry.register() sends Consul's documented registration body, then passes the TTL check", async () => {
  await using consul = await ConsulDouble.start();
  await using registry = new ConsulRegistry({
    endpoint: consul.endpoint,
    deregisterCriticalAfterMs: 90_000,
  });
  const handle = await registry.register({ ...PAYMENT_1, ttlMs: 15_000 });
  assert.deepEqual(handle.instance, PAYMENT_1);

  const [register, pass, ...rest] = consul.requests;
  assert.equal(rest.length, 0);
  assert.equal(register?.method, "PUT");
  assert.equal(register?.path, "/v1/agent/service/register");
  assert.deepEqual(register?.query, { "replace-existing-checks": "true" });
  assert.equal(register?.headers["content-type"], "application/json");
  assert.deepEqual(register?.body, {
    ID: "payment-1",
    Name: "payment",
    Address: "10.0.0.5",
    Port: 7001,
    Meta: { protocol: "http", version: "1.4.2" },
    Check: {
      CheckID: "service:payment-1",
      Name: "Flotilla TTL of payment-1",
      Notes: "Passed by the registering process every TTL/3 while it runs.",
      TTL: "15s",
      DeregisterCriticalServiceAfter: "90s",
    },
  });
  // The instance's fields land where the fixture's health entries carry them.
  const shape = (await consul.fixture("/v1/health/service/payment"))!.body as Array<
    { Service: Record<string, unknown> }
  >;
  for (const key of ["ID", "Address", "Port"]) assert.ok(key in shape[0]!.Service, key);

  assert.equal(pass?.method, "PUT");
  assert.equal(pass?.path, "/v1/agent/check/pass/service:payment-1");
  assert.equal(pass?.body, undefined);
  assert.equal(consul.checks.get("service:payment-1")?.Status, "passing");
  assert.deepEqual(await registry.instances("payment"), [PAYMENT_1]);
  await handle.deregister();
});

Deno.test("ConsulRegistry.register() formats TTLs that are not whole seconds as Go durations", async () => {
  await using consul = await ConsulDouble.start();
  await using registry = new ConsulRegistry({ endpoint: consul.endpoint, ttlMs: 1_500 });
  await using _handle = await registry.register(PAYMENT_1);
  const body = consul.requestsTo("/v1/agent/service/register")[0]?.body as {
    Check: { TTL: string; DeregisterCriticalServiceAfter: string };
  };
  assert.equal(body.Check.TTL, "1500ms");
  assert.equal(body.Check.DeregisterCriticalServiceAfter, "60s");
});

Deno.test("ConsulRegistry handle passes the check every ttl/3; deregister() stops it and is idempotent", async () => {
  await using consul = await ConsulDouble.start();
  await using registry = new ConsulRegistry({ endpoint: consul.endpoint });
  const handle = await registry.register({ ...PAYMENT_1, ttlMs: 900 });
  const passes = () => consul.requestsTo("/v1/agent/check/pass/service:payment-1").length;
  await waitFor(() => passes() >= 5, { what: "five passes" });
  // Five passes span more than one TTL: the check never expired in between.
  assert.equal(consul.checks.get("service:payment-1")?.Status, "passing");
  assert.deepEqual(await registry.instances("payment"), [PAYMENT_1]);

  await Promise.all([handle.deregister(), handle.deregister()]);
  await handle.deregister();
  const deregisters = consul.requestsTo("/v1/agent/service/deregister/payment-1", "PUT");
  assert.equal(deregisters.length, 1);
  // Nothing was passed after the deregistration.
  assert.equal(consul.requests.at(-1), deregisters[0]);
  assert.equal(consul.services.size, 0);
  assert.deepEqual(await registry.instances("payment"), []);
});

Deno.test("ConsulRegistry handle registers again when the agent has forgotten the service", async () => {
  await using consul = await ConsulDouble.start();
  await using registry = new ConsulRegistry({ endpoint: consul.endpoint });
  await using _handle = await registry.register({ ...PAYMENT_1, ttlMs: 300 });
  consul.reset(); // e.g. an agent restarted without its state
  await waitFor(
    () => consul.checks.get("service:payment-1")?.Status === "passing",
    { what: "the service to be registered again and passing" },
  );
  assert.equal(consul.requestsTo("/v1/agent/service/register").length, 2);
  assert.deepEqual(await registry.instances("payment"), [PAYMENT_1]);
});

Deno.test("ConsulRegistry registers an HTTP check for healthCheckUrl, instead of or besides the TTL check", async () => {
  let healthy = true;
  await using app = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(healthy ? "ok" : "down", { status: healthy ? 200 : 503 }),
  );
  const healthCheckUrl = `http://127.0.0.1:${app.addr.port}/health`;
  await using consul = await ConsulDouble.start();

  // HTTP check only.
  await using httpOnly = new ConsulRegistry({
    endpoint: consul.endpoint,
    ttlCheck: false,
    httpCheckIntervalMs: 50,
    httpCheckTimeoutMs: 1_000,
  });
  const handle = await httpOnly.register({ ...PAYMENT_1, healthCheckUrl });
  assert.deepEqual((consul.requests[0]?.body as { Check: unknown }).Check, {
    CheckID: "service:payment-1:http",
    Name: "HTTP health of payment-1",
    HTTP: healthCheckUrl,
    Method: "GET",
    Interval: "50ms",
    Timeout: "1s",
    DeregisterCriticalServiceAfter: "60s",
  });
  assert.equal(consul.requestsTo(/^\/v1\/agent\/check\/pass\//).length, 0);
  await waitFor(async () => (await httpOnly.instances("payment")).length === 1, {
    what: "Consul's HTTP check to pass",
  });
  healthy = false;
  await waitFor(async () => (await httpOnly.instances("payment")).length === 0, {
    what: "Consul's HTTP check to fail",
  });
  healthy = true;
  await handle.deregister();

  // Both: a TTL check the handle passes, and Consul's HTTP check.
  await using both = new ConsulRegistry({ endpoint: consul.endpoint });
  await using _second = await both.register({ ...PAYMENT_1, healthCheckUrl, ttlMs: 9_000 });
  const body = consul.requestsTo("/v1/agent/service/register").at(-1)?.body as {
    Checks: Array<Record<string, string>>;
  };
  assert.deepEqual(body.Checks.map((c) => [c.CheckID, c.TTL ?? c.HTTP, c.Interval]), [
    ["service:payment-1", "9s", undefined],
    ["service:payment-1:http", healthCheckUrl, "10s"],
  ]);
  assert.equal(consul.checks.get("service:payment-1")?.Status, "passing");
});

Deno.test("ConsulRegistry sends the token as X-Consul-Token; Consul's 403 becomes REGISTRY_UNAVAILABLE", async () => {
  await using consul = await ConsulDouble.start({ token: "s3cr3t" });
  await using anonymous = new ConsulRegistry({ endpoint: consul.endpoint });
  await assert.rejects(anonymous.instances("payment"), isUnavailable(403));
  await using wrong = new ConsulRegistry({ endpoint: consul.endpoint, token: "nope" });
  await assert.rejects(wrong.register(PAYMENT_1), (error) => {
    assert.ok(isUnavailable(403)(error));
    assert.match(
      (error as Error).message,
      /Cannot register payment-1: .* answered 403 ACL not found/,
    );
    return true;
  });

  await using registry = new ConsulRegistry({
    endpoint: consul.endpoint,
    token: "s3cr3t",
    datacenter: "dc1",
  });
  await using _handle = await registry.register(PAYMENT_1);
  assert.deepEqual(await registry.instances("payment"), [PAYMENT_1]);
  const [first, second, ...mine] = consul.requests;
  assert.equal(first?.headers["x-consul-token"], undefined);
  assert.equal(second?.headers["x-consul-token"], "nope");
  assert.deepEqual(mine.slice(0, 3).map((r) => `${r.method} ${r.path}`), [
    "PUT /v1/agent/service/register",
    "PUT /v1/agent/check/pass/service:payment-1",
    "GET /v1/health/service/payment",
  ]);
  assert.ok(mine.every((r) => r.headers["x-consul-token"] === "s3cr3t" && r.query.dc === "dc1"));
});

Deno.test("ConsulRegistry maps an unreachable agent and error statuses to REGISTRY_UNAVAILABLE", async () => {
  await using down = new ConsulRegistry({ endpoint: `http://127.0.0.1:${freePort()}` });
  await assert.rejects(down.instances("payment"), isUnavailable());
  await assert.rejects(down.register(PAYMENT_1), isUnavailable());

  await using consul = await ConsulDouble.start();
  await using registry = new ConsulRegistry({ endpoint: consul.endpoint });
  consul.failNext(1, 500, "rpc error making call: No cluster leader");
  await assert.rejects(registry.instances("payment"), (error) => {
    assert.ok(isUnavailable(500)(error));
    assert.match((error as Error).message, /No cluster leader/);
    return true;
  });
  consul.failNext(1, 400, "Invalid service address");
  await assert.rejects(registry.register(PAYMENT_1), isUnavailable(400));
  // A refused registration is not followed by a pass.
  assert.equal(consul.requestsTo(/^\/v1\/agent\/check\/pass\//).length, 0);
});

Deno.test("ConsulRegistry calls reject with the abort reason when their signal aborts", async () => {
  await using consul = await ConsulDouble.start();
  await using registry = new ConsulRegistry({ endpoint: consul.endpoint });
  await assert.rejects(
    registry.instances("payment", { signal: AbortSignal.abort() }),
    { name: "AbortError" },
  );
  await assert.rejects(
    registry.register(PAYMENT_1, { signal: AbortSignal.abort() }),
    { name: "AbortError" },
  );
  assert.equal(consul.requests.length, 0);
});

Deno.test("ConsulRegistry rejects bad options and registrations with a RangeError naming them", async () => {
  assert.throws(
    () => new ConsulRegistry({ endpoint: "consul:8500" }),
    new RangeError(
      `Cannot create the Consul registry as 'endpoint' must be an http or https URL: current value is "consul:8500"`,
    ),
  );
  assert.throws(
    () => new ConsulRegistry({ ttlMs: 0 }),
    /'ttlMs' must be a positive number: current value is 0/,
  );
  assert.throws(() => new ConsulRegistry({ watchWaitMs: 700_000 }), /at most 600000/);
  assert.throws(() => new ConsulRegistry({ watchMinIntervalMs: -1 }), /'watchMinIntervalMs'/);
  await using registry = new ConsulRegistry({ endpoint: "http://127.0.0.1:1", ttlCheck: false });
  await assert.rejects(
    registry.register(PAYMENT_1),
    /'healthCheckUrl' must be set when the registry's 'ttlCheck' is false/,
  );
  await assert.rejects(
    registry.register({ ...PAYMENT_1, healthCheckUrl: "ftp://x/health" }),
    RangeError,
  );
  await assert.rejects(registry.register({ ...PAYMENT_1, port: 0 }), RangeError);
  await assert.rejects(
    registry.register({
      ...PAYMENT_1,
      healthCheckUrl: "http://127.0.0.1:1/health",
      metadata: { "app.kubernetes.io/name": "payment" },
    }),
    /each 'metadata' key must be 1-128 letters, digits, '_' or '-' .*"app.kubernetes.io\/name"/,
  );
});

// --- Watches ------------------------------------------------------------------

Deno.test("ConsulRegistry conforms to the Registry contract (against ConsulDouble)", async (t) => {
  await testRegistryConformance(t, async () => {
    const consul = await ConsulDouble.start();
    const registry = new ConsulRegistry({ endpoint: consul.endpoint, watchWaitMs: 10_000 });
    const peers: ConsulRegistry[] = [];
    const ttlMs = 600;
    return {
      registry,
      ttlMs,
      advance: undefined,
      async registerThenCrash(registration) {
        // A real process registers and passes its check; SIGKILL stops it.
        const instance = await startInstance(
          {
            registryUrl: consul.endpoint.replace("http:", "consul:"),
            ttlMs: registration.ttlMs ?? ttlMs,
          },
          registration.service,
          registration.id,
        );
        await instance.kill();
      },
      openPeer() {
        const peer = new ConsulRegistry({ endpoint: consul.endpoint });
        peers.push(peer);
        return Promise.resolve(peer);
      },
      async [Symbol.asyncDispose]() {
        for (const peer of peers) await peer[Symbol.asyncDispose]();
        await registry[Symbol.asyncDispose]();
        await consul[Symbol.asyncDispose]();
      },
    };
  });
});

Deno.test("ConsulRegistry.watch(): of three instances one is killed — it disappears within its TTL, and comes back when restarted", async () => {
  // Each instance is its own process (testdata/registered_server.ts, opened
  // with `consul://…`) that serves its id, registers and passes its TTL
  // check; SIGKILL stops the passes, as a crash does.
  await using consul = await ConsulDouble.start();
  const target = { registryUrl: consul.endpoint.replace("http:", "consul:"), ttlMs: 1_500 };
  await using registry = new ConsulRegistry({ endpoint: consul.endpoint, watchWaitMs: 10_000 });
  const processes = new Map<string, InstanceProcess>();
  const controller = new AbortController();
  const watch = collect(registry.watch("echo", { signal: controller.signal }));
  const expected = () =>
    [...processes].sort(([a], [b]) => a < b ? -1 : 1).map(([id, p]) => `${id}:${p.port}`).join(
      " ",
    );
  const listed = () => watch.lists.at(-1)?.map((i) => `${i.id}:${i.port}`).join(" ");
  try {
    for (const id of ["echo-1", "echo-2", "echo-3"]) {
      processes.set(id, await startInstance(target, "echo", id));
    }
    await waitFor(() => listed() === expected(), { what: "three instances" });
    // Discovery hands out addresses that really serve the instances.
    for (const instance of watch.lists.at(-1)!) {
      const response = await fetch(`http://${instance.address}:${instance.port}/`);
      assert.equal(await response.text(), instance.id);
    }
    const beforeKill = watch.lists.length;

    assert.equal((await processes.get("echo-2")!.kill()).signal, "SIGKILL");
    processes.delete("echo-2");
    await waitFor(() => listed() === expected(), { what: "echo-2 to disappear" });
    // It went because its TTL check expired, not because it deregistered.
    assert.equal(consul.checks.get("service:echo-2")?.Status, "critical");
    assert.equal(consul.checks.get("service:echo-2")?.Output, "TTL expired");
    assert.equal(consul.requestsTo("/v1/agent/service/deregister/echo-2").length, 0);
    // The survivors were listed throughout.
    assert.ok(
      watch.lists.slice(beforeKill).every((list) =>
        ["echo-1", "echo-3"].every((id) => list.some((i) => i.id === id))
      ),
    );

    processes.set("echo-2", await startInstance(target, "echo", "echo-2"));
    await waitFor(() => listed() === expected(), { what: "echo-2 to come back" });
    assert.equal(consul.checks.get("service:echo-2")?.Status, "passing");
    // Blocking queries, not polling: each query after the first names an index.
    const queries = consul.requestsTo("/v1/health/service/echo").map((r) => r.query);
    assert.ok(queries.slice(1).every((q) => q.index !== undefined && q.wait === "10s"));
  } finally {
    controller.abort();
    await watch.done;
    await Promise.all([...processes.values()].map((p) => p[Symbol.asyncDispose]()));
  }
});

Deno.test("ConsulRegistry.watch() resets the index when it goes backwards, and to 1 when it is 0", async () => {
  await using consul = await ConsulDouble.start();
  await using registry = new ConsulRegistry({
    endpoint: consul.endpoint,
    watchWaitMs: 200,
    watchMinIntervalMs: 0,
  });
  await using _one = await registry.register(PAYMENT_1);
  const controller = new AbortController();
  const watch = collect(registry.watch("payment", { signal: controller.signal }));
  try {
    await waitFor(() => watch.lists.length === 1, { what: "the first list" });
    const high = consul.index;
    // As after a restore from a snapshot: the index is lower than the watch's.
    consul.setIndex(3);
    await using _two = await registry.register({ ...PAYMENT_1, id: "payment-2", port: 7002 });
    await waitFor(() => watch.ids() === "payment-1 payment-2", { what: "the new instance" });
    const queries = () => consul.requestsTo("/v1/health/service/payment").map((r) => r.query);
    // After the answer with the lower index, the watch started over without one…
    await waitFor(() => {
      const list = queries();
      const reset = list.findIndex((q, i) => i > 0 && q.index === undefined);
      return reset > 0 && Number(list[reset - 1]!.index) >= high &&
        list.slice(reset + 1).some((q) => Number(q.index) < high);
    }, { what: "the index to be reset" });

    // …and an index of 0 (a Consul bug that the docs warn of) becomes 1.
    consul.setIndex(0);
    await waitFor(() => queries().some((q) => q.index === "1"), { what: "a query with index 1" });
  } finally {
    controller.abort();
    await watch.done;
  }
});

Deno.test("ConsulRegistry.watch() backs off after errors, reports them, and keeps its last list", async () => {
  await using consul = await ConsulDouble.start();
  const errors: DiscoveryError[] = [];
  await using registry = new ConsulRegistry({
    endpoint: consul.endpoint,
    watchWaitMs: 5_000,
    retryInitialMs: 10,
    retryMaxMs: 40,
    onError: (error) => errors.push(error),
  });
  consul.failNext(4, 500);
  const controller = new AbortController();
  const watch = collect(registry.watch("payment", { signal: controller.signal }));
  try {
    await waitFor(() => watch.lists.length === 1, { what: "the first list after the errors" });
    assert.equal(errors.length, 4);
    assert.ok(errors.every(isUnavailable(500)));
    assert.deepEqual(watch.lists, [[]]);

    // Wake the blocked query (it succeeds); the three after it fail.
    consul.failNext(3, 503, "Consul is restarting");
    consul.setIndex(consul.index + 1);
    await waitFor(() => errors.length === 7, { what: "three more failures" });
    assert.ok(errors.slice(4).every(isUnavailable(503)));
    await using _handle = await registry.register(PAYMENT_1);
    await waitFor(() => watch.ids() === "payment-1", { what: "the registration" });
    // No empty list was yielded for the failures.
    assert.deepEqual(watch.lists.map((list) => list.length), [0, 1]);
  } finally {
    controller.abort();
    await watch.done;
  }
});

Deno.test("ConsulRegistry.watch() ends when its signal aborts during a blocking query", async () => {
  await using consul = await ConsulDouble.start();
  await using registry = new ConsulRegistry({ endpoint: consul.endpoint, watchWaitMs: 600_000 });
  const controller = new AbortController();
  const watch = collect(registry.watch("payment", { signal: controller.signal }));
  await waitFor(() => consul.requestsTo("/v1/health/service/payment").length === 2, {
    what: "a blocking query",
  });
  controller.abort();
  await watch.done;
  assert.deepEqual(watch.lists, [[]]);
});

Deno.test("ConsulRegistry disposal ends watches and deregisters what it registered", async () => {
  await using consul = await ConsulDouble.start();
  const registry = new ConsulRegistry({ endpoint: consul.endpoint, watchWaitMs: 600_000 });
  await registry.register(PAYMENT_1);
  await registry.register({ ...PAYMENT_1, id: "payment-2", port: 7002 });
  const watch = collect(registry.watch("payment"));
  await waitFor(() => watch.lists.length === 1, { what: "the first list" });
  await registry[Symbol.asyncDispose]();
  await watch.done;
  assert.equal(consul.services.size, 0);
  assert.equal(consul.requestsTo(/^\/v1\/agent\/service\/deregister\//).length, 2);
  await assert.rejects(registry.instances("payment"), /the Consul registry is disposed/);
});
