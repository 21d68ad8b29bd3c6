/**
 * Bad input at the gateway: each case is a 4xx problem+json naming what is
 * wrong, and leaves stock, balances and orders exactly as they were.
 */

import assert from "node:assert/strict";
import { snapshot, startShop } from "../support/shop.ts";

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: Array<{ pointer: string; field: string; message: string }>;
}

const valid = { customerId: "alice", items: [{ sku: "TEA-GREEN", quantity: 1 }] };

const cases: Array<{
  name: string;
  body: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  field?: string;
}> = [
  {
    name: "malformed JSON",
    body: '{"customerId": "alice", "items": [',
    status: 400,
    code: "MALFORMED_JSON",
  },
  { name: "an empty body", body: "", status: 400, code: "INVALID_ARGUMENT" },
  { name: "a JSON array body", body: [valid], status: 400, code: "INVALID_ARGUMENT" },
  {
    name: "a quantity of the wrong type",
    body: { customerId: "alice", items: [{ sku: "TEA-GREEN", quantity: "2" }] },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "items[0].quantity",
  },
  {
    name: "a customer id of the wrong type",
    body: { customerId: 42, items: valid.items },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "customerId",
  },
  {
    name: "items that are not a list",
    body: { customerId: "alice", items: "TEA-GREEN" },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "items",
  },
  {
    name: "no items",
    body: { customerId: "alice", items: [] },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "items",
  },
  {
    name: "a missing customer id",
    body: { items: valid.items },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "customerId",
  },
  {
    name: "an unknown sku",
    body: {
      customerId: "alice",
      items: [{ sku: "TEA-GREEN", quantity: 1 }, { sku: "NO-SUCH-SKU", quantity: 1 }],
    },
    status: 422,
    code: "UNKNOWN_SKU",
    field: "items[1].sku",
  },
  {
    name: "a zero quantity",
    body: { customerId: "alice", items: [{ sku: "TEA-GREEN", quantity: 0 }] },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "items[0].quantity",
  },
  {
    name: "a negative quantity",
    body: { customerId: "alice", items: [{ sku: "TEA-GREEN", quantity: -3 }] },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "items[0].quantity",
  },
  {
    name: "a fractional quantity",
    body: { customerId: "alice", items: [{ sku: "TEA-GREEN", quantity: 1.5 }] },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "items[0].quantity",
  },
  {
    name: "a huge quantity",
    body: { customerId: "alice", items: [{ sku: "TEA-GREEN", quantity: 1e12 }] },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "items[0].quantity",
  },
  {
    name: "a quantity beyond any number",
    body: '{"customerId": "alice", "items": [{"sku": "TEA-GREEN", "quantity": 1e400}]}',
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "items[0].quantity",
  },
  {
    name: "the same sku twice",
    body: {
      customerId: "alice",
      items: [{ sku: "TEA-GREEN", quantity: 1 }, { sku: "TEA-GREEN", quantity: 1 }],
    },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "items[1].sku",
  },
  {
    name: "an unknown field",
    body: { ...valid, coupon: "FREE" },
    status: 400,
    code: "INVALID_ARGUMENT",
  },
  {
    name: "an unknown customer",
    body: { customerId: "mallory", items: valid.items },
    status: 422,
    code: "UNKNOWN_CUSTOMER",
    field: "customerId",
  },
  {
    name: "a body over the 1 MiB limit",
    body: { ...valid, padding: "x".repeat(1024 * 1024 + 1) },
    status: 413,
    code: "PAYLOAD_TOO_LARGE",
  },
  {
    name: "an Idempotency-Key that is too long",
    body: valid,
    headers: { "Idempotency-Key": "k".repeat(300) },
    status: 400,
    code: "INVALID_IDEMPOTENCY_KEY",
  },
];

Deno.test({
  name: "the gateway answers bad input with 4xx problem+json and changes no state",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using shop = await startShop();
    const before = await snapshot(shop);

    for (const c of cases) {
      await t.step(`${c.name} → ${c.status} ${c.code}`, async () => {
        const response = await fetch(`${shop.url}/orders`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "idempotency-key": crypto.randomUUID(),
            ...c.headers,
          },
          body: typeof c.body === "string" ? c.body : JSON.stringify(c.body),
        });
        assert.equal(response.status, c.status);
        assert.equal(response.headers.get("content-type"), "application/problem+json");
        const problem: Problem = await response.json();
        assert.equal(problem.status, c.status);
        assert.equal(problem.code, c.code);
        assert.equal(typeof problem.type, "string");
        assert.equal(typeof problem.title, "string");
        assert.ok(problem.detail.length > 0);
        if (c.field) {
          assert.ok(
            problem.errors?.some((e) => e.field === c.field),
            `expected field ${c.field} in ${JSON.stringify(problem.errors)}`,
          );
          assert.ok(problem.detail.includes(c.field), problem.detail);
        }
      });
    }

    await t.step("unknown routes are 404 and unknown ids are 404, as problem+json", async () => {
      for (const path of ["/nowhere", "/orders/no-such-order", "/customers/no-such-customer"]) {
        const response = await fetch(shop.url + path);
        assert.equal(response.status, 404, path);
        assert.equal(response.headers.get("content-type"), "application/problem+json");
        await response.body?.cancel();
      }
      const wrongMethod = await fetch(`${shop.url}/products`, { method: "DELETE" });
      assert.equal(wrongMethod.status, 405);
      await wrongMethod.body?.cancel();
    });

    await t.step("nothing changed: stock, balances and orders are as before", async () => {
      assert.deepEqual(await snapshot(shop), before);
    });
  },
});
