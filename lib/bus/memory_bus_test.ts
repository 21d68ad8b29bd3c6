import assert from "node:assert/strict";
import fc from "fast-check";
import { DeadlineExceededError } from "@flotilla/core";
import { ManualTimers } from "@flotilla/resilience";
import type { Delivery, SubscribeOptions } from "./bus.ts";
import type { CloudEvent } from "./cloud_event.ts";
import { testBusConformance } from "./conformance.ts";
import { createEvent } from "./create_event.ts";
import { BusError } from "./errors.ts";
import { MemoryBus } from "./memory_bus.ts";

testBusConformance("MemoryBus", () => Promise.resolve(new MemoryBus()), {
  orderedBySubject: true,
});

/** Lets handlers started by the bus (microtasks) run to their next real wait. */
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function events(count: number, subject?: (i: number) => string | undefined): CloudEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const key = subject?.(i);
    return createEvent("order.created", { i }, {
      source: "/shop/order",
      ...(key === undefined ? {} : { subject: key }),
    });
  });
}

Deno.test("MemoryBus redelivers a failed event after backoffMs by attempt, the last entry repeating", async () => {
  const timers = new ManualTimers();
  timers.clock.advance(1_750_000_000_000);
  await using bus = new MemoryBus({ timers });
  const attempts: number[] = [];
  await using _sub = await bus.subscribe("s", (d) => {
    attempts.push(d.attempt);
    throw new Error("still down");
  }, { group: "g", backoffMs: [100, 1_000], maxDeliver: 4 });
  await bus.publish("s", events(1));
  await flush();
  assert.deepEqual(attempts, [1]);
  timers.advance(99);
  await flush();
  assert.deepEqual(attempts, [1]);
  timers.advance(1);
  await flush();
  assert.deepEqual(attempts, [1, 2]);
  timers.advance(999);
  await flush();
  assert.deepEqual(attempts, [1, 2]);
  timers.advance(1);
  await flush();
  assert.deepEqual(attempts, [1, 2, 3]);
  timers.advance(1_000);
  await flush();
  assert.deepEqual(attempts, [1, 2, 3, 4]);
  const [letter] = await bus.deadLetters("s", "g");
  assert.equal(letter!.attempts, 4);
  assert.equal(letter!.reason, "still down");
  assert.equal(letter!.at, new Date(timers.now()).toISOString());
  timers.advance(60_000);
  await flush();
  assert.deepEqual(attempts, [1, 2, 3, 4]);
  assert.equal(timers.pending, 0);
});

Deno.test("MemoryBus hands an unacknowledged delivery to another consumer when the ack wait runs out", async () => {
  const timers = new ManualTimers();
  await using bus = new MemoryBus({ timers });
  const release = Promise.withResolvers<void>();
  const stuck: Delivery[] = [];
  const other: Delivery[] = [];
  const options: SubscribeOptions = { group: "g", ackWaitMs: 1_000 };
  await using _a = await bus.subscribe("s", async (d) => {
    stuck.push(d);
    await release.promise;
  }, options);
  await bus.publish("s", events(1));
  await flush();
  await using _b = await bus.subscribe("s", (d) => {
    other.push(d);
  }, options);
  await flush();
  assert.equal(stuck.length, 1);
  timers.advance(999);
  await flush();
  assert.equal(other.length, 0);
  assert.equal(stuck[0]!.signal.aborted, false);
  timers.advance(1);
  await flush();
  assert.deepEqual(other.map((d) => d.attempt), [2]);
  assert.ok(stuck[0]!.signal.reason instanceof DeadlineExceededError);
  // The first handler finishes late: nothing changes, nothing comes again.
  release.resolve();
  await flush();
  timers.advance(60_000);
  await flush();
  assert.equal(stuck.length + other.length, 2);
  assert.deepEqual(await bus.deadLetters("s", "g"), []);
});

Deno.test("MemoryBus dead-letters a delivery that keeps running out of ack wait after maxDeliver", async () => {
  const timers = new ManualTimers();
  await using bus = new MemoryBus({ timers });
  const release = Promise.withResolvers<void>();
  const attempts: number[] = [];
  await using _sub = await bus.subscribe("s", async (d) => {
    attempts.push(d.attempt);
    await release.promise;
  }, { group: "g", ackWaitMs: 500, maxDeliver: 2, concurrency: 3 });
  await bus.publish("s", events(1));
  await flush();
  timers.advance(500);
  await flush();
  assert.deepEqual(attempts, [1, 2]);
  timers.advance(500);
  await flush();
  assert.deepEqual(attempts, [1, 2]);
  const letters = await bus.deadLetters("s", "g");
  assert.equal(letters.length, 1);
  assert.equal(letters[0]!.attempts, 2);
  assert.equal(letters[0]!.reason, "Not acknowledged within the ack wait of 500 ms (2 deliveries)");
  release.resolve();
});

