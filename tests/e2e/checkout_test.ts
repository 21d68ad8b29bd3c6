/**
 * The shop end to end through the supervisor: a confirmed order moves stock
 * and balance by exactly its amounts, an idempotent retry changes nothing,
 * and each cancellation reason leaves nothing reserved or charged — with the
 * services calling each other over HTTP, and over NATS request/reply (a real
 * `nats-server` started by the test), and over gRPC.
 */

import assert from "node:assert/strict";
import { createClient } from "@flotilla/core";
import type { PeerEndpoint } from "@flotilla/client";
import { grpcCaller } from "@flotilla/grpc";
import { readStatus } from "@flotilla/supervisor";
import { startNats } from "@flotilla/testing";
import { e2eTransport, type Shop, startShop } from "../support/shop.ts";

interface Product {
  sku: string;
  name: string;
  price: number;
  stock: number;
}
interface Customer {
  id: string;
  name: string;
  balance: number;
}
interface Order {
  orderId: string;
  customerId: string;
  items: Array<{ sku: string; quantity: number; price: number }>;
  total: number;
  status: string;
  reason?: string;
}

async function products(shop: Shop): Promise<Map<string, Product>> {
  const { status, body } = await shop.get<Product[]>("/products");
  assert.equal(status, 200);
  return new Map(body.map((p) => [p.sku, p]));
}

async function balance(shop: Shop, id: string): Promise<number> {
  const { status, body } = await shop.get<Customer>(`/customers/${id}`);
  assert.equal(status, 200);
  return body.balance;
}

/** A transport between the services: its `FLOTILLA_TRANSPORT`, and the server it needs. */
interface TransportCase {
  readonly name: string;
  start(): Promise<TransportServer>;
}

interface TransportServer extends AsyncDisposable {
  /** The shop's environment for this transport. */
  readonly env: Record<string, string>;
  /** Asserts that the services' calls went over it. */
  carriedCalls(): Promise<void>;
  /** Checks of what only this transport serves, given a confirmed order. */
  more?(t: Deno.TestContext, shop: Shop, orderId: string): Promise<void>;
}

const TRANSPORTS: readonly TransportCase[] = [
  {
    name: "HTTP",
    start: () =>
      Promise.resolve({
        env: { FLOTILLA_TRANSPORT: "http" },
        carriedCalls: () => Promise.resolve(),
        [Symbol.asyncDispose]: async () => {},
      }),
  },
  {
    name: "NATS request/reply",
    async start() {
      const nats = await startNats();
      return {
        env: { FLOTILLA_TRANSPORT: nats.url },
        async carriedCalls() {
          // The inventory's and payment's action subjects received the order service's calls.
          const port = Number(new URL(nats.monitorUrl).port);
          using client = Deno.createHttpClient({
            proxy: { transport: "tcp", hostname: "127.0.0.1", port },
          });
          const response = await fetch(`${nats.monitorUrl}/subsz?subs=1&limit=1000`, { client });
          const { subscriptions_list: subs } = await response.json() as {
            subscriptions_list: { subject: string; msgs: number }[];
          };
          for (const service of ["inventory", "payment"]) {
            const received = subs.filter((sub) =>
              sub.subject.startsWith(`flotilla.rpc.${service}.`)
            )
              .reduce((sum, sub) => sum + sub.msgs, 0);
            assert.ok(received > 0, `no call reached ${service} over NATS`);
          }
        },
        [Symbol.asyncDispose]: () => nats[Symbol.asyncDispose](),
      };
    },
  },
  {
    name: "gRPC",
    start: () =>
      Promise.resolve({
        env: { FLOTILLA_TRANSPORT: "grpc" },
        // Nothing to look at: the gRPC caller never falls back to HTTP (an endpoint without a
        // gRPC port is NO_GRPC_ADDRESS), so every confirmed order above went over gRPC.
        carriedCalls: () => Promise.resolve(),
        more: watchOverGrpc,
        [Symbol.asyncDispose]: async () => {},
      }),
  },
];

