import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { waitFor } from "@flotilla/testing";
import { ManualClock } from "@flotilla/core";
import { type NatsServer, startNats } from "@flotilla/testing";
import { NatsBus } from "./nats_bus.ts";
import { createEvent } from "./create_event.ts";
import type { CloudEvent } from "./cloud_event.ts";
import type { Bus, Delivery } from "./bus.ts";
import { testBusConformance } from "./conformance.ts";
import { BusError, PoisonMessageError } from "./errors.ts";
import { eventSubject, streamName, token } from "./_nats_names.ts";

function events(count: number, type = "order.created", from = 0): CloudEvent<{ n: number }>[] {
  return Array.from(
    { length: count },
    (_, i) => createEvent(type, { n: from + i }, { source: "/flotilla/test" }),
  );
}

/** A bus with its own nats-server: disposing it stops both. */
class BusWithServer implements Bus {
  readonly kind = "nats";
  constructor(readonly bus: NatsBus, readonly server: NatsServer) {}
  publish: Bus["publish"] = (...args) => this.bus.publish(...args);
  subscribe: Bus["subscribe"] = (...args) => this.bus.subscribe(...args);
  deadLetters: Bus["deadLetters"] = (...args) => this.bus.deadLetters(...args);
  read: Bus["read"] = (...args) => this.bus.read(...args);
  async [Symbol.asyncDispose](): Promise<void> {
    await this.bus[Symbol.asyncDispose]();
    await this.server[Symbol.asyncDispose]();
  }
}

testBusConformance("NatsBus", async () => {
  const server = await startNats();
  return new BusWithServer(await NatsBus.connect({ servers: server.url }), server);
}, {
  publishRaw: async (bus, stream, raw) => {
    await (bus as BusWithServer).bus.connection.request(eventSubject(stream, "raw"), raw, {
      timeout: 5_000,
    });
  },
});

function report(line: string): void {
  // deno-lint-ignore no-console
  console.error(line);
}

Deno.test("token() keeps safe names readable and never maps two names to one token", () => {
  assert.equal(token("orders"), "orders");
  assert.equal(token("shop.order"), "shop_2Eorder");
  assert.equal(token("a_b"), "a_5Fb");
  assert.equal(token("dlq"), "_64lq");
  assert.equal(token("DLQ"), "_44LQ");
  assert.equal(streamName("shop.order"), "FLOTILLA_shop_2Eorder");
  assert.equal(
    eventSubject("shop.order", "order.created"),
    "flotilla.shop_2Eorder.order_2Ecreated",
  );
  const names = [
    "a",
    "a.b",
    "a_2Eb",
    "a_b",
    "a b",
    "a*",
    "a>",
    "é",
    "dlq",
    "_64lq",
    "x".repeat(500),
  ];
  const tokens = names.map(token);
  assert.equal(new Set(tokens).size, names.length);
  for (const t of tokens) {
    assert.match(t, /^[A-Za-z0-9_-]+$/);
    assert.ok(t.length <= 161);
  }
  assert.notEqual(token("x".repeat(500)), token("x".repeat(501)));
});

Deno.test("NatsBus.connect() rejects bad options with RangeError and an unreachable server with BUS_UNAVAILABLE", async () => {
  await assert.rejects(() => NatsBus.connect({}), RangeError);
  await assert.rejects(
    () => NatsBus.connect({ servers: "nats://127.0.0.1:1", publishWindow: 0 }),
    /Cannot connect the NATS bus as 'publishWindow' must be a positive integer: current value is 0/,
  );
  const error = await NatsBus.connect({
    servers: "nats://127.0.0.1:1",
    connectionOptions: { timeout: 1_000 },
  }).catch((e) => e);
  assert.ok(error instanceof BusError);
  assert.equal(error.code, "BUS_UNAVAILABLE");
  assert.equal(error.retryable, true);
});

