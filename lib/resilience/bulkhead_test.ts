import assert from "node:assert/strict";
import fc from "fast-check";
import { Bulkhead, type Release } from "./bulkhead.ts";
import { BulkheadFullError } from "./errors.ts";
import { ManualTimers } from "./timers.ts";

/** Lets settled promises run their callbacks. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

Deno.test("Bulkhead.tryAcquire() hands out maxConcurrent slots, then none", () => {
  const bulkhead = new Bulkhead({ maxConcurrent: 2 });
  const first = bulkhead.tryAcquire();
  const second = bulkhead.tryAcquire();
  assert.ok(first && second);
  assert.equal(bulkhead.tryAcquire(), undefined);
  assert.equal(bulkhead.inFlight, 2);
  first();
  first(); // a second call does nothing
  assert.equal(bulkhead.inFlight, 1);
  assert.ok(bulkhead.tryAcquire());
  assert.equal(bulkhead.tryAcquire(), undefined);
});

Deno.test("Bulkhead.acquire() rejects at once when full and the queue is 0", async () => {
  const bulkhead = new Bulkhead({ maxConcurrent: 1, name: "inventory-1" });
  await bulkhead.acquire();
  await assert.rejects(bulkhead.acquire(), (error: unknown) => {
    assert.ok(error instanceof BulkheadFullError);
    assert.deepEqual(error.data, {
      name: "inventory-1",
      reason: "full",
      maxConcurrent: 1,
      maxQueue: 0,
    });
    return true;
  });
});

Deno.test("Bulkhead.acquire() queues in FIFO order and hands freed slots to the oldest waiter", async () => {
  const timers = new ManualTimers();
  const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 3, timers });
  const release = await bulkhead.acquire();
  const order: string[] = [];
  const waiters = ["a", "b", "c"].map((name) =>
    bulkhead.acquire().then((r) => {
      order.push(name);
      return r;
    })
  );
  await assert.rejects(bulkhead.acquire(), {
    data: { reason: "full", maxConcurrent: 1, maxQueue: 3 },
  });
  assert.equal(bulkhead.queued, 3);
  assert.equal(bulkhead.tryAcquire(), undefined); // no jumping the queue
  release();
  await flush();
  assert.deepEqual(order, ["a"]);
  assert.equal(bulkhead.inFlight, 1);
  (await waiters[0]!)();
  (await waiters[1]!)();
  (await waiters[2]!)();
  assert.deepEqual(order, ["a", "b", "c"]);
  assert.equal(bulkhead.inFlight, 0);
  assert.equal(timers.pending, 0);
});

Deno.test("Bulkhead.acquire() gives up after maxWaitMs in the queue", async () => {
  const timers = new ManualTimers();
  const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWaitMs: 100, timers });
  await bulkhead.acquire();
  const waiting = bulkhead.acquire();
  timers.advance(99);
  assert.equal(bulkhead.queued, 1);
  timers.advance(1);
  await assert.rejects(waiting, {
    code: "BULKHEAD_FULL",
    data: { reason: "wait_timeout", maxConcurrent: 1, maxQueue: 1 },
  });
  assert.equal(bulkhead.queued, 0);
  assert.equal(bulkhead.inFlight, 1);
});

Deno.test("Bulkhead.acquire() removes an aborted waiter from the queue", async () => {
  const timers = new ManualTimers();
  const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, timers });
  const release = await bulkhead.acquire();
  const controller = new AbortController();
  const aborted = bulkhead.acquire(controller.signal);
  const next = bulkhead.acquire();
  controller.abort(new Error("caller gave up"));
  await assert.rejects(aborted, { message: "caller gave up" });
  assert.equal(bulkhead.queued, 1);
  release();
  const nextRelease = await next;
  assert.equal(bulkhead.inFlight, 1);
  nextRelease();
  assert.equal(timers.pending, 0);
  await assert.rejects(bulkhead.acquire(AbortSignal.abort(new Error("already"))), {
    message: "already",
  });
});

Deno.test("Bulkhead.execute() releases the slot whatever happens", async () => {
  const bulkhead = new Bulkhead({ maxConcurrent: 1 });
  assert.equal(await bulkhead.execute(() => 42), 42);
  await assert.rejects(bulkhead.execute(() => Promise.reject(new Error("boom"))), {
    message: "boom",
  });
  assert.equal(bulkhead.inFlight, 0);
});

Deno.test("Bulkhead[Symbol.asyncDispose]() rejects waiters and later acquisitions", async () => {
  const timers = new ManualTimers();
  const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, timers });
  const release = await bulkhead.acquire();
  const waiting = bulkhead.acquire();
  await bulkhead[Symbol.asyncDispose]();
  await assert.rejects(waiting, { data: { reason: "disposed", maxConcurrent: 1, maxQueue: 1 } });
  await assert.rejects(bulkhead.acquire(), {
    data: { reason: "disposed", maxConcurrent: 1, maxQueue: 1 },
  });
  assert.equal(bulkhead.tryAcquire(), undefined);
  release();
  assert.equal(bulkhead.inFlight, 0);
  assert.equal(timers.pending, 0);
});

Deno.test("Bulkhead() throws RangeError on out-of-range options", () => {
  assert.throws(() => new Bulkhead({ maxConcurrent: 0 }), {
    name: "RangeError",
    message:
      "Cannot create the bulkhead as 'maxConcurrent' must be a positive integer: current value is 0",
  });
  assert.throws(() => new Bulkhead({ maxQueue: -1 }), RangeError);
  assert.throws(() => new Bulkhead({ maxWaitMs: -1 }), RangeError);
  new Bulkhead({ maxWaitMs: Infinity });
});

type Op =
  | { type: "try" }
  | { type: "acquire"; abortable: boolean }
  | { type: "release"; index: number }
  | { type: "abort"; index: number }
  | { type: "advance"; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ type: "try" as const }),
  fc.record({ type: fc.constant("acquire" as const), abortable: fc.boolean() }),
  fc.record({ type: fc.constant("release" as const), index: fc.nat(50) }),
  fc.record({ type: fc.constant("abort" as const), index: fc.nat(50) }),
  fc.record({ type: fc.constant("advance" as const), ms: fc.nat(150) }),
);

Deno.test("Bulkhead never has more than maxConcurrent calls in flight, nor more than maxQueue waiting", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 4 }),
      fc.array(opArb, { maxLength: 80, size: "max" }),
      async (maxConcurrent, maxQueue, ops) => {
        const timers = new ManualTimers();
        const bulkhead = new Bulkhead({ maxConcurrent, maxQueue, maxWaitMs: 100, timers });
        const held: Release[] = [];
        const controllers: AbortController[] = [];
        let waiting = 0;
        const check = () => {
          assert.ok(held.length <= maxConcurrent, `${held.length} in flight`);
          assert.equal(bulkhead.inFlight, held.length);
          assert.ok(bulkhead.queued <= maxQueue);
          assert.equal(bulkhead.queued, waiting);
        };
        for (const op of ops) {
          switch (op.type) {
            case "try": {
              const release = bulkhead.tryAcquire();
              if (release) held.push(release);
              break;
            }
            case "acquire": {
              const controller = new AbortController();
              controllers.push(controller);
              waiting++;
              bulkhead.acquire(op.abortable ? controller.signal : undefined).then(
                (release) => {
                  waiting--;
                  held.push(release);
                },
                () => waiting--,
              );
              break;
            }
            case "release":
              if (held.length > 0) held.splice(op.index % held.length, 1)[0]!();
              break;
            case "abort":
              if (controllers.length > 0) controllers[op.index % controllers.length]!.abort();
              break;
            case "advance":
              timers.advance(op.ms);
              break;
          }
          await flush();
          check();
        }
        while (held.length > 0) {
          held.pop()!();
          await flush();
        }
        timers.advance(1_000);
        await flush();
        assert.equal(bulkhead.inFlight, 0);
        assert.equal(bulkhead.queued, 0);
        assert.equal(waiting, 0);
        assert.equal(timers.pending, 0);
      },
    ),
    { numRuns: 200 },
  );
});
