import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { z } from "zod";
import {
  type Context,
  createClient,
  createContext,
  defineContract,
  defineService,
  FlotillaError,
  Logger,
  MemorySink,
  NotFoundError,
  runService,
  type Service,
} from "@flotilla/core";
import { callPipeline, type PeerEndpoint, Peers } from "@flotilla/client";
import { MemoryRegistry, registryAnnouncer, StaticRegistry } from "@flotilla/discovery";
import { resolvePolicy } from "@flotilla/resilience";
import { httpTransport } from "@flotilla/http";
import {
  fromGrpcStatus,
  type GrpcBinding,
  grpcBinding,
  grpcCaller,
  grpcTransport,
  streamOf,
} from "@flotilla/grpc";
import {
  inventoryContract,
  orderContract,
  OrderId,
  type OrderView,
  OrderView as OrderViewSchema,
  paymentContract,
} from "../contracts/mod.ts";
import { createInventoryService } from "../inventory/app/service.ts";
import { MemoryInventoryStore } from "../inventory/infra/memory_inventory_store.ts";
import { SEED_PRODUCTS } from "../inventory/infra/seed.ts";
import { createPaymentService } from "../payment/app/service.ts";
import { MemoryPaymentStore } from "../payment/infra/memory_payment_store.ts";
import { SEED_CUSTOMERS } from "../payment/infra/seed.ts";
import { PeerInventory } from "../order/infra/peer_inventory.ts";
import { PeerPayments } from "../order/infra/peer_payments.ts";
import { RawClient } from "../../../lib/grpc/testdata/raw_client.ts";
import {
  inventoryGrpcBinding,
  orderGrpcBinding,
  paymentGrpcBinding,
  SHOP_PROTO,
} from "./bindings.ts";

const quiet = () => new Logger({ sink: new MemorySink() });

async function serve(
  service: Service,
  binding: GrpcBinding,
) {
  const running = await runService(service, {
    logger: quiet(),
    transports: [grpcTransport({ port: 0, binding })],
    signals: [],
  });
  const port = running.addresses.grpc!.port;
  const endpoint: PeerEndpoint = {
    id: `${service.contract.name}-1`,
    url: `grpc://127.0.0.1:${port}`,
    instance: {
      service: service.contract.name,
      id: `${service.contract.name}-1`,
      address: "127.0.0.1",
      port,
      metadata: { protocol: "grpc" },
    },
  };
  return { running, port, endpoint, [Symbol.asyncDispose]: () => running.stop() };
}

async function startInventory() {
  const store = new MemoryInventoryStore(SEED_PRODUCTS);
  return { store, ...await serve(createInventoryService({ store }), inventoryGrpcBinding()) };
}

async function startPayment() {
  const store = new MemoryPaymentStore(SEED_CUSTOMERS);
  return { store, ...await serve(createPaymentService({ store }), paymentGrpcBinding()) };
}

const TEA = SEED_PRODUCTS.find((product) => product.stock > 10)!;
const GONE = SEED_PRODUCTS.find((product) => product.stock === 0)!;

Deno.test("shop.proto binds the order, inventory and payment contracts", () => {
  assert.equal(
    inventoryGrpcBinding().methods.get("getProducts")?.path,
    "/flotilla.shop.v1.InventoryService/GetProducts",
  );
  assert.equal(
    paymentGrpcBinding().methods.get("charge")?.path,
    "/flotilla.shop.v1.PaymentService/Charge",
  );
  assert.equal(
    orderGrpcBinding().methods.get("getOrderEvents")?.path,
    "/flotilla.shop.v1.OrderService/GetOrderEvents",
  );
});

