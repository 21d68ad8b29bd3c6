/**
 * The order service's process: opens `<FLOTILLA_DATA_DIR>/order.db` (the
 * orders projection, and with the default `FLOTILLA_EVENTSTORE=sqlite` the
 * events and their outbox too; with `postgres://…` the events and outbox
 * live in PostgreSQL), projects the order events into the orders table,
 * finds inventory and payment through the registry (every call goes through
 * the call pipeline), serves the service over HTTP, and resumes orders a
 * crash left `PENDING` in the background. Every appended event is published
 * once to the `shop.order` stream. SIGTERM deregisters and drains it, stops
 * the recovery and the projector, and closes the stores.
 *
 * Touches only its data folder, its port, its peers, its event store and
 * its declared environment.
 *
 * @module
 */

import { join } from "node:path";
import { openDatabase } from "@flotilla/sqlite";
import { SqliteProjector } from "@flotilla/eventstore";
import { bootService } from "@flotilla/runtime";
import { inventoryContract, orderContract, paymentContract, STREAMS } from "../contracts/mod.ts";
import { createOrderService } from "./app/service.ts";
import { EventSourcedOrderStore } from "./infra/event_sourced_order_store.ts";
import { orderViewsProjection, SqliteOrderViews } from "./infra/order_views.ts";
import { PeerInventory } from "./infra/peer_inventory.ts";
import { PeerPayments } from "./infra/peer_payments.ts";
import { openCheckout } from "./infra/checkout_config.ts";

const node = await bootService(orderContract, {
  // Loaded only with FLOTILLA_TRANSPORT=grpc: the .proto messages of this service and its peers.
  grpc: {
    binding: async () => (await import("../proto/bindings.ts")).orderGrpcBinding(),
    peers: async () => {
      const { inventoryGrpcBinding, paymentGrpcBinding } = await import("../proto/bindings.ts");
      return [inventoryGrpcBinding(), paymentGrpcBinding()];
    },
  },
});
const dataDir = node.env.dataDir!;
await Deno.mkdir(dataDir, { recursive: true });
const db = openDatabase(join(dataDir, "order.db"));
const events = await node.eventStore(db, { stream: STREAMS.order });
const views = new SqliteOrderViews(db);
const projector = await SqliteProjector.start({
  store: events,
  db,
  projection: orderViewsProjection,
  onError: (error) => node.logger.error("the orders projection failed; retrying", { error }),
});
let projecting = true;
projector.closed.then(
  () => projecting = false,
  (error) => {
    projecting = false;
    node.logger.error("the orders projection stopped", { error });
  },
);
const checkout = await openCheckout(node, db);
const store = new EventSourcedOrderStore({
  events,
  tracer: node.telemetry.tracer,
  dbSystem: node.env.eventStore.startsWith("postgres") ? "postgresql" : "sqlite",
  waitForReadSide: (position, signal) =>
    projector.waitFor(position, signal === undefined ? {} : { signal }),
});
const service = createOrderService({
  store,
  views,
  readSide: projector,
  inventory: new PeerInventory(node.peers.client(inventoryContract)),
  payments: new PeerPayments(node.peers.client(paymentContract)),
  logger: node.logger,
  checkout: checkout.options,
  readiness: [{ name: "orders projection", check: () => projecting }],
  close: async () => {
    await projector[Symbol.asyncDispose]();
    await checkout.options.sagas.close();
    await events[Symbol.asyncDispose]();
    db.close();
  },
});
await node.serve(service);
service.startRecovery();
