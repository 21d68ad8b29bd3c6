/**
 * The conformance suite of the {@link Bus} port: one set of tests that runs
 * unchanged against every adapter (memory, sqlite, Redis Streams, NATS
 * JetStream). Test support: it registers `Deno.test`s.
 *
 * @example
 * ```ts
 * import { testBusConformance } from "@flotilla/bus/conformance";
 * import { MemoryBus } from "@flotilla/bus";
 *
 * testBusConformance("MemoryBus", () => Promise.resolve(new MemoryBus()));
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { newTrace } from "@flotilla/core";
import { waitFor } from "@flotilla/testing";
import type { Bus, Delivery, DeliveryHandler, SubscribeOptions, Subscription } from "./bus.ts";
import type { CloudEvent } from "./cloud_event.ts";
import { createEvent } from "./create_event.ts";
import { BusError, PoisonMessageError } from "./errors.ts";

// The port's types, for the documentation of this entry point.
export type * from "./bus.ts";
export type { CloudEvent } from "./cloud_event.ts";

/** Opens a fresh bus for one test; the suite disposes it at the end of the test. */
export type BusFactory = () => Promise<Bus>;

/** Options of {@link testBusConformance}: the adapter's capabilities and timing. */
export interface BusConformanceOptions {
  /**
   * The ack wait of subscriptions in the tests that wait it out (a consumer
   * that never acknowledges). Real brokers need real time: keep it short.
   * @default {400}
   */
  ackWaitMs?: number;
  /** The backoff of subscriptions whose handler fails. @default {[50]} */
  backoffMs?: readonly number[];
  /**
   * How long each wait for a condition may take before the test fails: a
   * guard against hangs, not a timing assertion. @default {20_000}
   */
  timeoutMs?: number;
  /**
   * Whether the adapter recognises an id published again
   * (`PublishReceipt.duplicate`); the dedupe test is ignored when false.
   * @default {true}
   */
  dedupe?: boolean;
  /**
   * Whether the adapter hands out an event only when no earlier event with
   * the same `subject` is unacknowledged in the group, so that competing
   * consumers keep each subject's order; that test is ignored when false.
   * @default {false}
   */
  orderedBySubject?: boolean;
  /**
   * Appends a raw message to `stream` as a foreign producer would (bypassing
   * `publish()`'s checks). When given, a test checks that malformed messages
   * are dead-lettered with a reason and never reach the handler.
   */
  publishRaw?: (bus: Bus, stream: string, raw: string) => Promise<void>;
  /** Ignore every test of the suite (say, when the adapter's server is missing). @default {false} */
  ignore?: boolean;
  /** `Deno.test`'s op sanitizer. @default {true} */
  sanitizeOps?: boolean;
  /** `Deno.test`'s resource sanitizer. @default {true} */
  sanitizeResources?: boolean;
}

interface Settings {
  readonly ackWaitMs: number;
  readonly backoffMs: readonly number[];
  readonly timeoutMs: number;
}

const TYPE = "conformance.tested";

/**
 * Registers the conformance tests of the {@link Bus} port, each named
 * `"<name> conforms: <behaviour>"`, each on a fresh bus from `open` and its
 * own stream and group names (`conformance.<test>.<random>`), so that
 * adapters on a shared server need no cleanup between tests.
 *
 * What an adapter must do to pass:
 *
 * - deliver events with the envelope intact (deep-equal, `traceparent` and
 *   `tracestate` included, no key added), `attempt` 1, the receipt's
 *   `position`, a live `signal`;
 * - give every group every event; share one group's events between its
 *   consumers, none handled twice while both succeed (the test publishes 20
 *   events and has the first consumer wait until the other has handled
 *   one: an idle consumer must get new events without waiting for an ack
 *   wait);
 * - redeliver a failed event with `attempt` 2 after the backoff; dead-letter
 *   it after `maxDeliver` deliveries with the error's message in the
 *   reason, and go on with the next events; dead-letter a
 *   {@link PoisonMessageError} at once (one delivery), oldest first;
 * - hand a delivery nobody acknowledges within `ackWaitMs` to another
 *   consumer of the group (`attempt` 2), aborting the first delivery's
 *   `signal`;
 * - start a new group at `from` (`all`, the default; `new`: events published
 *   after `subscribe()` resolved; `after` a position), and resume an existing
 *   group where it left off, whatever `from` says;
 * - `read()` in stream order, after a position, up to a limit;
 * - report an id published again as `duplicate` with the first position
 *   and store it once (when `dedupe`);
 * - refuse a batch with a malformed event (`BusError` `INVALID_EVENT`),
 *   storing none of it;
 * - keep stream order for one consumer with `concurrency` 1, and run up to
 *   `concurrency` handlers at once;
 * - hand only the `types` asked for to the handler;
 * - on a subscription's dispose (or its `signal`), abort in-flight
 *   deliveries' signals, wait for their handlers, then resolve `closed`; on
 *   the bus's dispose, end its subscriptions and refuse publish and subscribe
 *   (dispose twice is harmless);
 * - dead-letter malformed raw messages (when `publishRaw` is given).
 *
 * @example
 * ```ts
 * // lib/bus/redis_bus_test.ts
 * import { testBusConformance } from "./conformance.ts";
 * import { RedisBus } from "./redis_bus.ts";
 *
 * testBusConformance("RedisBus", () => Promise.resolve(new RedisBus({ url })), {
 *   ackWaitMs: 300,
 *   sanitizeResources: false,
 * });
 * ```
 */