Deno.test("inventory over gRPC: the contract's values round-trip through shop.proto's messages", async () => {
  await using inventory = await startInventory();
  await using caller = grpcCaller({ bindings: [inventoryGrpcBinding()] });
  const client = createClient(inventoryContract, (call) => caller(inventory.endpoint, call), {
    caller: "order",
  });
  assert.deepEqual(await client.call("listProducts", {}), inventory.store.listProducts());
  assert.deepEqual(await client.call("getProducts", { skus: [TEA.sku, "NOPE"] }), {
    products: [TEA],
  });
  assert.deepEqual(
    await client.call("reserve", { orderId: "o-1", items: [{ sku: TEA.sku, quantity: 2 }] }),
    { status: "RESERVED" },
  );
  assert.deepEqual(
    await client.call("reserve", { orderId: "o-2", items: [{ sku: GONE.sku, quantity: 1 }] }),
    { status: "REJECTED", reason: "OUT_OF_STOCK", sku: GONE.sku },
  );
  assert.equal(inventory.store.getProducts([TEA.sku])[0]?.stock, TEA.stock - 2);
  assert.deepEqual(await client.call("release", { orderId: "o-1" }), {
    status: "RELEASED",
    released: true,
  });
  assert.equal(inventory.store.getProducts([TEA.sku])[0]?.stock, TEA.stock);
});

Deno.test("payment over gRPC: charges and refunds in integer cents", async () => {
  await using payment = await startPayment();
  await using caller = grpcCaller({ bindings: [paymentGrpcBinding()] });
  const client = createClient(paymentContract, (call) => caller(payment.endpoint, call), {
    caller: "order",
  });
  assert.deepEqual(await client.call("listCustomers", {}), [...SEED_CUSTOMERS]);
  assert.deepEqual(await client.call("getCustomer", { customerId: "bob" }), SEED_CUSTOMERS[1]);
  assert.deepEqual(
    await client.call("charge", { orderId: "o-1", customerId: "bob", amount: 1_250 }),
    { status: "CHARGED" },
  );
  assert.deepEqual(
    await client.call("charge", { orderId: "o-2", customerId: "carol", amount: 999_999 }),
    { status: "DECLINED", reason: "INSUFFICIENT_FUNDS" },
  );
  assert.equal(payment.store.getCustomer("bob")?.balance, 20_000 - 1_250);
  assert.deepEqual(await client.call("refund", { orderId: "o-1" }), { status: "REFUNDED" });
  assert.equal(payment.store.getCustomer("bob")?.balance, 20_000);
});

Deno.test("inventory TCC over gRPC: Try, Confirm, Cancel and the barrier's refusals keep their codes", async () => {
  await using inventory = await startInventory();
  await using caller = grpcCaller({ bindings: [inventoryGrpcBinding()] });
  const client = createClient(inventoryContract, (call) => caller(inventory.endpoint, call), {
    caller: "order",
  });
  const items = [{ sku: TEA.sku, quantity: 2 }];
  assert.deepEqual(await client.call("tryReserve", { txId: "o-1", items }), { status: "TRIED" });
  assert.deepEqual(await client.call("tryReserve", { txId: "o-1", items }), {
    status: "REPLAYED",
  });
  assert.equal(inventory.store.getProducts([TEA.sku])[0]?.stock, TEA.stock - 2);
  assert.deepEqual(await client.call("confirmReserve", { txId: "o-1" }), {
    status: "CONFIRMED",
  });
  assert.deepEqual(await client.call("cancelReserve", { txId: "o-2" }), {
    status: "EMPTY_ROLLBACK",
  });
  const late = await client.call("tryReserve", { txId: "o-2", items }).catch((e: unknown) => e);
  assert.ok(late instanceof FlotillaError);
  assert.equal(late.code, "TCC_TRY_AFTER_CANCEL");
  assert.equal(late.kind, "FAILED_PRECONDITION");
  const short = await client.call("tryReserve", {
    txId: "o-3",
    items: [{ sku: GONE.sku, quantity: 1 }],
  }).catch((e: unknown) => e);
  assert.ok(short instanceof FlotillaError);
  assert.equal(short.code, "OUT_OF_STOCK");
  assert.deepEqual(short.data, { sku: GONE.sku });
  assert.equal(inventory.store.getProducts([TEA.sku])[0]?.stock, TEA.stock - 2);
});

