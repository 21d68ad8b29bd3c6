/**
 * Emits the events of one order write, for the stores to call inside their
 * transaction. Private to `infra/`.
 *
 * @module
 */

import type { OrderWriteOptions } from "../app/ports.ts";
import type { Order } from "../domain/order.ts";
import { orderEvents } from "../domain/order_events.ts";

/** Emits `orderEvents(before, after)` through `options.emit`, each about the order. */
export function emitOrderEvents(
  options: OrderWriteOptions,
  before: Order | undefined,
  after: Order,
): void {
  const { emit, trace } = options;
  if (emit === undefined) return;
  for (const event of orderEvents(before, after)) {
    emit(event.type, event.data, { subject: after.orderId, trace });
  }
}
