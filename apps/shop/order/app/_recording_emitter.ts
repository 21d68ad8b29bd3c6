/**
 * Test support: an {@link Emit} that records what it is asked to emit,
 * after checking the payload against the contract's schema like the outbox
 * emitter does. Private to `app/`.
 *
 * @module
 */

import { BusError, createEvent, EventCatalog } from "@flotilla/bus";
import type { TraceContext } from "@flotilla/core";
import { orderContract } from "../../contracts/mod.ts";
import type { Emit } from "./ports.ts";

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
  /** Records each valid event; throws `INVALID_EVENT` for an invalid one. */
  readonly emit: Emit;
  /** What was emitted, oldest first. */
  readonly events: EmittedEvent[];
}

const catalog = EventCatalog.fromContract(orderContract, { include: "emits" });

/** A fresh recorder of the order service's events. */
export function recordingEmitter(): RecordingEmitter {
  const events: EmittedEvent[] = [];
  const emit: Emit = (type, data, options = {}) => {
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