Deno.test("payment TCC over gRPC: Try, Confirm, Cancel in integer cents", async () => {
  await using payment = await startPayment();
  await using caller = grpcCaller({ bindings: [paymentGrpcBinding()] });
  const client = createClient(paymentContract, (call) => caller(payment.endpoint, call), {
    caller: "order",
  });
  const bob = { txId: "o-1", customerId: "bob", amount: 1_250 };
  assert.deepEqual(await client.call("tryCharge", bob), { status: "TRIED" });
  assert.deepEqual(await client.call("tryCharge", bob), { status: "REPLAYED" });
  assert.equal(payment.store.getCustomer("bob")?.balance, 20_000 - 1_250);
  assert.deepEqual(await client.call("cancelCharge", { txId: "o-1" }), { status: "CANCELLED" });
  assert.equal(payment.store.getCustomer("bob")?.balance, 20_000);
  const late = await client.call("confirmCharge", { txId: "o-1" }).catch((e: unknown) => e);
  assert.ok(late instanceof FlotillaError);
  assert.equal(late.code, "TCC_CONFIRM_AFTER_CANCEL");
  await client.call("tryCharge", { ...bob, txId: "o-2" });
  assert.deepEqual(await client.call("confirmCharge", { txId: "o-2" }), { status: "CONFIRMED" });
  assert.deepEqual(await client.call("cancelCharge", { txId: "o-3" }), {
    status: "EMPTY_ROLLBACK",
  });
  const poor = await client.call("tryCharge", { txId: "o-4", customerId: "carol", amount: 999_999 })
    .catch((e: unknown) => e);
  assert.ok(poor instanceof FlotillaError);
  assert.equal(poor.code, "INSUFFICIENT_FUNDS");
});

Deno.test("bad requests over gRPC get INVALID_ARGUMENT naming the field and change no stock or balance", async () => {
  await using inventory = await startInventory();
  await using payment = await startPayment();
  const stockBefore = inventory.store.listProducts();
  const balancesBefore = payment.store.listCustomers();
  using raw = new RawClient(inventory.port, [], [SHOP_PROTO.pathname]);
  const reserve = (value: Record<string, unknown>) =>
    raw.unary(
      "/flotilla.shop.v1.InventoryService/Reserve",
      "flotilla.shop.v1.ReserveRequest",
      "flotilla.shop.v1.ReserveResponse",
      value,
    );
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ items: [{ sku: TEA.sku, quantity: 1 }] }, "/orderId"],
    [{ orderId: "o-1", items: [{ sku: TEA.sku, quantity: 0 }] }, "/items/0/quantity"],
    [{ orderId: "o-1", items: [{ quantity: 1 }] }, "/items/0/sku"],
    [{ orderId: "o-1", items: [] }, "/items"],
  ];
  for (const [value, pointer] of cases) {
    const { error } = await reserve(value);
    assert.equal(error?.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(value));
    assert.deepEqual(fromGrpcStatus(error!)?.issues.map((issue) => issue.pointer), [pointer]);
  }
  // A client whose .proto has `amount` as a string: the wire type is refused, naming the field.
  using wrong = new RawClient(payment.port, [
    `syntax = "proto3"; package flotilla.shop.v1;
     message ChargeRequest { string order_id = 1; string customer_id = 2; string amount = 3; }
     message ChargeResponse { int32 status = 1; }`,
  ]);
  const charge = await wrong.unary(
    "/flotilla.shop.v1.PaymentService/Charge",
    "flotilla.shop.v1.ChargeRequest",
    "flotilla.shop.v1.ChargeResponse",
    { orderId: "o-1", customerId: "alice", amount: "100" },
  );
  assert.equal(charge.error?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(charge.error!.details, /^amount: expected an integer \(int64\)/);
  assert.deepEqual(inventory.store.listProducts(), stockBefore);
  assert.deepEqual(payment.store.listCustomers(), balancesBefore);
});