export function testBusConformance(
  name: string,
  open: BusFactory,
  options: BusConformanceOptions = {},
): void {
  const settings: Settings = {
    ackWaitMs: options.ackWaitMs ?? 400,
    backoffMs: options.backoffMs ?? [50],
    timeoutMs: options.timeoutMs ?? 20_000,
  };
  const define = (
    behaviour: string,
    fn: (bus: Bus, s: Settings) => Promise<void>,
    ignore = false,
  ) =>
    Deno.test({
      name: `${name} conforms: ${behaviour}`,
      ignore: options.ignore === true || ignore,
      sanitizeOps: options.sanitizeOps ?? true,
      sanitizeResources: options.sanitizeResources ?? true,
      async fn() {
        await using bus = await open();
        await fn(bus, settings);
      },
    });

  define("publish() then subscribe() delivers the envelope intact", roundTrip);
  define("every group gets every event", everyGroup);
  define("the consumers of one group share its events, none handled twice", sharedWork);
  define("a failed delivery comes again with attempt 2", retried);
  define("after maxDeliver failures the event is dead-lettered with its error", maxDeliver);
  define("a PoisonMessageError dead-letters the event at once", poison);
  define("an unacknowledged delivery goes to another consumer after the ack wait", ackWait);
  define("a new group starts at 'from'; an existing one resumes where it left off", from);
  define("read() replays the stream in order after a position", replay);
  define(
    "an id published again is reported duplicate and stored once",
    dedupe,
    options.dedupe === false,
  );
  define("publish() refuses a batch with a malformed event and stores none", malformedPublish);
  define("one consumer with concurrency 1 handles the stream in order", streamOrder);
  define(
    "competing consumers keep each subject's order",
    subjectOrder,
    options.orderedBySubject !== true,
  );
  define("a consumer runs up to 'concurrency' handlers at once", concurrency);
  define("only the 'types' asked for reach the handler", typesFilter);
  define("disposing a subscription aborts and awaits in-flight deliveries", disposeSubscription);
  define("a subscription's signal ends it", subscriptionSignal);
  define("disposing the bus ends its subscriptions and refuses further calls", disposeBus);
  const publishRaw = options.publishRaw;
  define(
    "malformed raw messages are dead-lettered and never reach the handler",
    (bus, s) => malformedRaw(bus, s, publishRaw!),
    publishRaw === undefined,
  );
}

// --- the tests ---------------------------------------------------------------------------------

