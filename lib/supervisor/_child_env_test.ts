import assert from "node:assert/strict";
import { childEnv, type ChildEnvOptions } from "./_child_env.ts";

const order = {
  contract: { name: "order", needs: { dataDir: true, peers: ["inventory", "payment"] } },
  entry: "./order.ts",
  env: { ORDER_LIMIT: "5", FLOTILLA_LOG_LEVEL: "debug" },
};

const base = {
  HOME: "/home/me",
  PORT: "8080",
  FLOTILLA_DATA_DIR: "/srv/.flotilla",
  FLOTILLA_LOG_LEVEL: "info",
  FLOTILLA_BODY_LIMIT: "100",
  FLOTILLA_POLICIES: '{"payment":{"timeoutMs":500}}',
  FLOTILLA_PEER_GHOST_URL: "http://x",
  FLOTILLA_REGISTRY: "etcd://elsewhere:2379",
  FLOTILLA_REGISTRY_DIR: "/elsewhere",
  FLOTILLA_INSTANCE_ID: "someone-else",
  FLOTILLA_ADMIN_PORT: "9000",
  FLOTILLA_REPLICAS_ORDER: "2",
  ORDER_LIMIT: "1",
};

const peers = {
  inventory: ["http://127.0.0.1:40002"],
  payment: ["http://127.0.0.1:40003", "http://127.0.0.1:40004"],
};

Deno.test("childEnv() sets the managed variables over the plan's and the supervisor's (static registry)", () => {
  const env = childEnv(order, {
    base,
    portVariables: ["PORT"],
    hostname: "127.0.0.1",
    port: 40001,
    dataDir: "/srv/.flotilla/order",
    instanceId: "order-1",
    registry: "static",
    peers,
  });
  assert.deepEqual(env, {
    HOME: "/home/me",
    FLOTILLA_LOG_LEVEL: "debug",
    FLOTILLA_BODY_LIMIT: "100",
    FLOTILLA_POLICIES: '{"payment":{"timeoutMs":500}}',
    ORDER_LIMIT: "5",
    PORT: "40001",
    FLOTILLA_HOST: "127.0.0.1",
    FLOTILLA_DATA_DIR: "/srv/.flotilla/order",
    FLOTILLA_INSTANCE_ID: "order-1",
    FLOTILLA_REGISTRY: "static",
    FLOTILLA_PEER_INVENTORY_URL: "http://127.0.0.1:40002",
    FLOTILLA_PEER_PAYMENT_URL: "http://127.0.0.1:40003,http://127.0.0.1:40004",
  });
});

Deno.test("childEnv() gives the local registry's folder and no peer URLs", () => {
  const env = childEnv(order, {
    base,
    portVariables: ["PORT"],
    hostname: "127.0.0.1",
    port: 40001,
    dataDir: "/srv/.flotilla/order",
    instanceId: "order-2",
    registry: "local",
    registryDir: "/srv/.flotilla/registry",
    peers: {},
  });
  assert.equal(env.FLOTILLA_REGISTRY, "local");
  assert.equal(env.FLOTILLA_REGISTRY_DIR, "/srv/.flotilla/registry");
  assert.equal(env.FLOTILLA_INSTANCE_ID, "order-2");
  assert.deepEqual(Object.keys(env).filter((name) => name.startsWith("FLOTILLA_PEER_")), []);
  assert.deepEqual(
    Object.keys(env).filter((name) => /^FLOTILLA_(ADMIN_PORT|REPLICAS_)/.test(name)),
    [],
  );
});

Deno.test("childEnv() gives a server registry's URL and no registry folder", () => {
  const env = childEnv(order, {
    base,
    portVariables: ["PORT"],
    hostname: "127.0.0.1",
    port: 40001,
    dataDir: "/srv/.flotilla/order",
    instanceId: "order-1",
    registry: "consul://10.0.0.7:8500",
    registryHost: "10.0.0.7",
    peers: {},
  });
  assert.equal(env.FLOTILLA_REGISTRY, "consul://10.0.0.7:8500");
  assert.equal(env.FLOTILLA_REGISTRY_DIR, undefined);
  assert.equal(env.FLOTILLA_PEER_PAYMENT_URL, undefined);
});

Deno.test("childEnv() gives no data folder and no other port variable to a service without one", () => {
  const env = childEnv({
    contract: { name: "web", needs: { port: { env: "WEB_PORT" } } },
    entry: "x",
  }, {
    base: { FLOTILLA_DATA_DIR: "/srv/.flotilla", PORT: "8080", GATEWAY_PORT: "1" },
    portVariables: ["PORT", "WEB_PORT", "GATEWAY_PORT"],
    hostname: "0.0.0.0",
    port: 40003,
    dataDir: undefined,
    instanceId: "web-1",
    registry: "static",
    peers: {},
  });
  assert.deepEqual(env, {
    WEB_PORT: "40003",
    FLOTILLA_HOST: "0.0.0.0",
    FLOTILLA_INSTANCE_ID: "web-1",
    FLOTILLA_REGISTRY: "static",
  });
});

Deno.test("childEnv() keeps calls to peers and the registry away from a configured proxy", () => {
  const options: Omit<ChildEnvOptions, "base"> = {
    portVariables: ["PORT"],
    hostname: "10.0.0.5",
    port: 40001,
    dataDir: undefined,
    instanceId: "order-1",
    registry: "etcd://10.0.0.7:2379",
    registryHost: "10.0.0.7",
    peers: {},
  };
  const service = { contract: { name: "order" }, entry: "x" };
  const proxied = childEnv(service, {
    ...options,
    base: { HTTPS_PROXY: "http://proxy:3128", no_proxy: "corp.example, localhost" },
  });
  assert.equal(proxied.NO_PROXY, "corp.example,localhost,127.0.0.1,::1,10.0.0.5,10.0.0.7");
  assert.equal(proxied.no_proxy, proxied.NO_PROXY);
  const direct = childEnv(service, { ...options, base: {} });
  assert.equal(direct.NO_PROXY, undefined);
});

Deno.test("childEnv() gives its own FLOTILLA_CONFIG and token, never the supervisor's", () => {
  const env = childEnv(order, {
    base: { ...base, FLOTILLA_CONFIG: "file:/elsewhere.json", FLOTILLA_CONFIG_TOKEN: "theirs" },
    portVariables: ["PORT"],
    hostname: "127.0.0.1",
    port: 40001,
    dataDir: "/srv/.flotilla/order",
    instanceId: "order-1",
    registry: "static",
    peers,
    config: "file:/srv/.flotilla/config/order.json",
    configToken: "ours",
  });
  assert.equal(env.FLOTILLA_CONFIG, "file:/srv/.flotilla/config/order.json");
  assert.equal(env.FLOTILLA_CONFIG_TOKEN, "ours");
  const unset = childEnv(order, {
    base: { FLOTILLA_CONFIG: "file:/elsewhere.json", FLOTILLA_CONFIG_TOKEN: "theirs" },
    portVariables: ["PORT"],
    hostname: "127.0.0.1",
    port: 40001,
    dataDir: undefined,
    instanceId: "order-1",
    registry: "static",
    peers: {},
  });
  assert.equal(unset.FLOTILLA_CONFIG, undefined);
  assert.equal(unset.FLOTILLA_CONFIG_TOKEN, undefined);
});
