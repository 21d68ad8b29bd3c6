/**
 * The inventory service's process: opens `<FLOTILLA_DATA_DIR>/inventory.db`,
 * seeds the catalogue on the first start only, registers in the registry and
 * serves the service over HTTP until SIGTERM (which deregisters it, drains it
 * and closes the database). Its stock events go through the database's
 * outbox to the `shop.inventory` stream.
 *
 * Touches only its data folder, its port, its registry and its declared
 * environment.
 *
 * @module
 */

import { join } from "node:path";
import { bootService } from "@flotilla/runtime";
import { inventoryContract, STREAMS } from "../contracts/mod.ts";
import { createInventoryService } from "./app/service.ts";
import { SEED_PRODUCTS } from "./infra/seed.ts";
import { SqliteInventoryStore } from "./infra/sqlite_inventory_store.ts";

const node = await bootService(inventoryContract, {
  // Loaded only with FLOTILLA_TRANSPORT=grpc: this service's .proto messages.
  grpc: { binding: async () => (await import("../proto/bindings.ts")).inventoryGrpcBinding() },
});
const dataDir = node.env.dataDir!;
await Deno.mkdir(dataDir, { recursive: true });
const store = SqliteInventoryStore.open(join(dataDir, "inventory.db"));
if (store.seed(SEED_PRODUCTS)) {
  node.logger.info("seeded the catalogue", { products: SEED_PRODUCTS.length });
}
const emit = node.outbox(store.database, { stream: STREAMS.inventory });
await node.serve(createInventoryService({ store, emit }));
