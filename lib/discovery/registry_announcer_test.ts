import assert from "node:assert/strict";
import { z } from "zod";
import { defineContract, defineService, Logger, MemorySink, ServiceHost } from "@flotilla/core";
import { MemoryRegistry } from "./memory_registry.ts";
import { registryAnnouncer } from "./registry_announcer.ts";

const contract = defineContract({
  name: "payment",
  version: "1.2.0",
  actions: { ping: { input: z.object({}), output: z.object({}) } },
});

Deno.test("registryAnnouncer() registers every transport's port and withdraws on demand", async () => {
  await using registry = new MemoryRegistry();
  const host = new ServiceHost(defineService(contract, { ping: () => ({}) }), {
    logger: new Logger({ sink: new MemorySink() }),
  });
  const announcement = await registryAnnouncer(registry, {
    instanceId: "payment-1",
    metadata: { zone: "a" },
  }).announce(host, {
    http: { hostname: "127.0.0.1", port: 7001 },
    grpc: { hostname: "127.0.0.1", port: 7002 },
  });
  const [instance] = await registry.instances("payment");
  assert.deepEqual(instance, {
    service: "payment",
    id: "payment-1",
    address: "127.0.0.1",
    port: 7001,
    metadata: {
      protocol: "http",
      scheme: "http",
      version: "1.2.0",
      transports: "http,grpc",
      grpc_port: "7002",
      zone: "a",
    },
  });
  await announcement.withdraw();
  assert.deepEqual(await registry.instances("payment"), []);
});
