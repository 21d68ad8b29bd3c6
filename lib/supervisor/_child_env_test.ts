import assert from "node:assert/strict";
import { childEnv } from "./_child_env.ts";

const order = {
  contract: { name: "order", needs: { dataDir: true, peers: ["inventory"] } },
  entry: "./order.ts",
  env: { ORDER_LIMIT: "5", FLOTILLA_LOG_LEVEL: "debug" },
};

Deno.test("childEnv() sets the managed variables over the plan's and the supervisor's", () => {
  const env = childEnv(order, {
    base: {
      HOME: "/home/me",
      PORT: "8080",
      FLOTILLA_DATA_DIR: "/srv/.flotilla",
      FLOTILLA_LOG_LEVEL: "info",
      FLOTILLA_BODY_LIMIT: "100",
      FLOTILLA_PEER_GHOST_URL: "http://x",
      ORDER_LIMIT: "1",
    },
    portVariables: ["PORT"],
    hostname: "127.0.0.1",
    port: 40001,
    dataDir: "/srv/.flotilla/order",
    peers: { inventory: "http://127.0.0.1:40002" },
  });
  assert.deepEqual(env, {
    HOME: "/home/me",
    FLOTILLA_LOG_LEVEL: "debug",
    FLOTILLA_BODY_LIMIT: "100",
    ORDER_LIMIT: "5",
    PORT: "40001",
    FLOTILLA_HOST: "127.0.0.1",
    FLOTILLA_DATA_DIR: "/srv/.flotilla/order",
    FLOTILLA_PEER_INVENTORY_URL: "http://127.0.0.1:40002",
  });
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
    peers: {},
  });
  assert.deepEqual(env, {
    WEB_PORT: "40003",
    FLOTILLA_HOST: "0.0.0.0",
  });
});

Deno.test("childEnv() keeps calls to peers away from a configured proxy", () => {
  const options = {
    portVariables: ["PORT"],
    hostname: "10.0.0.5",
    port: 40001,
    dataDir: undefined,
    peers: {},
  };
  const service = { contract: { name: "order" }, entry: "x" };
  const proxied = childEnv(service, {
    ...options,
    base: { HTTPS_PROXY: "http://proxy:3128", no_proxy: "corp.example, localhost" },
  });
  assert.equal(proxied.NO_PROXY, "corp.example,localhost,127.0.0.1,::1,10.0.0.5");
  assert.equal(proxied.no_proxy, proxied.NO_PROXY);
  const direct = childEnv(service, { ...options, base: {} });
  assert.equal(direct.NO_PROXY, undefined);
});