Deno.test("NatsBus", async (t) => {
  await using nats = await startNats();
  await using bus = await NatsBus.connect({ servers: nats.url });

  await t.step(
    "publish() stores events in order and subscribe() delivers them once, acknowledged",
    async () => {
      const batch = events(50);
      const receipts = await bus.publish("t1.orders", batch);
      assert.deepEqual(
        receipts.map((r) => [r.id, r.duplicate]),
        batch.map((e) => [e.id, false]),
      );
      assert.deepEqual(receipts.map((r) => r.position), batch.map((_, i) => String(i + 1)));
      const seen: Delivery[] = [];
      const sub = await bus.subscribe("t1.orders", (d) => {
        seen.push(d);
      }, { group: "g" });
      await waitFor(() => seen.length === 50);
      assert.deepEqual(seen.map((d) => d.event.id), batch.map((e) => e.id));
      assert.ok(seen.every((d) => d.attempt === 1 && d.stream === "t1.orders"));
      assert.deepEqual(seen[0]!.event, batch[0]);
      await sub[Symbol.asyncDispose]();
      // A new member of the group gets nothing: all were acknowledged.
      const again: Delivery[] = [];
      await using _sub2 = await bus.subscribe("t1.orders", (d) => {
        again.push(d);
      }, { group: "g" });
      await bus.publish("t1.orders", events(1, "order.created", 50));
      await waitFor(() => again.length === 1);
      assert.equal((again[0]!.event.data as { n: number }).n, 50);
    },
  );

  await t.step("publish() deduplicates by event id (Nats-Msg-Id) within the window", async () => {
    const [a, b] = events(2);
    const first = await bus.publish("t2.orders", [a!, b!]);
    const second = await bus.publish("t2.orders", [b!, a!]);
    assert.deepEqual(second.map((r) => r.duplicate), [true, true]);
    assert.deepEqual(second.map((r) => r.position), [first[1]!.position, first[0]!.position]);
    const stored = await bus.read("t2.orders");
    assert.deepEqual(stored.map((r) => r.event.id), [a!.id, b!.id]);
  });

  await t.step(
    "publish() rejects a malformed event with INVALID_EVENT and stores nothing",
    async () => {
      const [good] = events(1);
      const bad = { ...good!, specversion: "0.3" } as unknown as CloudEvent;
      const error = await bus.publish("t3.orders", [good!, bad]).catch((e) => e);
      assert.ok(error instanceof BusError);
      assert.equal(error.code, "INVALID_EVENT");
      assert.deepEqual(await bus.read("t3.orders"), []);
    },
  );

  await t.step("publish() refuses an event larger than the server's max_payload", async () => {
    const [big] = events(1);
    const error = await bus.publish("t3c.orders", [{
      ...big!,
      data: { blob: "x".repeat(1_100_000) },
    }])
      .catch((e) => e);
    assert.ok(error instanceof BusError);
    assert.equal(error.code, "INVALID_EVENT");
    assert.equal(error.retryable, false);
  });

  await t.step("publish() honours an aborted signal", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await assert.rejects(
      () => bus.publish("t3b.orders", events(1), { signal: controller.signal }),
      /stop/,
    );
  });

  await t.step("streams whose names nest (a, a.b) stay apart", async () => {
    await bus.publish("nest", events(1, "x"));
    await bus.publish("nest.inner", events(2, "y"));
    assert.equal((await bus.read("nest")).length, 1);
    assert.equal((await bus.read("nest.inner")).length, 2);
  });

  await t.step("a failing handler is redelivered with backoff, attempt counting up", async () => {
    await bus.publish("t4.orders", events(1));
    const attempts: number[] = [];
    await using _sub = await bus.subscribe("t4.orders", (d) => {
      attempts.push(d.attempt);
      if (d.attempt < 3) throw new Error(`fail ${d.attempt}`);
    }, { group: "g", backoffMs: [5, 10], maxDeliver: 5 });
    await waitFor(() => attempts.length === 3);
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(await bus.deadLetters("t4.orders", "g"), []);
  });

  await t.step(
    "after maxDeliver failures the event is dead-lettered and the consumer keeps going",
    async () => {
      const clock = new ManualClock(Date.parse("2026-01-02T03:04:05.000Z"));
      await using clocked = await NatsBus.connect({ servers: nats.url, clock });
      const batch = events(3);
      await clocked.publish("t5.orders", batch);
      const handled: string[] = [];
      await using _sub = await clocked.subscribe("t5.orders", (d) => {
        if (d.event.id === batch[1]!.id) {
          throw new BusError("INVALID_EVENT", `no ${d.attempt}`);
        }
        handled.push(d.event.id);
      }, { group: "g", backoffMs: [1], maxDeliver: 3 });
      await waitFor(async () => (await clocked.deadLetters("t5.orders", "g")).length === 1);
      await waitFor(() => handled.length === 2);
      const [letter] = await clocked.deadLetters("t5.orders", "g");
      assert.deepEqual(letter, {
        event: batch[1],
        stream: "t5.orders",
        group: "g",
        attempts: 3,
        reason: "INVALID_EVENT: no 3",
        at: "2026-01-02T03:04:05.000Z",
      });
      assert.deepEqual(handled, [batch[0]!.id, batch[2]!.id]);
    },
  );

  await t.step("a PoisonMessageError is dead-lettered at once, without redelivery", async () => {
    const batch = events(2);
    await bus.publish("t6.orders", batch);
    const calls: string[] = [];
    await using _sub = await bus.subscribe("t6.orders", (d) => {
      calls.push(`${d.event.id}:${d.attempt}`);
      if (d.event.id === batch[0]!.id) throw new PoisonMessageError("schema says no");
    }, { group: "g", maxDeliver: 5, backoffMs: [1] });
    await waitFor(() => calls.length === 2);
    const letters = await waitFor(async () => {
      const found = await bus.deadLetters("t6.orders", "g");
      return found.length === 1 && found;
    });
    assert.equal(letters[0]!.attempts, 1);
    assert.equal(letters[0]!.reason, "schema says no");
    assert.deepEqual(calls, [`${batch[0]!.id}:1`, `${batch[1]!.id}:1`]);
    // Dead letters are per group.
    assert.deepEqual(await bus.deadLetters("t6.orders", "other"), []);
    assert.deepEqual(await bus.deadLetters("nowhere", "g"), []);
  });

  await t.step(
    "a message that is not a CloudEvent is dead-lettered with what could be read",
    async () => {
      const raw = await connect({ servers: nats.url });
      try {
        await bus.publish("t7.orders", events(1));
        await raw.request(eventSubject("t7.orders", "junk"), "not json", { timeout: 5_000 });
        await raw.request(eventSubject("t7.orders", "junk"), JSON.stringify({ id: "x-1" }), {
          timeout: 5_000,
        });
      } finally {
        await raw.close();
      }
      const seen: string[] = [];
      await using _sub = await bus.subscribe("t7.orders", (d) => {
        seen.push(d.event.type);
      }, { group: "g" });
      const letters = await waitFor(async () => {
        const found = await bus.deadLetters("t7.orders", "g");
        return found.length === 2 && found;
      });
      assert.deepEqual(seen, ["order.created"]);
      assert.deepEqual(letters[0]!.event, { id: "2", raw: "not json" });
      assert.match(letters[0]!.reason, /^Cannot decode the event/);
      assert.deepEqual(letters[1]!.event, { id: "x-1", raw: { id: "x-1" } });
      assert.match(letters[1]!.reason, /^Not a CloudEvent: 'specversion'/);
    },
  );

  await t.step("types filters on the server (one type) or the client (several)", async () => {
    await bus.publish("t8.orders", [
      ...events(2, "order.created"),
      ...events(2, "order.paid"),
      ...events(2, "order.shipped"),
    ]);
    const one: string[] = [];
    const two: string[] = [];
    await using _a = await bus.subscribe("t8.orders", (d) => {
      one.push(d.event.type);
    }, { group: "one", types: ["order.paid"] });
    await using _b = await bus.subscribe("t8.orders", (d) => {
      two.push(d.event.type);
    }, { group: "two", types: ["order.created", "order.shipped"] });
    await waitFor(() => one.length === 2 && two.length === 4);
    assert.deepEqual(one, ["order.paid", "order.paid"]);
    assert.deepEqual(two, ["order.created", "order.created", "order.shipped", "order.shipped"]);
  });

  await t.step("from: new skips the past, from: after starts after a position", async () => {
    const old = await bus.publish("t9.orders", events(3));
    const fromNew: number[] = [];
    const fromAfter: number[] = [];
    await using _a = await bus.subscribe("t9.orders", (d) => {
      fromNew.push((d.event.data as { n: number }).n);
    }, { group: "new", from: { type: "new" } });
    await using _b = await bus.subscribe("t9.orders", (d) => {
      fromAfter.push((d.event.data as { n: number }).n);
    }, { group: "after", from: { type: "after", position: old[1]!.position } });
    await bus.publish("t9.orders", events(1, "order.created", 3));
    await waitFor(() => fromNew.length === 1 && fromAfter.length === 2);
    assert.deepEqual(fromNew, [3]);
    assert.deepEqual(fromAfter, [2, 3]);
  });

  await t.step("members of one group share the events; every group gets all of them", async () => {
    await bus.publish("t10.orders", events(200));
    const a: string[] = [];
    const b: string[] = [];
    const other: string[] = [];
    await using _a = await bus.subscribe("t10.orders", async (d) => {
      a.push(d.event.id);
      await new Promise((r) => setTimeout(r, 1));
    }, { group: "g", consumer: "a" });
    await using _b = await bus.subscribe("t10.orders", async (d) => {
      b.push(d.event.id);
      await new Promise((r) => setTimeout(r, 1));
    }, { group: "g", consumer: "b" });
    await using _c = await bus.subscribe("t10.orders", (d) => {
      other.push(d.event.id);
    }, { group: "other", concurrency: 4 });
    await waitFor(() => a.length + b.length === 200 && other.length === 200);
    assert.equal(new Set([...a, ...b]).size, 200);
    assert.equal(new Set(other).size, 200);
  });

  await t.step(
    "closing a subscription gives back what it pulled; the next member gets it at once",
    async () => {
      await bus.publish("t11.orders", events(20));
      const first: number[] = [];
      let release!: () => void;
      const blocked = new Promise<void>((r) => release = r);
      const sub = await bus.subscribe("t11.orders", async (d) => {
        first.push((d.event.data as { n: number }).n);
        await blocked;
      }, { group: "g", ackWaitMs: 60_000 });
      await waitFor(() => first.length === 1);
      const closing = sub[Symbol.asyncDispose]();
      release(); // in-flight handler finishes first
      await closing;
      await sub.closed;
      const second: Delivery[] = [];
      await using _next = await bus.subscribe("t11.orders", (d) => {
        second.push(d);
      }, { group: "g", ackWaitMs: 60_000 });
      await bus.publish("t11.orders", events(1, "order.created", 20));
      // With a 60 s ack wait, only events given back (nak) can arrive before the test ends.
      await waitFor(() => second.length === 20, { timeoutMs: 20_000 });
      assert.deepEqual(
        second.map((d) => (d.event.data as { n: number }).n).sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    },
  );

  await t.step(
    "a handler past its ack wait sees its signal abort and the event comes again",
    async () => {
      await bus.publish("t12.orders", events(1));
      const reasons: string[] = [];
      const attempts: number[] = [];
      await using _sub = await bus.subscribe("t12.orders", async (d) => {
        attempts.push(d.attempt);
        if (d.attempt === 1) {
          await new Promise<void>((resolve) => d.signal.addEventListener("abort", () => resolve()));
          reasons.push((d.signal.reason as Error).name);
          throw d.signal.reason;
        }
      }, { group: "g", ackWaitMs: 300, backoffMs: [1] });
      await waitFor(() => attempts.length >= 2);
      assert.deepEqual(reasons, ["TimeoutError"]);
      assert.equal(attempts[1], 2);
    },
  );

  await t.step("read() pages through a stream with after and limit", async () => {
    const batch = events(10);
    await bus.publish("t13.orders", batch);
    const page1 = await bus.read("t13.orders", { limit: 4 });
    const page2 = await bus.read("t13.orders", { after: page1.at(-1)!.position, limit: 4 });
    const page3 = await bus.read("t13.orders", { after: page2.at(-1)!.position, limit: 4 });
    const end = await bus.read("t13.orders", { after: page3.at(-1)!.position });
    assert.deepEqual(
      [...page1, ...page2, ...page3].map((r) => r.event.id),
      batch.map((e) => e.id),
    );
    assert.deepEqual(end, []);
    assert.deepEqual(await bus.read("never.published"), []);
    await assert.rejects(() => bus.read("t13.orders", { after: "1-0" }), RangeError);
  });

  await t.step(
    "a subscription outlives the deletion of its stream (re-created on use)",
    async () => {
      const seen: number[] = [];
      await using _sub = await bus.subscribe("t14.orders", (d) => {
        seen.push((d.event.data as { n: number }).n);
      }, { group: "g" });
      await bus.publish("t14.orders", events(1));
      await waitFor(() => seen.length === 1);
      const jsm = await jetstreamManager(bus.connection);
      await jsm.streams.delete(streamName("t14.orders"));
      const [next] = events(1, "order.created", 1);
      await waitFor(async () =>
        (await bus.publish("t14.orders", [next!]).catch(() => false)) !== false
      );
      await waitFor(() => seen.includes(1));
      assert.deepEqual(seen, [0, 1]);
    },
  );

  await t.step("subscribe() checks its options", async () => {
    await assert.rejects(
      () => bus.subscribe("x", () => {}, { group: "" }),
      /Cannot subscribe as 'group' must be a non-empty string/,
    );
    await assert.rejects(
      () => bus.subscribe("x", () => {}, { group: "g", maxDeliver: 0 }),
      RangeError,
    );
    await assert.rejects(
      () => bus.subscribe("x", () => {}, { group: "g", from: { type: "after", position: "x" } }),
      RangeError,
    );
  });
});

