/**
 * An {@link EventEmitter} for tests: it checks each event against a catalog
 * exactly as the outbox emitter does, then records it instead of writing it.
 *
 * @module
 */

import type { TraceContext } from "@flotilla/core";
import type { EventCatalog } from "./catalog.ts";
import { createEvent } from "./create_event.ts";
import { BusError } from "./errors.ts";
import type { EventEmitter } from "./outbox_emitter.ts";

/** One recorded event. */
export interface EmittedEvent {
  /** The event type. */
  readonly type: string;
  /** Its payload. */
  readonly data: unknown;
  /** Its subject. */
  readonly subject: string | undefined;
  /** The trace it continues. */
  readonly trace: TraceContext | undefined;
}

/** What {@link recordingEmitter} returns. */
export interface RecordingEmitter {
  /** Records each valid event; throws `INVALID_EVENT` for an invalid one, as the outbox would. */
  readonly emit: EventEmitter;
  /** What was emitted, oldest first. */
  readonly events: EmittedEvent[];
}

/**
 * A fresh recorder checking events against `catalog`.
 *
 * @example
 * ```ts
 * const recorder = recordingEmitter(EventCatalog.fromContract(orderContract, { include: "emits" }));
 * const service = createOrderService({ store, emit: recorder.emit });
 * // … then assert on recorder.events
 * ```
 */
export function recordingEmitter(catalog: EventCatalog): RecordingEmitter {
  const events: EmittedEvent[] = [];
  const emit: EventEmitter = (type, data, options = {}) => {
    const check = catalog.checkSync(
      createEvent(type, data, {
        source: "/test",
        ...(options.subject === undefined ? {} : { subject: options.subject }),
      }),
    );
    if (!check.ok) throw new BusError("INVALID_EVENT", `Cannot emit ${type}: ${check.reason}`);
    events.push({ type, data, subject: options.subject, trace: options.trace });
  };
  return { emit, events };
}