/** The order's live feed, `OrderService/WatchOrder`, on the order service's own gRPC port. */
async function watchOverGrpc(t: Deno.TestContext, shop: Shop, orderId: string): Promise<void> {
  const { orderGrpcBinding } = await import("../../apps/shop/proto/bindings.ts");
  const { orderContract } = await import("../../apps/shop/contracts/mod.ts");
  // `status --json` keeps its five keys; the supervisor's status file has the gRPC ports.
  const row = (await readStatus(shop.dataDir))?.services.find((s) => s.service === "order");
  assert.ok(row?.grpcPort, "the supervisor's status names the order service's gRPC port");
  const endpoint: PeerEndpoint = {
    id: row.instance,
    url: `grpc://127.0.0.1:${row.grpcPort}`,
    instance: {
      service: "order",
      id: row.instance,
      address: "127.0.0.1",
      port: row.grpcPort,
      metadata: {},
    },
  };
  await using caller = grpcCaller({ bindings: [orderGrpcBinding()] });
  const order = createClient(orderContract, (call) => caller(endpoint, call), { caller: "e2e" });

  await t.step("WatchOrder streams a settled order once and ends (gRPC)", async () => {
    const seen = [];
    const feed = await order.call("watchOrder", { orderId }, { timeoutMs: 10_000 });
    for await (const view of feed) seen.push(view);
    assert.deepEqual(seen.map((view) => [view.orderId, view.status]), [[orderId, "CONFIRMED"]]);
  });

  await t.step("WatchOrder of an unknown order is NOT_FOUND; over HTTP it is refused", async () => {
    await assert.rejects(
      order.call("watchOrder", { orderId: crypto.randomUUID() }),
      { code: "ORDER_NOT_FOUND", kind: "NOT_FOUND" },
    );
    const overHttp = await fetch(`http://127.0.0.1:${row.port}/rpc/watchOrder`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ orderId }),
    });
    assert.equal(overHttp.status, 501);
    assert.equal((await overHttp.json()).code, "STREAMING_ACTION");
  });
}

for (const transport of TRANSPORTS) checkout(transport);