Deno.test("MemoryBus holds back later events of a failing event's subject, not the others", async () => {
  const timers = new ManualTimers();
  await using bus = new MemoryBus({ timers });
  const [a1, b1, a2] = events(3, (i) => (i === 1 ? "order-b" : "order-a"));
  const log: string[] = [];
  const name = new Map([[a1!.id, "a1"], [b1!.id, "b1"], [a2!.id, "a2"]]);
  await using _sub = await bus.subscribe("s", (d) => {
    log.push(`${name.get(d.event.id)}#${d.attempt}`);
    if (d.event.id === a1!.id && d.attempt === 1) throw new Error("once");
  }, { group: "g", concurrency: 3, backoffMs: [100] });
  await bus.publish("s", [a1!, b1!, a2!]);
  await flush();
  await flush();
  assert.deepEqual(log, ["a1#1", "b1#1"]);
  timers.advance(100);
  await flush();
  await flush();
  assert.deepEqual(log, ["a1#1", "b1#1", "a1#2", "a2#1"]);
});

Deno.test("MemoryBus gives a delivery its handler dropped at dispose back to the group at once", async () => {
  const timers = new ManualTimers();
  await using bus = new MemoryBus({ timers });
  const first: Delivery[] = [];
  const sub = await bus.subscribe("s", (d) =>
    new Promise<void>((_, reject) => {
      first.push(d);
      d.signal.addEventListener("abort", () => reject(d.signal.reason));
    }), { group: "g", backoffMs: [60_000] });
  await bus.publish("s", events(1));
  await flush();
  assert.equal(first.length, 1);
  await sub[Symbol.asyncDispose]();
  assert.ok(first[0]!.signal.reason instanceof BusError);
  assert.equal((first[0]!.signal.reason as BusError).code, "SUBSCRIPTION_CLOSED");
  const next: Delivery[] = [];
  await using _again = await bus.subscribe("s", (d) => {
    next.push(d);
  }, { group: "g" });
  await flush();
  assert.deepEqual(next.map((d) => d.attempt), [2]);
});

Deno.test("MemoryBus hands each delivery its own copy of the event", async () => {
  const timers = new ManualTimers();
  await using bus = new MemoryBus({ timers });
  const event = createEvent("order.created", { items: ["TEA-01"] }, { source: "/shop" });
  await bus.publish("s", [event]);
  (event.data as { items: string[] }).items.push("changed by the publisher");
  const seen: unknown[] = [];
  await using _sub = await bus.subscribe("s", (d) => {
    (d.event.data as { items: string[] }).items.push("changed by the handler");
    seen.push(structuredClone(d.event.data));
    if (d.attempt === 1) throw new Error("again");
  }, { group: "g", backoffMs: [1] });
  await flush();
  timers.advance(1);
  await flush();
  assert.deepEqual(seen, [
    { items: ["TEA-01", "changed by the handler"] },
    { items: ["TEA-01", "changed by the handler"] },
  ]);
  assert.deepEqual((await bus.read("s"))[0]!.event.data, { items: ["TEA-01"] });
});

Deno.test("MemoryBus.subscribe() throws RangeError naming an invalid option", async () => {
  await using bus = new MemoryBus();
  const cases: Array<[string, SubscribeOptions | undefined, RegExp]> = [
    [
      "s",
      { group: "" },
      /Cannot subscribe as 'group' must be a non-empty string: current value is ""/,
    ],
    ["s", undefined, /'options' must be an object/],
    ["", { group: "g" }, /Cannot subscribe as 'stream' must be a non-empty string/],
    ["s", { group: "g", consumer: " " }, /'consumer' must be a non-empty string/],
    [
      "s",
      { group: "g", types: [] },
      /'types' must be a non-empty list of event types: current value is \[\]/,
    ],
    [
      "s",
      { group: "g", ackWaitMs: 0 },
      /'ackWaitMs' must be a positive number: current value is 0/,
    ],
    [
      "s",
      { group: "g", maxDeliver: 1.5 },
      /'maxDeliver' must be a positive integer: current value is 1.5/,
    ],
    ["s", { group: "g", backoffMs: [] }, /'backoffMs' must be a non-empty list of delays >= 0/],
    ["s", { group: "g", backoffMs: [10, -1] }, /'backoffMs' .* current value is \[10,-1\]/],
    [
      "s",
      { group: "g", concurrency: 0 },
      /'concurrency' must be a positive integer: current value is 0/,
    ],
    ["s", { group: "g", from: { type: "later" } as never }, /'from' must be/],
    [
      "s",
      { group: "g", from: { type: "after", position: "1-0" } },
      /'from.position' must be a position of this bus \(a sequence number\): current value is "1-0"/,
    ],
  ];
  for (const [stream, options, message] of cases) {
    await assert.rejects(
      () => bus.subscribe(stream, () => {}, options as SubscribeOptions),
      (e: unknown) => e instanceof RangeError && message.test(e.message),
      String(message),
    );
  }
  await assert.rejects(
    () => bus.subscribe("s", "nope" as never, { group: "g" }),
    /'handler' must be a function/,
  );
  await assert.rejects(() => bus.read("s", { after: "-1" }), /'after' must be a position/);
  await assert.rejects(() => bus.read("s", { limit: 0 }), /'limit' must be a positive integer/);
  await assert.rejects(() => bus.deadLetters("s", "g", { limit: -1 }), RangeError);
  const aborted = AbortSignal.abort(new Error("stop"));
  await assert.rejects(() => bus.publish("s", events(1), { signal: aborted }), /stop/);
  await assert.rejects(() => bus.subscribe("s", () => {}, { group: "g", signal: aborted }), /stop/);
});