Deno.test("the order service's peer adapters work unchanged over gRPC, typed errors included", async () => {
  await using inventory = await startInventory();
  await using payment = await startPayment();
  await using caller = grpcCaller({ bindings: [inventoryGrpcBinding(), paymentGrpcBinding()] });
  const peers = new PeerInventory(
    createClient(inventoryContract, (call) => caller(inventory.endpoint, call), {
      caller: "order",
    }),
  );
  const payments = new PeerPayments(
    createClient(paymentContract, (call) => caller(payment.endpoint, call), { caller: "order" }),
  );
  using ctx = createContext({ service: "order", action: "placeOrder", logger: quiet() });
  // UNKNOWN_SKU: FAILED_PRECONDITION with the offending field.
  await assert.rejects(
    peers.reserve({ orderId: "o-1", items: [{ sku: "NOPE", quantity: 1 }] }, ctx),
    (error: unknown) => {
      assert.ok(error instanceof FlotillaError);
      assert.equal(error.code, "UNKNOWN_SKU");
      assert.equal(error.kind, "FAILED_PRECONDITION");
      assert.deepEqual(error.issues, [{ pointer: "/items/0/sku", message: 'unknown sku "NOPE"' }]);
      assert.deepEqual(error.data, { skus: ["NOPE"] });
      return true;
    },
  );
  // RESERVATION_RELEASED (ABORTED) becomes the RELEASED outcome.
  await peers.release("o-2", ctx);
  assert.deepEqual(
    await peers.reserve({ orderId: "o-2", items: [{ sku: TEA.sku, quantity: 1 }] }, ctx),
    {
      status: "RELEASED",
    },
  );
  // CUSTOMER_NOT_FOUND (NOT_FOUND) becomes undefined; PAYMENT_VOIDED (ABORTED) the VOIDED outcome.
  assert.equal(await payments.getCustomer("nobody", ctx), undefined);
  await payments.refund("o-3", ctx);
  assert.equal(
    await payments.charge({ orderId: "o-3", customerId: "alice", amount: 100 }, ctx),
    "VOIDED",
  );
  assert.equal(
    await payments.charge({ orderId: "o-4", customerId: "alice", amount: 100 }, ctx),
    "CHARGED",
  );
});

Deno.test("calls through Peers and callPipeline find the gRPC port that registryAnnouncer records", async () => {
  await using registry = new MemoryRegistry();
  const store = new MemoryInventoryStore(SEED_PRODUCTS);
  const running = await runService(createInventoryService({ store }), {
    logger: quiet(),
    transports: [
      httpTransport({ port: 0 }),
      grpcTransport({ port: 0, binding: inventoryGrpcBinding() }),
    ],
    announcer: registryAnnouncer(registry, { instanceId: "inventory-1" }),
    signals: [],
  });
  await using _ = running;
  const [instance] = await registry.instances("inventory");
  assert.equal(instance?.metadata.grpc_port, String(running.addresses.grpc!.port));
  // This caller speaks only gRPC: answers prove the calls went to the gRPC port.
  await using caller = grpcCaller({ bindings: [inventoryGrpcBinding()] });
  await using peers = new Peers({ caller: "order", registry, transport: caller, logger: quiet() });
  const inventory = peers.client(inventoryContract);
  assert.deepEqual(await inventory.call("getProducts", { skus: [TEA.sku] }), { products: [TEA] });
  await assert.rejects(
    inventory.call("reserve", { orderId: "o", items: [{ sku: "NOPE", quantity: 1 }] }),
    {
      code: "UNKNOWN_SKU",
    },
  );

  // The same through a bare pipeline and a static peer listed as grpc://host:port.
  const statics = new StaticRegistry({
    inventory: [`grpc://127.0.0.1:${running.addresses.grpc!.port}`],
  });
  const [listed] = await statics.instances("inventory");
  const pipeline = callPipeline({
    service: "inventory",
    endpoints: { current: () => [{ id: listed!.id, url: "http://unused", instance: listed! }] },
    transport: caller,
    policy: (action) => resolvePolicy({}, "inventory", action),
  });
  const client = createClient(inventoryContract, pipeline, { caller: "order" });
  assert.deepEqual(await client.call("listProducts", {}), store.listProducts());
});