async function roundTrip(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("roundtrip");
  const trace = { ...newTrace(), tracestate: "vendor=conformance" };
  const full = createEvent(TYPE, {
    text: "héllo ✓",
    n: 1.5,
    nested: { list: [1, "two", null, true], empty: {} },
  }, { source: "/flotilla/conformance", subject: "order-1", trace });
  const bare = createEvent(TYPE, null, { source: "/flotilla/conformance" });
  const receipts = await bus.publish(stream, [full, bare]);
  assert.equal(receipts.length, 2);
  assert.deepEqual(receipts.map((r) => [r.id, r.duplicate]), [[full.id, false], [bare.id, false]]);
  assert.ok(receipts.every((r) => typeof r.position === "string" && r.position !== ""));
  assert.notEqual(receipts[0]!.position, receipts[1]!.position);
  assert.ok(full.traceparent !== undefined);

  const seen = new Recorder();
  let abortedInHandler = false;
  await using sub = await bus.subscribe(stream, (delivery) => {
    abortedInHandler ||= delivery.signal.aborted;
    seen.handler(delivery);
  }, { group });
  assert.equal(sub.stream, stream);
  assert.equal(sub.group, group);
  await until(s, "both events", () => seen.count >= 2);
  const [first, second] = seen.deliveries;
  assert.deepEqual(first!.event, full);
  assert.deepEqual(second!.event, bare);
  assert.equal(first!.stream, stream);
  assert.equal(first!.position, receipts[0]!.position);
  assert.equal(second!.position, receipts[1]!.position);
  assert.equal(first!.attempt, 1);
  assert.ok(first!.signal instanceof AbortSignal);
  assert.equal(abortedInHandler, false);
}

async function everyGroup(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("groups");
  const events = batch(10);
  await bus.publish(stream, events);
  const a = new Recorder();
  const b = new Recorder();
  await using _a = await bus.subscribe(stream, a.handler, { group: `${group}-a` });
  await using _b = await bus.subscribe(stream, b.handler, { group: `${group}-b` });
  await until(s, "every event in both groups", () => a.count >= 10 && b.count >= 10);
  assert.deepEqual(a.ids, ids(events));
  assert.deepEqual(b.ids, ids(events));
}

async function sharedWork(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("shared");
  const handled = { a: [] as string[], b: [] as string[] };
  const handler = (me: "a" | "b", other: "a" | "b"): DeliveryHandler => async (delivery) => {
    handled[me].push(delivery.event.id);
    // Hold the first event until the other consumer has one too: proves the work is shared.
    if (handled[other].length === 0) {
      await until(s, `consumer ${other} to handle an event`, () => handled[other].length > 0);
    }
  };
  const options = { group, concurrency: 1, ackWaitMs: Math.max(s.ackWaitMs, 5_000) };
  await using _a = await bus.subscribe(stream, handler("a", "b"), { ...options, consumer: "a" });
  await using _b = await bus.subscribe(stream, handler("b", "a"), { ...options, consumer: "b" });
  const events = batch(20);
  await bus.publish(stream, events);
  await until(s, "all 20 events", () => handled.a.length + handled.b.length >= 20);
  const all = [...handled.a, ...handled.b];
  assert.equal(all.length, 20, "no event handled twice");
  assert.deepEqual([...all].sort(), ids(events).sort());
  assert.ok(handled.a.length > 0 && handled.b.length > 0, "both consumers got work");
  assert.deepEqual(await bus.deadLetters(stream, group), []);
}

async function retried(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("retry");
  const [event] = batch(1);
  const attempts: Delivery[] = [];
  await using _sub = await bus.subscribe(stream, (delivery) => {
    attempts.push(delivery);
    if (delivery.attempt === 1) throw new Error("first attempt fails");
  }, { group, backoffMs: s.backoffMs, maxDeliver: 3 });
  await bus.publish(stream, [event!]);
  await until(s, "the second attempt", () => attempts.length >= 2);
  assert.deepEqual(attempts.map((d) => d.attempt), [1, 2]);
  assert.deepEqual(attempts[1]!.event, event);
  // It succeeded the second time: a later event comes, the first one not again.
  const [next] = batch(1);
  await bus.publish(stream, [next!]);
  await until(s, "the next event", () => attempts.some((d) => d.event.id === next!.id));
  assert.equal(attempts.filter((d) => d.event.id === event!.id).length, 2);
  assert.deepEqual(await bus.deadLetters(stream, group), []);
}