function checkout(transport: TransportCase): void {
  Deno.test({
    name:
      `the shop takes, replays and cancels orders through the gateway, then stops cleanly (${transport.name})`,
    // It picks its transports itself: a run of the suite on another one has nothing to add.
    ignore: e2eTransport() !== "http",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      const dataDir = await Deno.makeTempDir({ prefix: "flotilla-e2e-checkout-" });
      await using server = await transport.start();
      const env = server.env;
      try {
        const shop = await startShop({ dataDir, env });
        let orderId = "";
        const key = crypto.randomUUID();
        const request = {
          customerId: "alice",
          items: [{ sku: "TEA-GREEN", quantity: 2 }, { sku: "MUG-STONE", quantity: 1 }],
        };

        await t.step("the catalogue and customers are seeded, in integer cents", async () => {
          const catalogue = await products(shop);
          assert.ok(catalogue.size >= 3);
          for (const product of catalogue.values()) {
            assert.ok(Number.isInteger(product.price) && product.price > 0);
            assert.ok(Number.isInteger(product.stock) && product.stock >= 0);
            assert.equal(typeof product.name, "string");
          }
          const customers = await shop.get<Customer[]>("/customers");
          assert.equal(customers.status, 200);
          assert.ok(customers.body.some((c) => c.id === "alice"));
          for (const customer of customers.body) assert.ok(Number.isInteger(customer.balance));
        });

        await t.step(
          "a placed order is CONFIRMED and moves stock and balance by exactly its amounts",
          async () => {
            const before = await products(shop);
            const aliceBefore = await balance(shop, "alice");
            const placed = await shop.post<Order>("/orders", request, { "Idempotency-Key": key });
            assert.equal(placed.status, 201);
            assert.equal(typeof placed.body.orderId, "string");
            assert.equal(placed.body.status, "CONFIRMED");
            orderId = placed.body.orderId;

            const read = await shop.get<Order>(`/orders/${orderId}`);
            assert.equal(read.status, 200);
            const tea = before.get("TEA-GREEN")!;
            const mug = before.get("MUG-STONE")!;
            const total = 2 * tea.price + mug.price;
            assert.equal(read.body.status, "CONFIRMED");
            assert.equal(read.body.customerId, "alice");
            assert.equal(read.body.total, total);
            assert.equal(read.body.reason, undefined);
            assert.deepEqual(read.body.items.map((i) => [i.sku, i.quantity]), [["TEA-GREEN", 2], [
              "MUG-STONE",
              1,
            ]]);

            const after = await products(shop);
            assert.equal(after.get("TEA-GREEN")!.stock, tea.stock - 2);
            assert.equal(after.get("MUG-STONE")!.stock, mug.stock - 1);
            for (const [sku, product] of after) {
              if (sku !== "TEA-GREEN" && sku !== "MUG-STONE") {
                assert.equal(product.stock, before.get(sku)!.stock);
              }
            }
            assert.equal(await balance(shop, "alice"), aliceBefore - total);
          },
        );

        await t.step(
          "the same Idempotency-Key returns the same order and creates nothing new",
          async () => {
            const before = await products(shop);
            const aliceBefore = await balance(shop, "alice");
            const ordersBefore = await shop.get<Order[]>("/orders?customerId=alice");
            const replay = await shop.post<Order>("/orders", request, { "Idempotency-Key": key });
            assert.equal(replay.status, 201);
            assert.equal(replay.body.orderId, orderId);
            assert.equal(replay.body.status, "CONFIRMED");
            assert.deepEqual(await products(shop), before);
            assert.equal(await balance(shop, "alice"), aliceBefore);
            const ordersAfter = await shop.get<Order[]>("/orders?customerId=alice");
            assert.equal(ordersAfter.body.length, ordersBefore.body.length);
            assert.ok(ordersAfter.body.some((o) => o.orderId === orderId));
          },
        );

        await t.step("the same key with a different request is refused", async () => {
          const reused = await shop.post<{ code: string }>("/orders", {
            ...request,
            customerId: "bob",
          }, {
            "Idempotency-Key": key,
          });
          assert.equal(reused.status, 422);
          assert.equal(reused.body.code, "IDEMPOTENCY_KEY_REUSED");
        });

        await t.step(
          "an order for more than the stock is CANCELLED with OUT_OF_STOCK, nothing charged",
          async () => {
            const before = await products(shop);
            const bobBefore = await balance(shop, "bob");
            const mug = before.get("MUG-STONE")!;
            const placed = await shop.post<Order>("/orders", {
              customerId: "bob",
              items: [{ sku: "TEA-BLACK", quantity: 1 }, {
                sku: "MUG-STONE",
                quantity: mug.stock + 1,
              }],
            }, { "Idempotency-Key": crypto.randomUUID() });
            assert.equal(placed.status, 201);
            const read = await shop.get<Order>(`/orders/${placed.body.orderId}`);
            assert.equal(read.body.status, "CANCELLED");
            assert.equal(read.body.reason, "OUT_OF_STOCK");
            assert.deepEqual(await products(shop), before);
            assert.equal(await balance(shop, "bob"), bobBefore);
          },
        );

        await t.step(
          "an order over the balance is CANCELLED with INSUFFICIENT_FUNDS, stock given back",
          async () => {
            const before = await products(shop);
            const carolBefore = await balance(shop, "carol");
            const kettle = before.get("KETTLE-GOOSE")!;
            assert.ok(kettle.price > carolBefore, "the seed gives carol less than a kettle costs");
            const placed = await shop.post<Order>("/orders", {
              customerId: "carol",
              items: [{ sku: "KETTLE-GOOSE", quantity: 1 }],
            });
            assert.equal(placed.status, 201);
            const read = await shop.get<Order>(`/orders/${placed.body.orderId}`);
            assert.equal(read.body.status, "CANCELLED");
            assert.equal(read.body.reason, "INSUFFICIENT_FUNDS");
            assert.deepEqual(await products(shop), before);
            assert.equal(await balance(shop, "carol"), carolBefore);
          },
        );

        await t.step("orders are listed per customer", async () => {
          const listed = await shop.get<Order[]>("/orders?customerId=carol");
          assert.equal(listed.status, 200);
          assert.ok(listed.body.length >= 1);
          assert.ok(listed.body.every((o) => o.customerId === "carol"));
        });

        await t.step(`the services called each other over ${transport.name}`, async () => {
          await server.carriedCalls();
        });

        await server.more?.(t, shop, orderId);

        let aliceBalance = 0;
        await t.step("SIGTERM stops every service and the supervisor exits 0", async () => {
          aliceBalance = await balance(shop, "alice");
          const pids = (await shop.status()).map((s) => s.pid!);
          assert.equal(await shop.stop(), 0);
          for (const pid of pids) assert.ok(!isAlive(pid), `process ${pid} is still alive`);
          const after = await shop.status();
          assert.ok(after.every((s) => s.state === "stopped" && s.pid === null));
          await assert.rejects(fetch(`${shop.url}/healthz`));
        });

        await t.step("a second start keeps the data", async () => {
          await using again = await startShop({ dataDir, env });
          const read = await again.get<Order>(`/orders/${orderId}`);
          assert.equal(read.status, 200);
          assert.equal(read.body.status, "CONFIRMED");
          assert.equal(await balance(again, "alice"), aliceBalance);
        });
      } finally {
        await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      }
    },
  });
}

function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
