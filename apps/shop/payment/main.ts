/**
 * The payment service's process: opens `<FLOTILLA_DATA_DIR>/payment.db`,
 * seeds the customers on the first start only, and serves the service over
 * HTTP until SIGTERM (which drains it and closes the database).
 *
 * Touches only its data folder, its port and its declared environment.
 *
 * @module
 */

import { join } from "node:path";
import { Logger, readServiceEnv } from "@flotilla/core";
import { serveService } from "@flotilla/http";
import { paymentContract } from "../contracts/mod.ts";
import { createPaymentService } from "./app/service.ts";
import { SEED_CUSTOMERS } from "./infra/seed.ts";
import { SqlitePaymentStore } from "./infra/sqlite_payment_store.ts";

const env = readServiceEnv(paymentContract);
const logger = new Logger({ level: env.logLevel, fields: { service: paymentContract.name } });
if (env.dataDir === undefined) {
  throw new RangeError("Cannot start payment: FLOTILLA_DATA_DIR is unset");
}
await Deno.mkdir(env.dataDir, { recursive: true });
const store = SqlitePaymentStore.open(join(env.dataDir, "payment.db"));
if (store.seed(SEED_CUSTOMERS)) {
  logger.info("seeded the customers", { customers: SEED_CUSTOMERS.length });
}
await serveService(createPaymentService({ store }), { logger });
