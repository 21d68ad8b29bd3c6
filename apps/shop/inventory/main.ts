/**
 * The inventory service's process: opens `<FLOTILLA_DATA_DIR>/inventory.db`,
 * seeds the catalogue on the first start only, and serves the service over
 * HTTP until SIGTERM (which drains it and closes the database).
 *
 * Touches only its data folder, its port and its declared environment.
 *
 * @module
 */

import { join } from "node:path";
import { Logger, readServiceEnv } from "@flotilla/core";
import { serveService } from "@flotilla/http";
import { inventoryContract } from "../contracts/mod.ts";
import { createInventoryService } from "./app/service.ts";
import { SEED_PRODUCTS } from "./infra/seed.ts";
import { SqliteInventoryStore } from "./infra/sqlite_inventory_store.ts";

const env = readServiceEnv(inventoryContract);
const logger = new Logger({ level: env.logLevel, fields: { service: inventoryContract.name } });
if (env.dataDir === undefined) {
  throw new RangeError("Cannot start inventory: FLOTILLA_DATA_DIR is unset");
}
await Deno.mkdir(env.dataDir, { recursive: true });
const store = SqliteInventoryStore.open(join(env.dataDir, "inventory.db"));
if (store.seed(SEED_PRODUCTS)) {
  logger.info("seeded the catalogue", { products: SEED_PRODUCTS.length });
}
await serveService(createInventoryService({ store }), { logger });
