/**
 * The order service's process: opens `<FLOTILLA_DATA_DIR>/order.db`, finds
 * inventory and payment through the registry (every call goes through the
 * call pipeline), serves the service over HTTP, and resumes orders a crash
 * left `PENDING` in the background. Its order events go through the
 * database's outbox to the `shop.order` stream. SIGTERM deregisters and
 * drains it, stops the recovery and closes the database.
 *
 * Touches only its data folder, its port, its peers and its declared
 * environment.
 *
 * @module
 */

import { join } from "node:path";
import { bootService } from "@flotilla/runtime";
import { inventoryContract, orderContract, paymentContract, STREAMS } from "../contracts/mod.ts";
import { createOrderService } from "./app/service.ts";
import { PeerInventory } from "./infra/peer_inventory.ts";
import { PeerPayments } from "./infra/peer_payments.ts";
import { SqliteOrderStore } from "./infra/sqlite_order_store.ts";

const node = await bootService(orderContract);
const dataDir = node.env.dataDir!;
await Deno.mkdir(dataDir, { recursive: true });
const inventory = new PeerInventory(node.peers.client(inventoryContract));
const payments = new PeerPayments(node.peers.client(paymentContract));
const store = SqliteOrderStore.open(join(dataDir, "order.db"));
const emit = node.outbox(store.database, { stream: STREAMS.order });
const service = createOrderService({ store, inventory, payments, emit, logger: node.logger });
await node.serve(service);
service.startRecovery();
