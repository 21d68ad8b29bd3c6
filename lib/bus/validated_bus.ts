/**
 * A {@link Bus} that validates events against an {@link EventCatalog} on
 * publish and on receipt.
 *
 * @module
 */

import type {
  Bus,
  DeadLetter,
  Delivery,
  DeliveryHandler,
  PublishOptions,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from "./bus.ts";
import type { EventCatalog } from "./catalog.ts";
import type { CloudEvent } from "./cloud_event.ts";
import { BusError, PoisonMessageError } from "./errors.ts";

/**
 * Wraps `bus` so that:
 *
 * - `publish()` checks every event of the batch first (envelope, a type in
 *   the catalog, `data` valid against its schema) and throws
 *   `BusError("INVALID_EVENT")` naming the event and the field, publishing
 *   nothing of the batch, when one is invalid. Events are published as given
 *   (not as the schema's output).
 * - `subscribe()` hands the handler only the catalog's types unless
 *   `types` says otherwise (and then every listed type must be in the
 *   catalog); a delivery whose envelope or data is invalid makes the wrapped
 *   handler throw {@link PoisonMessageError} with the reason, so the adapter
 *   dead-letters it at once and the consumer goes on. A valid delivery
 *   reaches the handler with `data` replaced by the schema's output
 *   (defaults and transforms applied).
 * - `read()` and `deadLetters()` pass through unchecked; disposing the
 *   wrapper disposes `bus`.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { createEvent, EventCatalog, MemoryBus, validatedBus } from "@flotilla/bus";
 *
 * const catalog = new EventCatalog({ "order.created": z.object({ orderId: z.string() }) });
 * await using bus = validatedBus(new MemoryBus(), catalog);
 * await bus.publish("shop.order", [
 *   createEvent("order.created", { orderId: "o-1" }, { source: "/shop/order" }),
 * ]);
 * await bus.publish("shop.order", [
 *   createEvent("order.created", { orderId: 1 }, { source: "/shop/order" }),
 * ]); // throws BusError INVALID_EVENT: … data.orderId: …
 * ```
 */
export function validatedBus(bus: Bus, catalog: EventCatalog): Bus {
  return new ValidatedBus(bus, catalog);
}

class ValidatedBus implements Bus {
  readonly kind: string;
  #bus: Bus;
  #catalog: EventCatalog;

  constructor(bus: Bus, catalog: EventCatalog) {
    this.#bus = bus;
    this.#catalog = catalog;
    this.kind = bus.kind;
  }

  async publish(
    stream: string,
    events: readonly CloudEvent[],
    options?: PublishOptions,
  ): Promise<PublishReceipt[]> {
    options?.signal?.throwIfAborted();
    if (!Array.isArray(events)) {
      throw new BusError(
        "INVALID_EVENT",
        `Cannot publish to '${stream}' as 'events' must be an array: current value is ${typeof events}`,
      );
    }
    const checks = await Promise.all(events.map((event) => this.#catalog.check(event)));
    for (let index = 0; index < checks.length; index++) {
      const check = checks[index]!;
      if (!check.ok) {
        const event = events[index] as Partial<CloudEvent> | undefined;
        throw new BusError(
          "INVALID_EVENT",
          `Cannot publish to '${stream}' as ${check.reason}`,
          {
            data: {
              stream,
              index,
              ...(typeof event?.id === "string" ? { id: event.id } : {}),
              ...(typeof event?.type === "string" ? { type: event.type } : {}),
              issues: check.issues,
            },
          },
        );
      }
    }
    return await this.#bus.publish(stream, events, options);
  }

  async subscribe(
    stream: string,
    handler: DeliveryHandler,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const known = this.#catalog.types;
    if (options.types !== undefined) {
      const unknown = Array.isArray(options.types)
        ? options.types.filter((type) => !this.#catalog.has(type))
        : [];
      if (unknown.length > 0) {
        throw new RangeError(
          `Cannot subscribe as 'types' must name types of the event catalog: current value is ${
            JSON.stringify(options.types)
          }`,
        );
      }
    } else if (known.length === 0) {
      throw new RangeError(
        "Cannot subscribe as the event catalog must hold at least one type: current value is []",
      );
    }
    const catalog = this.#catalog;
    const checked = async (delivery: Delivery): Promise<void> => {
      const check = await catalog.check(delivery.event);
      if (!check.ok) throw new PoisonMessageError(`Invalid event: ${check.reason}`);
      // Whatever else a wrapper put on the delivery (the consumer span's `trace`) goes along.
      await handler({ ...delivery, event: check.event });
    };
    return await this.#bus.subscribe(stream, checked, {
      ...options,
      types: options.types ?? known,
    });
  }

  deadLetters(
    stream: string,
    group: string,
    options?: { limit?: number; signal?: AbortSignal },
  ): Promise<DeadLetter[]> {
    return this.#bus.deadLetters(stream, group, options);
  }

  read(
    stream: string,
    options?: { after?: string; limit?: number; signal?: AbortSignal },
  ): Promise<Array<{ position: string; event: CloudEvent }>> {
    return this.#bus.read(stream, options);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#bus[Symbol.asyncDispose]();
  }
}
