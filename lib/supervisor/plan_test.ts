import assert from "node:assert/strict";
import type { ServiceNeeds } from "@flotilla/core";
import { type ServicePlan, startOrder, type SystemPlan } from "./plan.ts";

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
  for (const variable of ["PORT", "FLOTILLA_HOST", "FLOTILLA_DATA_DIR", "FLOTILLA_PEER_B_URL"]) {
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
  const fine = service("a", {}, { LOG_FORMAT: "json", FLOTILLA_LOG_LEVEL: "debug" });
  assert.deepEqual(names({ name: "s", services: [fine] }), ["a"]);
});