async function maxDeliver(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("maxdeliver");
  const message = `boom ${crypto.randomUUID()}`;
  const [bad, good1, good2] = batch(3);
  const seen = new Recorder();
  await using _sub = await bus.subscribe(stream, (delivery) => {
    seen.handler(delivery);
    if (delivery.event.id === bad!.id) throw new Error(message);
  }, { group, maxDeliver: 2, backoffMs: s.backoffMs });
  await bus.publish(stream, [bad!, good1!, good2!]);
  const letters = await until(s, "the dead letter", async () => {
    const found = await bus.deadLetters(stream, group);
    return found.length > 0 ? found : undefined;
  });
  assert.equal(letters.length, 1);
  const [letter] = letters;
  assert.deepEqual(letter!.event, bad);
  assert.equal(letter!.stream, stream);
  assert.equal(letter!.group, group);
  assert.equal(letter!.attempts, 2);
  assert.ok(
    letter!.reason.includes(message),
    `the reason keeps the error: ${JSON.stringify(letter!.reason)}`,
  );
  assert.ok(!Number.isNaN(Date.parse(letter!.at)), `'at' is a timestamp: ${letter!.at}`);
  assert.deepEqual(seen.attemptsOf(bad!.id), [1, 2]);
  // The consumer goes on.
  const [good3] = batch(1);
  await bus.publish(stream, [good3!]);
  await until(s, "the good events", () => [good1, good2, good3].every((e) => seen.has(e!.id)));
  for (const good of [good1, good2, good3]) assert.deepEqual(seen.attemptsOf(good!.id), [1]);
  assert.deepEqual(seen.attemptsOf(bad!.id), [1, 2]);
  assert.equal((await bus.deadLetters(stream, group)).length, 1);
}

async function poison(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("poison");
  const [p1, p2, marker] = batch(3);
  const poisoned = new Set([p1!.id, p2!.id]);
  const seen = new Recorder();
  await using _sub = await bus.subscribe(stream, (delivery) => {
    seen.handler(delivery);
    if (poisoned.has(delivery.event.id)) {
      throw new PoisonMessageError(`cannot ever handle ${delivery.event.id}`);
    }
  }, { group, maxDeliver: 5, backoffMs: s.backoffMs });
  await bus.publish(stream, [p1!, p2!, marker!]);
  const letters = await until(s, "two dead letters", async () => {
    const found = await bus.deadLetters(stream, group);
    return found.length >= 2 ? found : undefined;
  });
  assert.deepEqual(letters.map((l) => l.event.id), [p1!.id, p2!.id], "oldest first");
  for (const letter of letters) {
    assert.equal(letter.attempts, 1);
    assert.ok(letter.reason.includes(`cannot ever handle ${letter.event.id}`), letter.reason);
  }
  assert.deepEqual(await bus.deadLetters(stream, group, { limit: 1 }), [letters[0]]);
  const [after] = batch(1);
  await bus.publish(stream, [after!]);
  await until(s, "the events after", () => seen.has(marker!.id) && seen.has(after!.id));
  assert.deepEqual(seen.attemptsOf(p1!.id), [1]);
  assert.deepEqual(seen.attemptsOf(p2!.id), [1]);
}

async function ackWait(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("ackwait");
  const [event] = batch(1);
  const release = Promise.withResolvers<void>();
  const first: Delivery[] = [];
  const second = new Recorder();
  const options: SubscribeOptions = {
    group,
    ackWaitMs: s.ackWaitMs,
    backoffMs: s.backoffMs,
    maxDeliver: 5,
  };
  await using _stuck = await bus.subscribe(stream, async (delivery) => {
    first.push(delivery);
    await release.promise; // never acknowledges until the end of the test
  }, { ...options, consumer: "stuck" });
  try {
    await bus.publish(stream, [event!]);
    await until(s, "the first delivery", () => first.length > 0);
    await using _other = await bus.subscribe(stream, second.handler, {
      ...options,
      consumer: "other",
    });
    await until(s, "the redelivery to the other consumer", () => second.count > 0);
    assert.equal(first.length, 1);
    assert.equal(first[0]!.attempt, 1);
    assert.deepEqual(second.deliveries[0]!.event, event);
    assert.equal(second.deliveries[0]!.attempt, 2);
    await until(s, "the first delivery's signal to abort", () => first[0]!.signal.aborted);
  } finally {
    release.resolve();
  }
  assert.deepEqual(await bus.deadLetters(stream, group), []);
}

