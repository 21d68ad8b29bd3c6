/**
 * The order service's process: opens `<FLOTILLA_DATA_DIR>/order.db`, builds
 * clients of inventory and payment from `FLOTILLA_PEER_<NAME>_URL`, serves
 * the service over HTTP, and resumes orders a crash left `PENDING` in the
 * background. SIGTERM drains it, stops the recovery and closes the database.
 *
 * Touches only its data folder, its port, its peers and its declared
 * environment.
 *
 * @module
 */

import { join } from "node:path";
import {
  createClient,
  Logger,
  peerUrlVariable,
  readServiceEnv,
  type ServiceEnv,
} from "@flotilla/core";
import { httpCallHandler, serveService } from "@flotilla/http";
import { inventoryContract, orderContract, paymentContract } from "../contracts/mod.ts";
import { createOrderService } from "./app/service.ts";
import { PeerInventory } from "./infra/peer_inventory.ts";
import { PeerPayments } from "./infra/peer_payments.ts";
import { SqliteOrderStore } from "./infra/sqlite_order_store.ts";

const env = readServiceEnv(orderContract);
const logger = new Logger({ level: env.logLevel, fields: { service: orderContract.name } });
if (env.dataDir === undefined) {
  throw new RangeError("Cannot start order: FLOTILLA_DATA_DIR is unset");
}
await Deno.mkdir(env.dataDir, { recursive: true });

const caller = orderContract.name;
const inventory = new PeerInventory(
  createClient(inventoryContract, httpCallHandler({ baseUrl: peerUrl(env, "inventory") }), {
    caller,
  }),
);
const payments = new PeerPayments(
  createClient(paymentContract, httpCallHandler({ baseUrl: peerUrl(env, "payment") }), { caller }),
);
const store = SqliteOrderStore.open(join(env.dataDir, "order.db"));
const service = createOrderService({ store, inventory, payments, logger });
await serveService(service, { logger });
service.startRecovery();

function peerUrl(env: ServiceEnv, peer: string): string {
  const url = env.peers[peer];
  if (url === undefined) {
    throw new RangeError(
      `Cannot start order as peer "${peer}" has no URL: ${peerUrlVariable(peer)} is unset`,
    );
  }
  return url;
}
