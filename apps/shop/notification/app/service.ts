/**
 * The notification service: answers the read side's views.
 *
 * @module
 */

import { defineService, type Service } from "@flotilla/core";
import { type CancelReason, notificationContract } from "../../contracts/mod.ts";
import type { SqliteReadModel } from "../infra/sqlite_read_model.ts";

/** Builds the notification service over its read model. */
export function createNotificationService(
  model: SqliteReadModel,
): Service<typeof notificationContract> {
  return defineService(notificationContract, {
    history: ({ customerId }) =>
      model.history(customerId).map(({ reason, ...entry }) => ({
        ...entry,
        // The projection only stores reasons the contract's CancelReason allowed on the way in.
        ...(reason === undefined ? {} : { reason: reason as CancelReason }),
      })),
    notifications: ({ customerId, limit }) =>
      model.notifications(customerId, limit).map(({ customerId: _, ...view }) => view),
    stock: () => model.stock(),
  }, {
    readiness: [{ name: "read-model", check: () => model.ping() }],
    onStop: () => model.close(),
  });
}