async function from(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("from");
  const [e1, e2, e3] = batch(3);
  const receipts = await bus.publish(stream, [e1!, e2!]);
  const all = new Recorder();
  const fresh = new Recorder();
  const after = new Recorder();
  const byDefault = new Recorder();
  await using _all = await bus.subscribe(stream, all.handler, {
    group: `${group}-all`,
    from: { type: "all" },
  });
  await using _new = await bus.subscribe(stream, fresh.handler, {
    group: `${group}-new`,
    from: { type: "new" },
  });
  await using _after = await bus.subscribe(stream, after.handler, {
    group: `${group}-after`,
    from: { type: "after", position: receipts[0]!.position },
  });
  await using _default = await bus.subscribe(stream, byDefault.handler, {
    group: `${group}-default`,
  });
  await bus.publish(stream, [e3!]);
  await until(
    s,
    "e3 in every group",
    () => [all, fresh, after, byDefault].every((r) => r.has(e3!.id)),
  );
  // One consumer each, concurrency 1: an earlier event would have come before e3.
  assert.deepEqual(all.ids, ids([e1!, e2!, e3!]));
  assert.deepEqual(fresh.ids, ids([e3!]));
  assert.deepEqual(after.ids, ids([e2!, e3!]));
  assert.deepEqual(byDefault.ids, ids([e1!, e2!, e3!]));

  // An existing group resumes where it left off, whatever 'from' says.
  const resumed = new Recorder();
  {
    const first = new Recorder();
    await using _sub = await bus.subscribe(stream, first.handler, { group });
    await until(s, "the group's first events", () => first.count >= 3);
  }
  const [e4] = batch(1);
  await bus.publish(stream, [e4!]);
  await using _again = await bus.subscribe(stream, resumed.handler, {
    group,
    from: { type: "all" },
  });
  await until(s, "e4 after resuming", () => resumed.has(e4!.id));
  assert.deepEqual(resumed.ids, ids([e4!]));
}

async function replay(bus: Bus, _s: Settings): Promise<void> {
  const { stream } = names("replay");
  const events = batch(5);
  const receipts = [
    ...await bus.publish(stream, events.slice(0, 2)),
    ...await bus.publish(stream, events.slice(2)),
  ];
  const read = await bus.read(stream);
  assert.deepEqual(read.map((r) => r.event), events);
  assert.deepEqual(read.map((r) => r.position), receipts.map((r) => r.position));
  const afterSecond = await bus.read(stream, { after: receipts[1]!.position });
  assert.deepEqual(afterSecond.map((r) => r.event.id), ids(events.slice(2)));
  const firstTwo = await bus.read(stream, { limit: 2 });
  assert.deepEqual(firstTwo.map((r) => r.event.id), ids(events.slice(0, 2)));
  const middle = await bus.read(stream, { after: receipts[1]!.position, limit: 2 });
  assert.deepEqual(middle.map((r) => r.event.id), ids(events.slice(2, 4)));
  assert.deepEqual(await bus.read(stream, { after: receipts[4]!.position }), []);
  assert.deepEqual(await bus.read(names("replay-empty").stream), []);
}

async function dedupe(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("dedupe");
  const [event, other] = batch(2);
  const [first] = await bus.publish(stream, [event!]);
  const again = await bus.publish(stream, [event!, other!]);
  assert.equal(first!.duplicate, false);
  assert.deepEqual(again[0], { id: event!.id, position: first!.position, duplicate: true });
  assert.equal(again[1]!.duplicate, false);
  assert.deepEqual((await bus.read(stream)).map((r) => r.event.id), ids([event!, other!]));
  const seen = new Recorder();
  await using _sub = await bus.subscribe(stream, seen.handler, { group });
  await until(s, "both events", () => seen.has(other!.id));
  assert.deepEqual(seen.ids, ids([event!, other!]));
}

async function malformedPublish(bus: Bus, _s: Settings): Promise<void> {
  const { stream } = names("malformed-publish");
  const [valid] = batch(1);
  const invalid = { ...valid!, id: "", specversion: "0.3" } as unknown as CloudEvent;
  await assert.rejects(
    () => bus.publish(stream, [valid!, invalid]),
    (error: unknown) => error instanceof BusError && error.code === "INVALID_EVENT",
  );
  assert.deepEqual(await bus.read(stream), []);
  assert.deepEqual(await bus.publish(stream, []), []);
}

