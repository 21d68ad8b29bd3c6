/**
 * Test support: a recorder of the payment service's events, checked against
 * its contract like the outbox emitter checks them. Private to `app/`.
 *
 * @module
 */

import { EventCatalog, type RecordingEmitter, recordingEmitter as record } from "@flotilla/bus";
import { paymentContract } from "../../contracts/mod.ts";

export type { EmittedEvent, RecordingEmitter } from "@flotilla/bus";

const catalog = EventCatalog.fromContract(paymentContract, { include: "emits" });

/** A fresh recorder of the payment service's events. */
export function recordingEmitter(): RecordingEmitter {
  return record(catalog);
}
