/**
 * The payment service's process: opens `<FLOTILLA_DATA_DIR>/payment.db`,
 * seeds the customers on the first start only, registers in the registry and
 * serves the service over HTTP until SIGTERM (which deregisters it, drains it
 * and closes the database). Its payment events go through the database's
 * outbox to the `shop.payment` stream. Every 30 s it expires the TCC holds
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
import { paymentContract, STREAMS } from "../contracts/mod.ts";
import { HOLD_TIMEOUT_MS, PaymentHolds } from "./app/payment_holds.ts";
import { createPaymentService } from "./app/service.ts";
import { SEED_CUSTOMERS } from "./infra/seed.ts";
import { SqlitePaymentStore } from "./infra/sqlite_payment_store.ts";

const node = await bootService(paymentContract, {
  // Loaded only with FLOTILLA_TRANSPORT=grpc: this service's .proto messages.
  grpc: { binding: async () => (await import("../proto/bindings.ts")).paymentGrpcBinding() },
});
const dataDir = node.env.dataDir!;
await Deno.mkdir(dataDir, { recursive: true });
const store = SqlitePaymentStore.open(join(dataDir, "payment.db"));
if (store.seed(SEED_CUSTOMERS)) {
  node.logger.info("seeded the customers", { customers: SEED_CUSTOMERS.length });
}
const emit = node.outbox(store.database, { stream: STREAMS.payment });
const holds = new PaymentHolds({ store, emit, timeoutMs: HOLD_TIMEOUT_MS });
const service = createPaymentService({ store, emit, holds });
// Holds whose coordinator vanished are cancelled; the sweep stops before the database closes.
const sweep = startExpirySweep(holds, {
  onExpired: (txIds) => node.logger.warn("expired payment holds", { txIds }),
  onError: (error) => node.logger.error("cannot expire payment holds", { error }),
});
await node.serve({
  ...service,
  onStop: () => {
    sweep[Symbol.dispose]();
    return service.onStop?.();
  },
});
