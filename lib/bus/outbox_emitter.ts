/**
 * Emitting domain events from inside a state change: the event goes into
 * the transactional outbox in the same transaction, validated against its
 * schema first, and the relay publishes it once the transaction commits.
 *
 * @module
 */

import type { Clock, TraceContext } from "@flotilla/core";
import type { EventCatalog } from "./catalog.ts";
import { createEvent } from "./create_event.ts";
import { BusError } from "./errors.ts";
import type { SqliteOutbox } from "./outbox.ts";

/** Where and how a service's events are emitted. */
export interface OutboxEmitterOptions {
  /** The stream every event goes to, e.g. `shop.order`. */
  stream: string;
  /** The events' `source`, e.g. `/flotilla/shop/order`. */
  source: string;
  /** Schemas of the event types this service may emit; anything else is refused. */
  catalog?: EventCatalog;
  /** Called after each event is written (in the transaction), e.g. to nudge the relay after commit. */
  onEmit?: () => void;
  /** Clock of the events' time. */
  clock?: Clock;
}

/** Per-event details of {@link EventEmitter}. */
export interface EmitOptions {
  /** What the event is about (the ordering key), e.g. the order id. */
  subject?: string;
  /** The trace of the work that emits it. */
  trace?: TraceContext | undefined;
}

/** Emits one event; call it inside the transaction that makes the change it announces. */
export type EventEmitter = (type: string, data: unknown, options?: EmitOptions) => void;

/**
 * An {@link EventEmitter} writing to `outbox`.
 *
 * @example
 * ```ts
 * const emit = outboxEmitter(outbox, { stream: "shop.order", source: "/flotilla/shop/order", catalog });
 * immediate(db, () => {
 *   saveOrder(order);
 *   emit("order.created", { orderId: order.id, … }, { subject: order.id });
 * });
 * relay.notify();
 * ```
 *
 * @throws {BusError} `INVALID_EVENT` (rolling the transaction back) for an
 * unknown type or data that breaks its schema.
 */
export function outboxEmitter(outbox: SqliteOutbox, options: OutboxEmitterOptions): EventEmitter {
  return (type, data, emit = {}) => {
    const event = createEvent(type, data, {
      source: options.source,
      ...(emit.subject === undefined ? {} : { subject: emit.subject }),
      ...(emit.trace === undefined ? {} : { trace: emit.trace }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    if (options.catalog) {
      const problem = options.catalog.checkSync(event);
      if (!problem.ok) {
        throw new BusError("INVALID_EVENT", `Cannot emit ${type}: ${problem.reason}`);
      }
    }
    outbox.add(options.stream, event);
    options.onEmit?.();
  };
}