async function streamOrder(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("order");
  const events = batch(30);
  await bus.publish(stream, events.slice(0, 10));
  const seen = new Recorder();
  await using _sub = await bus.subscribe(stream, async (delivery) => {
    seen.handler(delivery);
    await yieldSome(delivery.event.id);
  }, { group, concurrency: 1 });
  await bus.publish(stream, events.slice(10, 20));
  await bus.publish(stream, events.slice(20));
  await until(s, "all 30 events", () => seen.count >= 30);
  assert.deepEqual(seen.ids, ids(events));
}

async function subjectOrder(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("subjects");
  const subjects = ["k0", "k1", "k2", "k3"];
  const events = Array.from(
    { length: 40 },
    (_, i) =>
      createEvent(TYPE, { i }, { source: "/flotilla/conformance", subject: subjects[i % 4]! }),
  );
  const running = new Set<string>();
  const order = new Map<string, number[]>();
  const overlaps: string[] = [];
  const handler: DeliveryHandler = async (delivery) => {
    const subject = delivery.event.subject!;
    if (running.has(subject)) overlaps.push(subject);
    running.add(subject);
    try {
      await yieldSome(delivery.event.id);
      const list = order.get(subject) ?? [];
      list.push((delivery.event.data as { i: number }).i);
      order.set(subject, list);
    } finally {
      running.delete(subject);
    }
  };
  const options = { group, concurrency: 3, ackWaitMs: Math.max(s.ackWaitMs, 10_000) };
  await using _a = await bus.subscribe(stream, handler, { ...options, consumer: "a" });
  await using _b = await bus.subscribe(stream, handler, { ...options, consumer: "b" });
  await bus.publish(stream, events.slice(0, 20));
  await bus.publish(stream, events.slice(20));
  await until(s, "all 40 events", () => [...order.values()].flat().length >= 40);
  assert.deepEqual(overlaps, [], "never two events of one subject at once");
  for (let k = 0; k < 4; k++) {
    assert.deepEqual(order.get(`k${k}`), Array.from({ length: 10 }, (_, j) => j * 4 + k));
  }
}

async function concurrency(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("concurrency");
  let running = 0;
  let most = 0;
  const release = Promise.withResolvers<void>();
  const seen = new Recorder();
  await using _sub = await bus.subscribe(stream, async (delivery) => {
    seen.handler(delivery);
    running += 1;
    most = Math.max(most, running);
    try {
      await release.promise;
    } finally {
      running -= 1;
    }
  }, { group, concurrency: 3, ackWaitMs: Math.max(s.ackWaitMs, 10_000) });
  await bus.publish(stream, batch(5));
  try {
    await until(s, "three handlers at once", () => running === 3);
  } finally {
    release.resolve();
  }
  await until(s, "all five events", () => seen.count >= 5);
  assert.equal(most, 3);
}

async function typesFilter(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("types");
  const make = (type: string) => createEvent(type, {}, { source: "/flotilla/conformance" });
  const wanted1 = make("conformance.wanted");
  const wanted2 = make("conformance.wanted");
  const seen = new Recorder();
  await using _sub = await bus.subscribe(stream, seen.handler, {
    group,
    types: ["conformance.wanted"],
  });
  await bus.publish(stream, [
    make("conformance.unwanted"),
    wanted1,
    make("conformance.unwanted"),
    wanted2,
  ]);
  await until(s, "the wanted events", () => seen.has(wanted2.id));
  assert.deepEqual(seen.ids, ids([wanted1, wanted2]));
  assert.deepEqual(await bus.deadLetters(stream, group), []);
}

async function disposeSubscription(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("dispose");
  const [e1, e2] = batch(2);
  const release = Promise.withResolvers<void>();
  const started: Delivery[] = [];
  let finished = false;
  const sub = await bus.subscribe(stream, async (delivery) => {
    started.push(delivery);
    await release.promise;
    finished = true;
  }, { group, ackWaitMs: Math.max(s.ackWaitMs, 10_000) });
  let disposed = false;
  try {
    await bus.publish(stream, [e1!]);
    await until(s, "the delivery", () => started.length > 0);
    const disposing = sub[Symbol.asyncDispose]().then(() => (disposed = true));
    await until(s, "the delivery's signal to abort", () => started[0]!.signal.aborted);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(disposed, false, "dispose waits for the in-flight handler");
    release.resolve();
    await disposing;
    assert.equal(finished, true);
    await sub.closed;
  } finally {
    release.resolve();
    if (!disposed) await sub[Symbol.asyncDispose]();
  }
  // The handler resolved: e1 is acknowledged. The group goes on with e2 only.
  await bus.publish(stream, [e2!]);
  const seen = new Recorder();
  await using _again = await bus.subscribe(stream, seen.handler, { group });
  await until(s, "e2", () => seen.has(e2!.id));
  assert.deepEqual(seen.ids, ids([e2!]));
  assert.equal(started.length, 1);
}