// --- WatchOrder: a streaming method, served by a test order service ------------------------

const orderFeedContract = defineContract({
  name: "order",
  version: "0.1.0",
  actions: {
    getOrder: orderContract.actions.getOrder,
    watchOrder: {
      description: "The order now, then after each change, until CONFIRMED or CANCELLED.",
      input: z.strictObject({ orderId: OrderId }),
      output: streamOf(OrderViewSchema),
    },
  },
});

function createOrderFeed() {
  const orders = new Map<string, OrderView>();
  const listeners = new Set<(order: OrderView) => void>();
  const update = (order: OrderView) => {
    orders.set(order.orderId, order);
    for (const listener of listeners) listener(order);
  };
  const find = (orderId: string) => {
    const order = orders.get(orderId);
    if (!order) throw new NotFoundError("ORDER_NOT_FOUND", `No order "${orderId}"`, { orderId });
    return order;
  };
  const service = defineService(orderFeedContract, {
    getOrder: ({ orderId }) => find(orderId),
    watchOrder: ({ orderId }, ctx: Context) => {
      const first = find(orderId);
      return (async function* () {
        const queue: OrderView[] = [first];
        let wake: (() => void) | undefined;
        const listener = (order: OrderView) => {
          if (order.orderId !== orderId) return;
          queue.push(order);
          wake?.();
        };
        listeners.add(listener);
        const aborted = new Promise<void>((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve(), { once: true })
        );
        try {
          while (!ctx.signal.aborted) {
            const order = queue.shift();
            if (!order) {
              await Promise.race([new Promise<void>((resolve) => wake = resolve), aborted]);
              continue;
            }
            yield order;
            if (order.status !== "PENDING") return;
          }
        } finally {
          listeners.delete(listener);
        }
      })();
    },
  });
  return { service, update, watching: () => listeners.size };
}

const PLACED: OrderView = {
  orderId: "o-9",
  customerId: "alice",
  items: [{ sku: TEA.sku, quantity: 2, price: TEA.price }],
  total: 2 * TEA.price,
  status: "PENDING",
  createdAt: "2026-11-26T08:00:00.000Z",
  updatedAt: "2026-11-26T08:00:00.000Z",
};

Deno.test("OrderService/WatchOrder streams an order's changes until it settles", async () => {
  const binding = grpcBinding(orderFeedContract, {
    proto: SHOP_PROTO,
    service: "flotilla.shop.v1.OrderService",
  });
  assert.equal(binding.methods.get("watchOrder")?.stream, true);
  const feed = createOrderFeed();
  feed.update(PLACED);
  await using order = await serve(feed.service, binding);
  await using caller = grpcCaller({ bindings: [binding] });
  const client = createClient(orderFeedContract, (call) => caller(order.endpoint, call), {
    caller: "gateway",
  });
  assert.deepEqual(await client.call("getOrder", { orderId: "o-9" }), PLACED);
  const seen: OrderView[] = [];
  for await (
    const view of await client.call("watchOrder", { orderId: "o-9" }, { timeoutMs: 60_000 })
  ) {
    seen.push(view);
    if (seen.length === 1) {
      feed.update({ ...PLACED, updatedAt: "2026-11-26T08:00:01.000Z" });
      feed.update({ ...PLACED, status: "CONFIRMED", updatedAt: "2026-11-26T08:00:02.000Z" });
    }
  }
  assert.deepEqual(seen.map((view) => view.status), ["PENDING", "PENDING", "CONFIRMED"]);
  assert.equal(feed.watching(), 0);
  await assert.rejects(client.call("watchOrder", { orderId: "nope" }), {
    code: "ORDER_NOT_FOUND",
    kind: "NOT_FOUND",
  });
  // The real order contract's watchOrder is bound to the same streaming method.
  assert.equal(orderGrpcBinding().methods.get("watchOrder")?.stream, true);
});
