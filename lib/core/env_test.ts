import assert from "node:assert/strict";
import { z } from "zod";
import { defineContract } from "./contract.ts";
import { envVariablesOf, readServiceEnv } from "./env.ts";

const contract = defineContract({
  name: "order",
  version: "1.0.0",
  actions: { a: { input: z.object({}), output: z.object({}) } },
  needs: {
    dataDir: true,
    peers: ["payment"],
    env: ["ORDER_MODE"],
    port: { env: "ORDER_PORT", default: 7000 },
  },
});

const reader = (values: Record<string, string>) => ({ get: (name: string) => values[name] });

Deno.test("envVariablesOf() lists the kernel's, the port's, the peers' and the service's variables", () => {
  const names = envVariablesOf(contract);
  for (
    const name of [
      "FLOTILLA_HOST",
      "FLOTILLA_DATA_DIR",
      "ORDER_PORT",
      "FLOTILLA_PEER_PAYMENT_URL",
      "ORDER_MODE",
    ]
  ) {
    assert.ok(names.includes(name), name);
  }
  assert.ok(!names.includes("PORT"));
});

Deno.test("readServiceEnv() reads settings with defaults", () => {
  const env = readServiceEnv(
    contract,
    reader({
      FLOTILLA_DATA_DIR: "/data/order",
      FLOTILLA_PEER_PAYMENT_URL: "http://127.0.0.1:7001/",
    }),
  );
  const { instanceId, ...rest } = env;
  assert.match(instanceId, /^order-[0-9a-f]{8}$/);
  assert.deepEqual(rest, {
    port: 7000,
    hostname: "127.0.0.1",
    dataDir: "/data/order",
    logLevel: "info",
    bodyLimit: 1048576,
    drainTimeoutMs: 10000,
    peers: { payment: ["http://127.0.0.1:7001"] },
    registry: "static",
    registryDir: undefined,
    registryTtlMs: 10000,
    policies: undefined,
    bus: undefined,
    busDir: undefined,
    eventStore: "sqlite",
    transport: "http",
    grpcPort: 0,
    config: "file",
    configToken: undefined,
  });
});

Deno.test("readServiceEnv() reads FLOTILLA_CONFIG and FLOTILLA_CONFIG_TOKEN", () => {
  const env = readServiceEnv(
    contract,
    reader({
      FLOTILLA_DATA_DIR: "/d",
      FLOTILLA_CONFIG: " etcd://127.0.0.1:2379 ",
      FLOTILLA_CONFIG_TOKEN: "t0k",
    }),
  );
  assert.equal(env.config, "etcd://127.0.0.1:2379");
  assert.equal(env.configToken, "t0k");
});

Deno.test("readServiceEnv() names the variable that is wrong", () => {
  const base = { FLOTILLA_DATA_DIR: "/d" };
  assert.throws(
    () => readServiceEnv(contract, reader({ ...base, ORDER_PORT: "http" })),
    /ORDER_PORT/,
  );
  assert.throws(
    () => readServiceEnv(contract, reader({ ...base, FLOTILLA_BODY_LIMIT: "-1" })),
    /BODY_LIMIT/,
  );
  assert.throws(
    () => readServiceEnv(contract, reader({ ...base, FLOTILLA_PEER_PAYMENT_URL: "::" })),
    /PAYMENT/,
  );
  assert.throws(() => readServiceEnv(contract, reader({})), /FLOTILLA_DATA_DIR/);
  assert.throws(
    () => readServiceEnv(contract, reader({ ...base, FLOTILLA_POLICIES: "{" })),
    /POLICIES/,
  );
});

Deno.test("readServiceEnv() reads several URLs of one peer, the registry and the policies", () => {
  const env = readServiceEnv(
    contract,
    reader({
      FLOTILLA_DATA_DIR: "/d",
      FLOTILLA_PEER_PAYMENT_URL: "http://127.0.0.1:7001, http://127.0.0.1:7002",
      FLOTILLA_REGISTRY: "etcd://127.0.0.1:2379",
      FLOTILLA_INSTANCE_ID: "order-1",
      FLOTILLA_POLICIES: '{"defaults":{"timeoutMs":500}}',
    }),
  );
  assert.deepEqual(env.peers.payment, ["http://127.0.0.1:7001", "http://127.0.0.1:7002"]);
  assert.equal(env.registry, "etcd://127.0.0.1:2379");
  assert.equal(env.instanceId, "order-1");
  assert.deepEqual(env.policies, { defaults: { timeoutMs: 500 } });
});

Deno.test("readServiceEnv() reads the transport between services", () => {
  const read = (values: Record<string, string>) =>
    readServiceEnv({ name: "order", version: "1.0.0", actions: {} }, {
      get: (name) => values[name],
    });
  assert.equal(read({}).transport, "http");
  assert.equal(read({ FLOTILLA_TRANSPORT: "GRPC", FLOTILLA_GRPC_PORT: "7100" }).transport, "grpc");
  assert.equal(read({ FLOTILLA_GRPC_PORT: "7100" }).grpcPort, 7100);
  assert.equal(
    read({ FLOTILLA_TRANSPORT: "nats://127.0.0.1:4222" }).transport,
    "nats://127.0.0.1:4222",
  );
  assert.throws(() => read({ FLOTILLA_TRANSPORT: "smoke-signals" }), /FLOTILLA_TRANSPORT/);
  assert.throws(() => read({ FLOTILLA_GRPC_PORT: "70000" }), /FLOTILLA_GRPC_PORT/);
});