Deno.test("NatsBus loses no event when nats-server is killed and restarted with 10,000 in flight", async () => {
  await using nats = await startNats();
  await using publisher = await NatsBus.connect({ servers: nats.url, timeoutMs: 2_000 });
  await using consumer = await NatsBus.connect({ servers: nats.url });
  const total = 10_000;
  const all = events(total);
  const effects = new Map<string, number>();
  let deliveries = 0;

  let publishFailures = 0;
  let duplicateReceipts = 0;
  let published = 0;
  const publishing = (async () => {
    for (let i = 0; i < total; i += 100) {
      const batch = all.slice(i, i + 100);
      while (true) {
        try {
          const receipts = await publisher.publish("crash.orders", batch);
          duplicateReceipts += receipts.filter((r) => r.duplicate).length;
          break;
        } catch (error) {
          assert.ok(error instanceof BusError && error.retryable, String(error));
          publishFailures++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      published += batch.length;
    }
  })();

  // The group starts behind the publisher, so a backlog is pending when the broker dies.
  await waitFor(() => published >= 2_000);
  const sub = await consumer.subscribe("crash.orders", async (d) => {
    deliveries++;
    effects.set(d.event.id, (effects.get(d.event.id) ?? 0) + 1);
    await Promise.resolve();
  }, { group: "g", ackWaitMs: 3_000 });
  await waitFor(() => published >= total / 2 && effects.size >= 1_000);
  const killedAt = { published, processed: effects.size };
  await nats.kill();
  await waitFor(() => publishFailures > 0, { what: "a publish to fail while the broker is down" });
  await nats.restart();
  await publishing;
  await waitFor(() => effects.size === total, {
    timeoutMs: 120_000,
    what: "every event processed",
  });
  await sub[Symbol.asyncDispose]();

  const lost = all.filter((e) => !effects.has(e.id)).length;
  const duplicates = [...effects.values()].reduce((sum, n) => sum + n - 1, 0);
  const stored = await consumer.read("crash.orders");
  report(
    `restart test: SIGKILL at ${killedAt.published} published / ${killedAt.processed} processed; ` +
      `${publishFailures} publish calls failed and were retried ` +
      `(${duplicateReceipts} receipts then said duplicate); stored ${stored.length}; ` +
      `processed ${effects.size}, lost ${lost}, duplicate deliveries ${duplicates} ` +
      `(${deliveries} deliveries in all)`,
  );
  assert.equal(lost, 0);
  assert.equal(stored.length, total);
  assert.equal(new Set(stored.map((r) => r.event.id)).size, total);
});

Deno.test("NatsBus is disposed promptly while its broker is down", async () => {
  await using nats = await startNats();
  const bus = await NatsBus.connect({ servers: nats.url, timeoutMs: 1_000 });
  await bus.publish("down.orders", events(3));
  const seen: string[] = [];
  await bus.subscribe("down.orders", (d) => {
    seen.push(d.event.id);
  }, { group: "g" });
  await waitFor(() => seen.length === 3);
  await nats.kill();
  const error = await bus.publish("down.orders", events(1)).catch((e) => e);
  assert.ok(error instanceof BusError && error.code === "BUS_UNAVAILABLE");
  await bus[Symbol.asyncDispose]();
  await assert.rejects(() => bus.publish("down.orders", events(1)), BusError);
});
