import assert from "node:assert/strict";
import { z } from "zod";
import { defineContract, peerUrlVariable } from "./contract.ts";

const action = { input: z.object({}), output: z.object({}) };

Deno.test("defineContract() returns a valid contract unchanged", () => {
  const contract = defineContract({
    name: "order",
    version: "1.0.0",
    actions: { getOrder: { ...action, http: { method: "GET", path: "/orders/:id" } } },
    needs: { dataDir: true, env: ["ORDER_LIMIT"], peers: ["payment"], port: { default: 8080 } },
  });
  assert.equal(contract.name, "order");
});

Deno.test("defineContract() rejects bad names, routes, env vars, peers and ports", () => {
  const base = { version: "1.0.0", actions: { a: action } };
  assert.throws(() => defineContract({ ...base, name: "Order" }), RangeError);
  assert.throws(
    () => defineContract({ ...base, name: "x", actions: { "a-b": action } }),
    RangeError,
  );
  assert.throws(
    () =>
      defineContract({
        ...base,
        name: "x",
        actions: {
          a: { ...action, http: { method: "GET", path: "/o/:id" } },
          b: { ...action, http: { method: "GET", path: "/o/:orderId" } },
        },
      }),
    /already taken/,
  );
  assert.throws(
    () =>
      defineContract({
        ...base,
        name: "x",
        actions: { a: { ...action, http: { method: "GET", path: "o" } } },
      }),
    RangeError,
  );
  assert.throws(
    () => defineContract({ ...base, name: "x", needs: { env: ["lower"] } }),
    RangeError,
  );
  assert.throws(() => defineContract({ ...base, name: "x", needs: { peers: ["x"] } }), RangeError);
  assert.throws(
    () => defineContract({ ...base, name: "x", needs: { port: { default: 70000 } } }),
    RangeError,
  );
});

Deno.test("peerUrlVariable() names the peer's URL variable", () => {
  assert.equal(peerUrlVariable("inventory"), "FLOTILLA_PEER_INVENTORY_URL");
  assert.equal(peerUrlVariable("order-history"), "FLOTILLA_PEER_ORDER_HISTORY_URL");
});
