/**
 * Bus fault injection: lost, duplicated, delayed and reordered messages.
 *
 * @module
 */

import type {
  Bus,
  CloudEvent,
  DeadLetter,
  Delivery,
  DeliveryHandler,
  PublishOptions,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from "@flotilla/bus";
import type { ChaosEngine, ChaosPlan } from "./chaos_engine.ts";

/**
 * Wraps `bus` so the engine's `bus-publish` and `bus-consume` rules apply,
 * per event (`peer` is the stream, `action` the event type).
 *
 * Publish: latency delays the batch; an `error` fault fails the whole
 * publish (nothing stored, as a broker refusing); `drop` leaves the event
 * out while answering as if stored (receipt position `""`); `duplicate`
 * publishes it again right after the batch (brokers that deduplicate ids
 * store it once); `reorder` publishes it on its own after the delay, so
 * later events overtake it (receipt position `""`).
 *
 * Consume: latency delays the handler; `error` makes the delivery fail
 * (redelivered with backoff, like a crash of the handler); `drop`
 * acknowledges it unseen; `duplicate` hands it to the handler again;
 * `reorder` acknowledges it at once and hands it over after the delay, so
 * later events overtake it. `read()` and `deadLetters()` pass through;
 * disposing the wrapper waits for held messages, then disposes `bus`.
 *
 * @example
 * ```ts
 * import { MemoryBus } from "@flotilla/bus";
 * import { ChaosEngine, chaosBus } from "@flotilla/chaos";
 *
 * const engine = new ChaosEngine({ service: "notification" });
 * await using bus = chaosBus(new MemoryBus(), engine);
 * ```
 */
export function chaosBus(bus: Bus, engine: ChaosEngine): ChaosBus {
  return new ChaosBusImpl(bus, engine);
}

/** A {@link Bus} with faults injected, made by {@link chaosBus}. */
export interface ChaosBus extends Bus {
  /** Resolves once every reordered message has been published or handled. */
  settled(): Promise<void>;
}

class ChaosBusImpl implements ChaosBus {
  readonly kind: string;
  #bus: Bus;
  #engine: ChaosEngine;
  #held = new Set<Promise<void>>();
  #closing = new AbortController();

  constructor(bus: Bus, engine: ChaosEngine) {
    this.#bus = bus;
    this.#engine = engine;
    this.kind = bus.kind;
  }

  async publish(
    stream: string,
    events: readonly CloudEvent[],
    options?: PublishOptions,
  ): Promise<PublishReceipt[]> {
    const plans = events.map((event) =>
      this.#engine.plan({ side: "bus-publish", peer: stream, action: event.type })
    );
    if (plans.every((plan) => plan.fired.length === 0)) {
      return await this.#bus.publish(stream, events, options);
    }
    await this.#engine.delay(Math.max(...plans.map((plan) => plan.delayMs)), options?.signal);
    const refused = plans.find((plan) => plan.terminal?.fault.type === "error");
    if (refused?.terminal?.fault.type === "error") {
      throw this.#engine.error(refused.terminal.fault, refused.terminal.rule, {
        side: "bus-publish",
        peer: stream,
        action: events[plans.indexOf(refused)]?.type,
      });
    }
    const now: CloudEvent[] = [];
    const copies: CloudEvent[] = [];
    const slot: Array<number | undefined> = [];
    events.forEach((event, index) => {
      const plan = plans[index]!;
      if (plan.terminal?.fault.type === "drop") return slot.push(undefined);
      if (plan.reorderMs !== undefined) {
        this.#hold(plan.reorderMs, "publish", () => this.#bus.publish(stream, [event]));
        return slot.push(undefined);
      }
      slot.push(now.length);
      now.push(event);
      for (let i = 0; i < plan.duplicate; i++) copies.push(event);
    });
    const stored = now.length === 0 ? [] : await this.#bus.publish(stream, now, options);
    if (copies.length > 0) await this.#bus.publish(stream, copies, options);
    return events.map((event, index) => {
      const at = slot[index];
      return at === undefined ? { id: event.id, position: "", duplicate: false } : stored[at]!;
    });
  }

  subscribe(
    stream: string,
    handler: DeliveryHandler,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const engine = this.#engine;
    const chaotic = async (delivery: Delivery): Promise<void> => {
      const plan: ChaosPlan = engine.plan({
        side: "bus-consume",
        peer: stream,
        action: delivery.event.type,
      });
      if (plan.fired.length === 0) return await handler(delivery);
      await engine.delay(plan.delayMs, delivery.signal);
      const terminal = plan.terminal;
      if (terminal?.fault.type === "error") {
        throw engine.error(terminal.fault, terminal.rule, {
          side: "bus-consume",
          peer: stream,
          action: delivery.event.type,
        });
      }
      if (terminal?.fault.type === "drop") return;
      if (plan.reorderMs !== undefined) {
        const held: Delivery = { ...delivery, signal: this.#closing.signal };
        this.#hold(plan.reorderMs, "delivery", async () => {
          await handler(held);
          for (let i = 0; i < plan.duplicate; i++) await handler(held);
        });
        return;
      }
      await handler(delivery);
      for (let i = 0; i < plan.duplicate; i++) await handler(delivery);
    };
    return this.#bus.subscribe(stream, chaotic, options);
  }

  #hold(ms: number, what: string, work: () => Promise<unknown>): void {
    const done = (async () => {
      try {
        await this.#engine.delay(ms, this.#closing.signal);
      } catch {
        // closing: deliver at once rather than lose it
      }
      await work();
    })().catch((error) => this.#engine.reportLate(what, error)).finally(() =>
      this.#held.delete(done)
    );
    this.#held.add(done);
  }

  /** Waits until every reordered message has been published or handled. */
  async settled(): Promise<void> {
    while (this.#held.size > 0) await Promise.allSettled([...this.#held]);
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
    this.#closing.abort();
    await this.settled();
    await this.#bus[Symbol.asyncDispose]();
  }
}
