import assert from "node:assert/strict";
import type { ServiceNeeds } from "@flotilla/core";
import { instanceId, replicaName, type ServicePlan, startOrder, type SystemPlan } from "./plan.ts";

function service(
  name: string,
  needs: ServiceNeeds = {},
  env?: Record<string, string>,
): ServicePlan {
  return { contract: { name, needs }, entry: `./${name}.ts`, ...(env ? { env } : {}) };
}

function names(plan: SystemPlan): string[] {
  return startOrder(plan).map((s) => s.contract.name);
}

Deno.test("startOrder() puts peers before the services that need them", () => {
  const shop: SystemPlan = {
    name: "shop",
    services: [
      service("gateway", { peers: ["order", "inventory", "payment"] }),
      service("order", { peers: ["inventory", "payment"] }),
      service("inventory"),
      service("payment"),
    ],
  };
  assert.deepEqual(names(shop), ["inventory", "payment", "order", "gateway"]);
});

Deno.test("startOrder() keeps plan order among independent services", () => {
  const plan = { name: "s", services: [service("c"), service("a"), service("b")] };
  assert.deepEqual(names(plan), ["c", "a", "b"]);
});

Deno.test("startOrder() orders a diamond once per service", () => {
  const plan = {
    name: "s",
    services: [
      service("top", { peers: ["left", "right"] }),
      service("left", { peers: ["bottom"] }),
      service("right", { peers: ["bottom"] }),
      service("bottom"),
    ],
  };
  assert.deepEqual(names(plan), ["bottom", "left", "right", "top"]);
});

Deno.test("startOrder() returns the plan's own service objects", () => {
  const a = service("a");
  assert.equal(startOrder({ name: "s", services: [a] })[0], a);
});

Deno.test("startOrder() throws RangeError naming a cycle", () => {
  const plan = {
    name: "s",
    services: [
      service("a", { peers: ["b"] }),
      service("b", { peers: ["c"] }),
      service("c", { peers: ["a"] }),
    ],
  };
  assert.throws(() => startOrder(plan), {
    name: "RangeError",
    message: 'Cannot plan system "s" as its peers form a cycle: a -> b -> c -> a',
  });
});

Deno.test("startOrder() throws RangeError on an unknown peer", () => {
  const plan = { name: "s", services: [service("a", { peers: ["ghost"] })] };
  assert.throws(() => startOrder(plan), {
    name: "RangeError",
    message: 'Cannot plan system "s" as service "a" needs peer "ghost", which is not in the plan',
  });
});

Deno.test("startOrder() throws RangeError on a duplicate, invalid or reserved name", () => {
  assert.throws(() => startOrder({ name: "s", services: [service("a"), service("a")] }), {
    name: "RangeError",
    message: 'Cannot plan system "s" as service "a" is listed twice',
  });
  assert.throws(() => startOrder({ name: "s", services: [service("../etc")] }), {
    name: "RangeError",
    message:
      'Cannot plan system "s" as a service name must be lowercase letters, digits and dashes: current value is "../etc"',
  });
  assert.throws(() => startOrder({ name: "s", services: [service("logs")] }), RangeError);
  assert.throws(() => startOrder({ name: "s", services: [service("registry")] }), {
    name: "RangeError",
    message:
      `Cannot plan system "s" as service name "registry" is reserved for the supervisor's own folder`,
  });
});

Deno.test("startOrder() throws RangeError on an empty plan or a missing entry", () => {
  assert.throws(() => startOrder({ name: "s", services: [] }), {
    name: "RangeError",
    message:
      "Cannot plan system \"s\" as 'services' must list at least one service: current value is []",
  });
  assert.throws(
    () => startOrder({ name: "s", services: [{ contract: { name: "a" }, entry: "" }] }),
    RangeError,
  );
});

Deno.test("startOrder() throws RangeError when env sets a variable the supervisor manages", () => {
  for (
    const variable of [
      "PORT",
      "FLOTILLA_HOST",
      "FLOTILLA_DATA_DIR",
      "FLOTILLA_PEER_B_URL",
      "FLOTILLA_REGISTRY",
      "FLOTILLA_REGISTRY_DIR",
      "FLOTILLA_INSTANCE_ID",
    ]
  ) {
    assert.throws(
      () => startOrder({ name: "s", services: [service("a", {}, { [variable]: "x" })] }),
      {
        name: "RangeError",
        message:
          `Cannot plan system "s" as the 'env' of "a" sets ${variable}, which the supervisor manages`,
      },
    );
  }
  const custom = service("a", { port: { env: "A_PORT" } }, { A_PORT: "1", LOG_FORMAT: "json" });
  assert.throws(() => startOrder({ name: "s", services: [custom] }), RangeError);
  const fine = service("a", {}, {
    LOG_FORMAT: "json",
    FLOTILLA_LOG_LEVEL: "debug",
    FLOTILLA_POLICIES: "{}",
  });
  assert.deepEqual(names({ name: "s", services: [fine] }), ["a"]);
});

Deno.test("replicaName() and instanceId() name the replicas of a service", () => {
  assert.deepEqual([1, 2, 3].map((n) => replicaName("payment", n)), [
    "payment",
    "payment-2",
    "payment-3",
  ]);
  assert.deepEqual([1, 2].map((n) => instanceId("payment", n)), ["payment-1", "payment-2"]);
});

Deno.test("startOrder() accepts 1-16 replicas", () => {
  for (const replicas of [1, 2, 16]) {
    const plan = { name: "s", services: [{ ...service("a"), replicas }] };
    assert.deepEqual(names(plan), ["a"]);
  }
});

Deno.test("startOrder() throws RangeError on replicas that are not an integer 1-16", () => {
  for (const replicas of [0, -1, 17, 1.5, NaN, "2" as unknown as number]) {
    assert.throws(
      () => startOrder({ name: "s", services: [{ ...service("a"), replicas }] }),
      {
        name: "RangeError",
        message:
          `Cannot plan system "s" as the 'replicas' of "a" must be an integer 1-16: current value is ${
            typeof replicas === "number" ? replicas : JSON.stringify(replicas)
          }`,
      },
    );
  }
});

Deno.test("startOrder() throws RangeError when a replica would take another service's name", () => {
  const plan = {
    name: "s",
    services: [{ ...service("api"), replicas: 3 }, service("api-3")],
  };
  assert.throws(() => startOrder(plan), {
    name: "RangeError",
    message:
      'Cannot plan system "s" as replica 3 of "api" would be named "api-3", which is another service\'s name',
  });
  assert.deepEqual(
    names({ ...plan, services: [{ ...service("api"), replicas: 2 }, service("api-3")] }),
    [
      "api",
      "api-3",
    ],
  );
});
