/**
 * The inventory service's process: opens `<FLOTILLA_DATA_DIR>/inventory.db`,
 * seeds the catalogue on the first start only, registers in the registry and
 * serves the service over HTTP until SIGTERM (which deregisters it, drains it
 * and closes the database). Its stock events go through the database's
 * outbox to the `shop.inventory` stream. Every 30 s it expires the TCC holds
 * whose coordinator never decided ({@link HOLD_TIMEOUT_MS}, 5 minutes).
 *
 * Touches only its data folder, its port, its registry and its declared
 * environment.
 *
 * @module
 */

import { join } from "node:path";
import { bootService } from "@flotilla/runtime";
import { startExpirySweep } from "@flotilla/tx";
import { inventoryContract, STREAMS } from "../contracts/mod.ts";
import { createInventoryService } from "./app/service.ts";
import { HOLD_TIMEOUT_MS, StockHolds } from "./app/stock_holds.ts";
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
const holds = new StockHolds({ store, emit, timeoutMs: HOLD_TIMEOUT_MS });
const service = createInventoryService({ store, emit, holds });
// Holds whose coordinator vanished are cancelled; the sweep stops before the database closes.
const sweep = startExpirySweep(holds, {
  onExpired: (txIds) => node.logger.warn("expired stock holds", { txIds }),
  onError: (error) => node.logger.error("cannot expire stock holds", { error }),
});
await node.serve({
  ...service,
  onStop: () => {
    sweep[Symbol.dispose]();
    return service.onStop?.();
  },
});
