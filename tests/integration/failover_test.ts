/**
 * Failover through the call pipeline, on real registries: three instances of
 * a service registered (local SQLite registry, a real etcd, DNS SRV served by
 * a real dnsmasq); one is killed with SIGKILL while calls flow — every call
 * still succeeds (the pipeline retries on another instance), the killed one
 * disappears from discovery within its TTL, and it comes back — and takes
 * calls again — once restarted.
 */

import assert from "node:assert/strict";
import { Peers } from "@flotilla/client";
import { openRegistry, type Registry } from "@flotilla/discovery";
import { Dnsmasq, freePort, startEtcd, waitFor } from "@flotilla/testing";
import { echoContract } from "../support/echo_service.ts";
import { type EchoInstance, startEcho, type StartEchoOptions } from "../support/instances.ts";

const TTL_MS = 2_000;

interface Backend extends AsyncDisposable {
  /** `FLOTILLA_REGISTRY` of the instances. */
  url: string;
  /** How the instances are started. */
  echo: Omit<StartEchoOptions, "port">;
  /** The test's own view of the registry. */
  registry: Registry;
  /** Called when an instance dies or comes back (DNS has no self-registration). */
  publish?(instances: readonly { id: string; port: number }[]): Promise<void>;
}

/** Calls `whoami` from 4 concurrent loops until stopped; counts answers per instance and errors. */
function load(peers: Peers) {
  const echo = peers.client(echoContract);
  const answers = new Map<string, number>();
  const errors: unknown[] = [];
  let running = true;
  let calls = 0;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      try {
        const { instance } = await echo.call("whoami", { n: calls++ }, { timeoutMs: 5_000 });
        answers.set(instance, (answers.get(instance) ?? 0) + 1);
      } catch (error) {
        errors.push(error);
      }
    }
  });
  return {
    answers,
    errors,
    get calls() {
      return calls;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function scenario(backend: Backend): Promise<void> {
  const ports = [freePort(), freePort(), freePort()];
  const ids = ["echo-1", "echo-2", "echo-3"];
  const instances: EchoInstance[] = [];
  await backend.publish?.(ids.map((id, i) => ({ id, port: ports[i]! })));
  for (const [i, id] of ids.entries()) {
    instances.push(await startEcho(id, { ...backend.echo, port: ports[i]! }));
  }
  await using peers = new Peers({
    caller: "test",
    registry: backend.registry,
    policies: {
      defaults: {
        retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 50 },
        // Short ejections and open states, so the restarted instance is back within the test.
        outlier: { baseEjectionMs: 1_000 },
        breaker: { waitDurationInOpenMs: 1_000 },
      },
    },
  });
  const listed = async () => (await backend.registry.instances("echo")).map((i) => i.port).sort();
  await waitFor(async () => (await listed()).length === 3, { what: "three registered instances" });

  const traffic = load(peers);
  try {
    await waitFor(() => ids.every((id) => (traffic.answers.get(id) ?? 0) > 5), {
      what: "every instance to take calls",
    });

    const victim = instances[1]!;
    await victim.kill();
    await backend.publish?.([{ id: "echo-1", port: ports[0]! }, { id: "echo-3", port: ports[2]! }]);
    await waitFor(async () => !(await listed()).includes(victim.port), {
      what: "the killed instance to leave discovery",
      timeoutMs: TTL_MS * 10,
    });
    const servedBeforeRestart = traffic.answers.get("echo-2") ?? 0;
    const callsAtRemoval = traffic.calls;
    await waitFor(() => traffic.calls > callsAtRemoval + 100, { what: "calls after the removal" });

    instances[1] = await startEcho("echo-2", { ...backend.echo, port: ports[1]! });
    await backend.publish?.(ids.map((id, i) => ({ id, port: ports[i]! })));
    await waitFor(async () => (await listed()).length === 3, { what: "the instance to come back" });
    await waitFor(() => (traffic.answers.get("echo-2") ?? 0) > servedBeforeRestart, {
      what: "the restarted instance to take calls again",
    });
  } finally {
    await traffic.stop();
    for (const instance of instances) await instance.kill();
  }
  assert.deepEqual(traffic.errors.map(String), [], "no call failed");
  assert.ok(traffic.calls > 200);
}

Deno.test({
  name:
    "failover with the local registry: calls keep succeeding while an instance dies and returns",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "flotilla-failover-local-" });
    await using registry = await openRegistry("local", { localDir: dir, pollIntervalMs: 100 });
    try {
      await scenario({
        url: "local",
        echo: { registry: "local", registryDir: dir, ttlMs: TTL_MS },
        registry,
        [Symbol.asyncDispose]: () => Promise.resolve(),
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "failover with etcd: calls keep succeeding while an instance dies and returns",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using etcd = await startEtcd();
    const url = `etcd://127.0.0.1:${etcd.port}`;
    await using registry = await openRegistry(url);
    await scenario({
      url,
      echo: { registry: url, net: [`127.0.0.1:${etcd.port}`], ttlMs: TTL_MS },
      registry,
      [Symbol.asyncDispose]: () => Promise.resolve(),
    });
  },
});

Deno.test({
  name: "failover with DNS SRV: calls keep succeeding while an instance dies and returns",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const records = (instances: readonly { id: string; port: number }[]) => ({
      srv: instances.map((i) => ({
        name: "_http._tcp.echo.shop.local",
        target: `${i.id}.shop.local`,
        port: i.port,
      })),
      hosts: instances.map((i) => ({ name: `${i.id}.shop.local`, ipv4: "127.0.0.1" })),
    });
    await using dns = await Dnsmasq.start(records([]), { localDomains: ["shop.local"] });
    const url = `dns://127.0.0.1:${dns.nameServer.port}?domain=shop.local`;
    await using registry = await openRegistry(url, { pollIntervalMs: 200 });
    await scenario({
      url,
      echo: { registry: url, net: [`127.0.0.1:${dns.nameServer.port}`], ttlMs: TTL_MS },
      registry,
      publish: (instances) => dns.update(records(instances)),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    });
  },
});