async function subscriptionSignal(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("signal");
  const controller = new AbortController();
  const seen = new Recorder();
  const sub = await bus.subscribe(stream, seen.handler, { group, signal: controller.signal });
  try {
    const [event] = batch(1);
    await bus.publish(stream, [event!]);
    await until(s, "the event", () => seen.count > 0);
    controller.abort();
    await sub.closed;
  } finally {
    await sub[Symbol.asyncDispose]();
  }
}

async function disposeBus(bus: Bus, s: Settings): Promise<void> {
  const { stream, group } = names("dispose-bus");
  const seen = new Recorder();
  const sub: Subscription = await bus.subscribe(stream, seen.handler, { group });
  const [event] = batch(1);
  await bus.publish(stream, [event!]);
  await until(s, "the event", () => seen.count > 0);
  await bus[Symbol.asyncDispose]();
  await sub.closed;
  await bus[Symbol.asyncDispose]();
  await assert.rejects(() => bus.publish(stream, batch(1)));
  await assert.rejects(() => bus.subscribe(stream, seen.handler, { group }));
}

async function malformedRaw(
  bus: Bus,
  s: Settings,
  publishRaw: (bus: Bus, stream: string, raw: string) => Promise<void>,
): Promise<void> {
  const { stream, group } = names("raw");
  const seen = new Recorder();
  await using _sub = await bus.subscribe(stream, seen.handler, { group, backoffMs: s.backoffMs });
  await publishRaw(bus, stream, "{not json");
  await publishRaw(bus, stream, JSON.stringify({ specversion: "0.3", id: "raw-1" }));
  const [valid] = batch(1);
  await bus.publish(stream, [valid!]);
  await until(s, "the valid event", () => seen.has(valid!.id));
  const letters = await until(s, "two dead letters", async () => {
    const found = await bus.deadLetters(stream, group);
    return found.length >= 2 ? found : undefined;
  });
  assert.deepEqual(seen.ids, ids([valid!]));
  for (const letter of letters) {
    assert.ok(letter.reason.length > 0);
    assert.ok("raw" in letter.event, "a malformed message is kept raw");
  }
}

// --- helpers -----------------------------------------------------------------------------------

/** Records deliveries; `handler` acknowledges each. */
class Recorder {
  readonly deliveries: Delivery[] = [];
  readonly handler: DeliveryHandler = (delivery) => {
    this.deliveries.push(delivery);
  };
  get count(): number {
    return this.deliveries.length;
  }
  get ids(): string[] {
    return this.deliveries.map((d) => d.event.id);
  }
  has(id: string): boolean {
    return this.deliveries.some((d) => d.event.id === id);
  }
  attemptsOf(id: string): number[] {
    return this.deliveries.filter((d) => d.event.id === id).map((d) => d.attempt);
  }
}

function names(test: string): { stream: string; group: string } {
  const suffix = crypto.randomUUID().slice(0, 8);
  return { stream: `conformance.${test}.${suffix}`, group: `${test}-${suffix}` };
}

function batch(count: number): CloudEvent[] {
  return Array.from(
    { length: count },
    (_, i) => createEvent(TYPE, { i }, { source: "/flotilla/conformance" }),
  );
}

function ids(events: readonly CloudEvent[]): string[] {
  return events.map((event) => event.id);
}

function until<T>(
  s: Settings,
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
): Promise<T> {
  return waitFor(probe, { timeoutMs: s.timeoutMs, intervalMs: 10, what });
}

/** Gives other work a chance to interleave: 0 to 2 macrotask turns, chosen by the id. */
async function yieldSome(id: string): Promise<void> {
  const turns = id.charCodeAt(id.length - 1) % 3;
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}