Deno.test("MemoryBus: every event is handled once or dead-lettered, each subject in order, whatever fails", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          subject: fc.constantFrom("a", "b", "c", undefined),
          failures: fc.nat({ max: 3 }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      async (plan, consumers, concurrency) => {
        const timers = new ManualTimers();
        await using bus = new MemoryBus({ timers });
        const delivered: Array<{ i: number; attempt: number }> = [];
        const running = new Set<string>();
        const overlaps: string[] = [];
        const succeeded = new Map<number, number>();
        const handler = async (d: Delivery) => {
          const { i } = d.event.data as { i: number };
          const subject = d.event.subject;
          if (subject !== undefined) {
            if (running.has(subject)) overlaps.push(subject);
            running.add(subject);
          }
          delivered.push({ i, attempt: d.attempt });
          await Promise.resolve();
          if (subject !== undefined) running.delete(subject);
          if (d.attempt <= plan[i]!.failures) throw new Error(`fail ${i}`);
          succeeded.set(i, (succeeded.get(i) ?? 0) + 1);
        };
        for (let c = 0; c < consumers; c++) {
          await bus.subscribe("s", handler, {
            group: "g",
            concurrency,
            maxDeliver: 3,
            backoffMs: [10, 20],
          });
        }
        const published = plan.map((step, i) =>
          createEvent("t", { i }, {
            source: "/p",
            ...(step.subject === undefined ? {} : { subject: step.subject }),
          })
        );
        await bus.publish("s", published);
        const deadIds = async () => (await bus.deadLetters("s", "g")).map((l) => l.event.id);
        for (let round = 0; round < 400; round++) {
          await flush();
          if (succeeded.size + (await deadIds()).length === plan.length) break;
          timers.advance(10);
        }
        const dead = new Set(await deadIds());
        plan.forEach((step, i) => {
          const attempts = delivered.filter((d) => d.i === i).map((d) => d.attempt);
          if (step.failures >= 3) {
            assert.ok(dead.has(published[i]!.id), `event ${i} dead-lettered`);
            assert.deepEqual(attempts, [1, 2, 3]);
          } else {
            assert.equal(succeeded.get(i), 1, `event ${i} handled once`);
            assert.deepEqual(attempts, Array.from({ length: step.failures + 1 }, (_, k) => k + 1));
          }
        });
        assert.deepEqual(overlaps, []);
        for (const subject of ["a", "b", "c"]) {
          const order = delivered.filter((d) => plan[d.i]!.subject === subject).map((d) => d.i);
          assert.deepEqual(order, [...order].sort((x, y) => x - y), `subject ${subject} in order`);
        }
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("MemoryBus parks at most 1,000 unfinished events of a group behind a hot subject", async () => {
  const timers = new ManualTimers();
  await using bus = new MemoryBus({ timers });
  const release = Promise.withResolvers<void>();
  const seen: number[] = [];
  await using _sub = await bus.subscribe("s", async (d) => {
    seen.push((d.event.data as { i: number }).i);
    if (seen.length === 1) await release.promise;
  }, { group: "g", concurrency: 2 });
  const other = createEvent("order.created", { i: -1 }, { source: "/shop/order" });
  await bus.publish("s", [...events(1_500, () => "hot"), other]);
  await flush();
  // Event 0 holds its subject; 999 more are parked; the rest (the last one too) wait.
  assert.deepEqual(seen, [0]);
  release.resolve();
  for (let i = 0; i < 20 && seen.length < 1_501; i++) await flush();
  assert.equal(seen.length, 1_501);
  assert.deepEqual(seen.filter((i) => i >= 0), [...Array(1_500).keys()]);
  assert.ok(seen.includes(-1));
});
