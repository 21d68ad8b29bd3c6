/**
 * The notification service's process: consumes the order, inventory and
 * payment streams (each event once: the read model's change and the inbox
 * record commit together) into `<FLOTILLA_DATA_DIR>/notification.db`, and
 * serves the views.
 *
 * @module
 */

import { join } from "node:path";
import { bootService } from "@flotilla/runtime";
import { notificationContract, STREAMS } from "../contracts/mod.ts";
import { createNotificationService } from "./app/service.ts";
import { project } from "./domain/projection.ts";
import { SqliteReadModel } from "./infra/sqlite_read_model.ts";

const node = await bootService(notificationContract);
const dataDir = node.env.dataDir!;
await Deno.mkdir(dataDir, { recursive: true });
const model = SqliteReadModel.open(join(dataDir, "notification.db"));
for (const stream of [STREAMS.order, STREAMS.inventory, STREAMS.payment]) {
  node.consume(model.database, stream, ({ event }, { logger }) => {
    const changes = project({
      id: event.id,
      type: event.type,
      time: event.time,
      data: event.data as Record<string, unknown>,
    });
    model.apply(changes);
    // The line an operator greps for "did the customer hear of it", with the checkout's trace ids.
    for (const change of changes) {
      if (change.type !== "notification") continue;
      const { type, customerId, orderId, id } = change.notification;
      logger.info("notification recorded", { type, customerId, orderId, eventId: id });
    }
    if (changes.length === 0) logger.debug("event left the views unchanged", { type: event.type });
  }, { group: "notification", ackWaitMs: 10_000, backoffMs: [200, 1_000, 5_000] });
}
await node.serve(createNotificationService(model));
