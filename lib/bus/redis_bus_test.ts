import assert from "node:assert/strict";
import { createClient } from "redis";
import { Logger, ManualClock, MemorySink } from "@flotilla/core";
import { waitFor } from "@flotilla/testing";
import { type RedisServer, startRedis } from "@flotilla/testing";
import type { CloudEvent } from "./cloud_event.ts";
import type { Delivery } from "./bus.ts";
import { BusError, PoisonMessageError } from "./errors.ts";
import { RedisBus, type RedisBusOptions } from "./redis_bus.ts";
import { testBusConformance } from "./conformance.ts";

/**
 * A test with a redis-server of its own (started before, killed and removed
 * after), so that a test may kill and restart it without touching others.
 */
function redisTest(name: string, fn: (redis: RedisServer) => Promise<void>): void {
  Deno.test(name, async () => {
    await using redis = await startRedis();
    await fn(redis);
  });
}

let counter = 0;
function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

function event(id: string, type = "thing.happened", data: unknown = { id }): CloudEvent {
  return {
    specversion: "1.0",
    id,
    source: "/flotilla/test",
    type,
    time: "2026-01-01T00:00:00.000Z",
    datacontenttype: "application/json",
    data,
  };
}

function events(prefix: string, count: number): CloudEvent[] {
  return Array.from({ length: count }, (_, i) => event(`${prefix}-${i}`));
}

function openBus(redis: RedisServer, options: Partial<RedisBusOptions> = {}): RedisBus {
  return new RedisBus({
    url: redis.url,
    claimIntervalMs: 50,
    blockMs: 200,
    logger: new Logger({ sink: new MemorySink() }),
    ...options,
  });
}

async function rawClient(url: string) {
  const client = createClient({ url, RESP: 2 });
  client.on("error", () => {});
  await client.connect();
  return {
    client,
    send: <T>(...args: string[]) => client.sendCommand<T>(args),
    [Symbol.asyncDispose]: () => Promise.resolve(client.destroy()),
  };
}

/** A RedisBus that owns a redis-server of its own: disposing the bus kills the server. */
class RedisBusWithServer extends RedisBus {
  readonly server: RedisServer;

  constructor(server: RedisServer, options: Partial<RedisBusOptions> = {}) {
    super({ url: server.url, ...options });
    this.server = server;
  }

  override async [Symbol.asyncDispose](): Promise<void> {
    await super[Symbol.asyncDispose]();
    await this.server[Symbol.asyncDispose]();
  }
}

testBusConformance("RedisBus", async () => {
  const server = await startRedis();
  return new RedisBusWithServer(server, {
    claimIntervalMs: 50,
    blockMs: 200,
    prefetchWaitMs: 100,
    logger: new Logger({ sink: new MemorySink() }),
  });
}, {
  ackWaitMs: 400,
  publishRaw: async (bus, stream, raw) => {
    await using r = await rawClient((bus as RedisBusWithServer).server.url);
    await r.send("XADD", `flotilla:stream:${stream}`, "*", "event", raw);
  },
});

Deno.test("startRedis() serves PING and keeps its data across kill() and restart()", async () => {
  await using server = await startRedis();
  assert.match(server.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
  {
    await using r = await rawClient(server.url);
    assert.equal(await r.send("PING"), "PONG");
    assert.deepEqual(await r.send("CONFIG", "GET", "appendfsync"), ["appendfsync", "always"]);
    assert.deepEqual(await r.send("CONFIG", "GET", "appendonly"), ["appendonly", "yes"]);
    assert.deepEqual(await r.send("CONFIG", "GET", "save"), ["save", ""]);
    await r.send("SET", "k", "v");
  }
  await server.kill();
  assert.equal(server.running, false);
  await server.restart();
  await using r = await rawClient(server.url);
  assert.equal(await r.send("GET", "k"), "v");
});

redisTest("RedisBus.publish() appends in order and returns stream positions", async (redis) => {
  await using bus = openBus(redis);
  const stream = unique("orders");
  const receipts = await bus.publish(stream, events(stream, 3));
  assert.deepEqual(receipts.map((r) => [r.id, r.duplicate]), [
    [`${stream}-0`, false],
    [`${stream}-1`, false],
    [`${stream}-2`, false],
  ]);
  const read = await bus.read(stream);
  assert.deepEqual(read.map((r) => r.position), receipts.map((r) => r.position));
  assert.deepEqual(read.map((r) => r.event), events(stream, 3));
  await using r = await rawClient(redis.url);
  const entries = await r.send<Array<[string, string[]]>>(
    "XRANGE",
    `flotilla:stream:${stream}`,
    "-",
    "+",
  );
  assert.deepEqual(entries[0]![1].slice(0, 4), ["id", `${stream}-0`, "type", "thing.happened"]);
});

redisTest("RedisBus.publish() deduplicates ids, across calls and within a batch", async (redis) => {
  await using bus = openBus(redis);
  const stream = unique("dedupe");
  const [a, b] = events(stream, 2);
  const first = await bus.publish(stream, [a!, b!, a!]);
  assert.deepEqual(first.map((r) => r.duplicate), [false, false, true]);
  assert.equal(first[2]!.position, first[0]!.position);
  const again = await bus.publish(stream, [b!]);
  assert.deepEqual(again, [{ id: b!.id, position: first[1]!.position, duplicate: true }]);
  assert.equal((await bus.read(stream)).length, 2);
  await using r = await rawClient(redis.url);
  const ttl = await r.send<number>("PTTL", `flotilla:dedupe:${stream}:${a!.id}`);
  assert.ok(ttl > 0 && ttl <= 86_400_000, `dedupe key TTL ${ttl}`);
});

redisTest("RedisBus.publish() with dedupeWindowMs 0 appends every copy", async (redis) => {
  await using bus = openBus(redis, { dedupeWindowMs: 0 });
  const stream = unique("nodedupe");
  const [a] = events(stream, 1);
  const receipts = await bus.publish(stream, [a!, a!]);
  assert.deepEqual(receipts.map((r) => r.duplicate), [false, false]);
  assert.notEqual(receipts[0]!.position, receipts[1]!.position);
  assert.equal((await bus.read(stream)).length, 2);
});

redisTest("RedisBus.publish() splits large batches and keeps their order", async (redis) => {
  await using bus = openBus(redis);
  const stream = unique("large");
  const batch = events(stream, 1_000);
  const receipts = await bus.publish(stream, batch);
  assert.equal(receipts.length, 1_000);
  const read = await bus.read(stream);
  assert.deepEqual(read.map((r) => r.event.id), batch.map((e) => e.id));
  assert.deepEqual(read.map((r) => r.position), receipts.map((r) => r.position));
});

redisTest("RedisBus.publish() rejects a malformed event and stores nothing", async (redis) => {
  await using bus = openBus(redis);
  const stream = unique("invalid");
  const bad = { ...event("x"), specversion: "0.3" } as unknown as CloudEvent;
  await assert.rejects(
    bus.publish(stream, [event("ok"), bad]),
    (error) => error instanceof BusError && error.code === "INVALID_EVENT",
  );
  assert.deepEqual(await bus.read(stream), []);
});

redisTest("RedisBus.read() pages after a position and honours limit", async (redis) => {
  await using bus = openBus(redis);
  const stream = unique("replay");
  const receipts = await bus.publish(stream, events(stream, 5));
  const after = await bus.read(stream, { after: receipts[1]!.position, limit: 2 });
  assert.deepEqual(after.map((r) => r.event.id), [`${stream}-2`, `${stream}-3`]);
  assert.deepEqual(await bus.read(stream, { after: receipts[4]!.position }), []);
  await assert.rejects(bus.read(stream, { after: "not-a-position" }), RangeError);
  await assert.rejects(bus.read(stream, { limit: 0 }), RangeError);
});

redisTest(
  "RedisBus.subscribe() gives every group every event, and splits a group's events",
  async (redis) => {
    await using bus = openBus(redis);
    const stream = unique("fanout");
    const billing: string[] = [];
    const shippingA: string[] = [];
    const shippingB: string[] = [];
    await using _billing = await bus.subscribe(stream, ({ event }) => {
      billing.push(event.id);
    }, { group: "billing" });
    await using _a = await bus.subscribe(stream, async ({ event }) => {
      shippingA.push(event.id);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }, { group: "shipping" });
    await using _b = await bus.subscribe(stream, async ({ event }) => {
      shippingB.push(event.id);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }, { group: "shipping" });
    for (let i = 0; i < 10; i++) await bus.publish(stream, events(`${stream}-${i}`, 20));
    await waitFor(() => billing.length === 200 && shippingA.length + shippingB.length === 200, {
      what: "200 events in each group",
    });
    assert.equal(new Set(billing).size, 200);
    assert.equal(new Set([...shippingA, ...shippingB]).size, 200);
  },
);

redisTest("RedisBus.subscribe() acknowledges what it handled", async (redis) => {
  await using bus = openBus(redis);
  await using r = await rawClient(redis.url);
  const stream = unique("ack");
  let handled = 0;
  await using _sub = await bus.subscribe(stream, () => {
    handled += 1;
  }, { group: "g" });
  await bus.publish(stream, events(stream, 50));
  await waitFor(() => handled === 50);
  await waitFor(async () =>
    (await r.send<[number]>("XPENDING", `flotilla:stream:${stream}`, "g"))[0] === 0
  );
});

redisTest("RedisBus.subscribe() skips other types, acknowledging them unseen", async (redis) => {
  await using bus = openBus(redis);
  await using r = await rawClient(redis.url);
  const stream = unique("types");
  const seen: string[] = [];
  await using _sub = await bus.subscribe(stream, ({ event }) => {
    seen.push(event.type);
  }, { group: "g", types: ["order.created"] });
  await bus.publish(stream, [
    event(`${stream}-1`, "order.created"),
    event(`${stream}-2`, "order.shipped"),
    event(`${stream}-3`, "order.created"),
  ]);
  await waitFor(() => seen.length === 2);
  await waitFor(async () =>
    (await r.send<[number]>("XPENDING", `flotilla:stream:${stream}`, "g"))[0] === 0
  );
  assert.deepEqual(seen, ["order.created", "order.created"]);
});

redisTest(
  "RedisBus.subscribe() starts a new group at 'new', 'all' or after a position",
  async (redis) => {
    await using bus = openBus(redis);
    const stream = unique("from");
    const receipts = await bus.publish(stream, events(stream, 3));
    const got: Record<string, string[]> = { all: [], new: [], after: [] };
    await using _all = await bus.subscribe(stream, ({ event }) => {
      got.all!.push(event.id);
    }, { group: "all" });
    await using _new = await bus.subscribe(stream, ({ event }) => {
      got.new!.push(event.id);
    }, { group: "new", from: { type: "new" } });
    await using _after = await bus.subscribe(stream, ({ event }) => {
      got.after!.push(event.id);
    }, { group: "after", from: { type: "after", position: receipts[0]!.position } });
    await bus.publish(stream, [event(`${stream}-3`)]);
    await waitFor(() => got.all!.length === 4 && got.new!.length === 1 && got.after!.length === 3);
    assert.deepEqual(got.new, [`${stream}-3`]);
    assert.deepEqual(got.after, [`${stream}-1`, `${stream}-2`, `${stream}-3`]);
  },
);

redisTest(
  "RedisBus.subscribe() redelivers a failure after its backoff, then dead-letters it",
  async (redis) => {
    await using bus = openBus(redis);
    const stream = unique("retry");
    const attempts: number[] = [];
    const ok: string[] = [];
    await using _sub = await bus.subscribe(stream, ({ event, attempt }) => {
      if (event.id === `${stream}-bad`) {
        attempts.push(attempt);
        throw new BusError("BUS_UNAVAILABLE", "downstream is down");
      }
      ok.push(event.id);
    }, { group: "g", maxDeliver: 3, backoffMs: [10, 20] });
    await bus.publish(stream, [event(`${stream}-bad`), event(`${stream}-next`)]);
    await waitFor(async () => (await bus.deadLetters(stream, "g")).length === 1);
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(ok, [`${stream}-next`]); // the consumer kept going
    const [dead] = await bus.deadLetters(stream, "g");
    assert.equal(dead!.attempts, 3);
    assert.equal(dead!.reason, "BUS_UNAVAILABLE: downstream is down");
    assert.equal(dead!.stream, stream);
    assert.equal(dead!.group, "g");
    assert.deepEqual(dead!.event, event(`${stream}-bad`));
    await using r = await rawClient(redis.url);
    assert.equal((await r.send<[number]>("XPENDING", `flotilla:stream:${stream}`, "g"))[0], 0);
    assert.equal(await r.send("ZCARD", `flotilla:retry:${stream}:g`), 0);
    assert.equal(await r.send("HLEN", `flotilla:failures:${stream}:g`), 0);
  },
);

redisTest(
  "RedisBus.subscribe() succeeds on a redelivery and forgets the failure",
  async (redis) => {
    await using bus = openBus(redis);
    await using r = await rawClient(redis.url);
    const stream = unique("recover");
    const attempts: number[] = [];
    await using _sub = await bus.subscribe(stream, ({ attempt }) => {
      attempts.push(attempt);
      if (attempt === 1) throw new Error("flaky");
    }, { group: "g", backoffMs: [10] });
    await bus.publish(stream, [event(`${stream}-1`)]);
    await waitFor(() => attempts.length === 2);
    await waitFor(async () =>
      (await r.send<[number]>("XPENDING", `flotilla:stream:${stream}`, "g"))[0] === 0
    );
    assert.deepEqual(attempts, [1, 2]);
    assert.equal(await r.send("ZCARD", `flotilla:retry:${stream}:g`), 0);
    assert.deepEqual(await bus.deadLetters(stream, "g"), []);
  },
);

redisTest("RedisBus.subscribe() dead-letters a PoisonMessageError at once", async (redis) => {
  await using bus = openBus(redis);
  const stream = unique("poison");
  const seen: string[] = [];
  await using _sub = await bus.subscribe(stream, ({ event }) => {
    seen.push(event.id);
    if (event.id === `${stream}-0`) throw new PoisonMessageError("amount must be positive");
  }, { group: "g", maxDeliver: 5, backoffMs: [10] });
  await bus.publish(stream, events(stream, 3));
  await waitFor(async () => seen.length === 3 && (await bus.deadLetters(stream, "g")).length === 1);
  const [dead] = await bus.deadLetters(stream, "g");
  assert.equal(dead!.attempts, 1);
  assert.equal(dead!.reason, "amount must be positive");
  assert.deepEqual(seen, [`${stream}-0`, `${stream}-1`, `${stream}-2`]);
});

redisTest("RedisBus.subscribe() dead-letters an entry that is not a valid event", async (redis) => {
  await using bus = openBus(redis);
  await using r = await rawClient(redis.url);
  const stream = unique("garbage");
  await r.send(
    "XADD",
    `flotilla:stream:${stream}`,
    "*",
    "id",
    "g-1",
    "type",
    "t",
    "event",
    "{nope",
  );
  const seen: string[] = [];
  await using _sub = await bus.subscribe(stream, ({ event }) => {
    seen.push(event.id);
  }, { group: "g" });
  await bus.publish(stream, [event(`${stream}-ok`)]);
  await waitFor(async () => seen.length === 1 && (await bus.deadLetters(stream, "g")).length === 1);
  const [dead] = await bus.deadLetters(stream, "g");
  assert.deepEqual(dead!.event, { id: "g-1", raw: "{nope" });
  assert.match(dead!.reason, /Cannot parse the event/);
});

redisTest(
  "RedisBus.subscribe() claims a delivery stuck with a dead consumer after the ack wait",
  async (redis) => {
    await using bus = openBus(redis);
    await using r = await rawClient(redis.url);
    const stream = unique("stuck");
    const key = `flotilla:stream:${stream}`;
    await bus.publish(stream, events(stream, 2));
    await r.send("XGROUP", "CREATE", key, "g", "0");
    // A consumer that read both and died before acknowledging.
    await r.send("XREADGROUP", "GROUP", "g", "crashed", "COUNT", "10", "STREAMS", key, ">");
    const deliveries: Array<[string, number]> = [];
    await using _sub = await bus.subscribe(stream, ({ event, attempt }) => {
      deliveries.push([event.id, attempt]);
    }, { group: "g", ackWaitMs: 100 });
    await waitFor(() => deliveries.length === 2);
    assert.deepEqual(deliveries, [[`${stream}-0`, 2], [`${stream}-1`, 2]]);
  },
);

redisTest(
  "RedisBus.subscribe() dead-letters an event whose deliveries all ran out of ack wait",
  async (redis) => {
    await using bus = openBus(redis);
    const stream = unique("hang");
    const attempts: number[] = [];
    const signals: AbortSignal[] = [];
    await using _sub = await bus.subscribe(stream, async ({ attempt, signal }) => {
      attempts.push(attempt);
      signals.push(signal);
      // Hangs past the ack wait; returns once told the ack wait ran out.
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      throw signal.reason;
    }, { group: "g", ackWaitMs: 100, maxDeliver: 2, backoffMs: [100_000] });
    await bus.publish(stream, [event(`${stream}-1`)]);
    await waitFor(async () => (await bus.deadLetters(stream, "g")).length === 1);
    assert.deepEqual(attempts.slice(0, 2), [1, 2]);
    assert.ok(signals.every((s) => s.aborted));
    const [dead] = await bus.deadLetters(stream, "g");
    assert.equal(dead!.attempts, 2);
  },
);

redisTest(
  "RedisBus.subscribe() hands out deliveries concurrently with concurrency > 1",
  async (redis) => {
    await using bus = openBus(redis);
    const stream = unique("concurrent");
    let running = 0;
    let most = 0;
    let done = 0;
    await using _sub = await bus.subscribe(stream, async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      done += 1;
    }, { group: "g", concurrency: 4 });
    await bus.publish(stream, events(stream, 20));
    await waitFor(() => done === 20);
    assert.ok(most > 1 && most <= 4, `at most ${most} at once`);
  },
);

redisTest(
  "RedisBus subscription close lets in-flight handlers finish and hands the rest back",
  async (redis) => {
    await using bus = openBus(redis);
    const stream = unique("close");
    await bus.publish(stream, events(stream, 10));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const first: Delivery[] = [];
    const sub = await bus.subscribe(stream, async (delivery) => {
      first.push(delivery);
      await gate;
    }, { group: "g", ackWaitMs: 60_000 });
    await waitFor(() => first.length === 1);
    const closing = sub[Symbol.asyncDispose]();
    assert.equal(first[0]!.signal.aborted, true);
    release();
    await closing;
    await sub.closed;
    // The other nine are handed to the next consumer at once, not after the 60 s ack wait.
    const second: Array<[string, number]> = [];
    await using _next = await bus.subscribe(stream, ({ event, attempt }) => {
      second.push([event.id, attempt]);
    }, { group: "g", ackWaitMs: 60_000 });
    await waitFor(() => second.length === 9, { timeoutMs: 20_000 });
    assert.deepEqual(second.map(([, attempt]) => attempt), Array(9).fill(1));
    assert.deepEqual(
      second.map(([id]) => id).sort(),
      events(stream, 10).slice(1).map((e) => e.id).sort(),
    );
  },
);

redisTest("RedisBus.subscribe() stops when its signal aborts", async (redis) => {
  await using bus = openBus(redis);
  const stream = unique("signal");
  const controller = new AbortController();
  const sub = await bus.subscribe(stream, () => {}, { group: "g", signal: controller.signal });
  controller.abort();
  await sub.closed;
});

redisTest("RedisBus.subscribe() rejects bad options with RangeError", async (redis) => {
  await using bus = openBus(redis);
  await assert.rejects(bus.subscribe("s", () => {}, { group: "" }), RangeError);
  await assert.rejects(bus.subscribe("s", () => {}, { group: "g", maxDeliver: 0 }), RangeError);
  await assert.rejects(
    bus.subscribe("s", () => {}, { group: "g", from: { type: "after", position: "x" } }),
    RangeError,
  );
  assert.throws(() => new RedisBus({ url: redis.url, batchSize: 0 }), RangeError);
  assert.throws(() => new RedisBus({ url: "http://x" }), BusError);
});

redisTest(
  "RedisBus reports Redis durability at connect and warns unless it is durable",
  async (redis) => {
    {
      await using bus = openBus(redis);
      assert.deepEqual(await bus.connect(), {
        appendonly: "yes",
        appendfsync: "always",
        durable: true,
      });
    }
    await using everysec = await startRedis({ appendFsync: "everysec" });
    const sink = new MemorySink();
    {
      await using bus = new RedisBus({ url: everysec.url, logger: new Logger({ sink }) });
      const durability = await bus.connect();
      assert.equal(durability.durable, false);
      assert.equal(durability.appendfsync, "everysec");
    }
    assert.equal(sink.records.length, 1);
    assert.equal(sink.records[0]!.level, "warn");
    assert.match(sink.records[0]!.msg, /appendfsync is everysec/);
    await using strict = new RedisBus({ url: everysec.url, requireDurable: true });
    await assert.rejects(
      strict.publish("s", [event("e")]),
      (error) => error instanceof BusError && error.code === "INVALID_BUS_URL",
    );
  },
);

Deno.test(
  "RedisBus with appendfsync always: acknowledged events survive SIGKILL; without AOF they do not",
  async () => {
    for (const appendOnly of [true, false]) {
      await using server = await startRedis({ appendOnly });
      const stream = unique("durable");
      {
        await using bus = new RedisBus({
          url: server.url,
          logger: new Logger({ sink: new MemorySink() }),
        });
        await bus.publish(stream, events(stream, 100));
        await server.kill(); // no graceful shutdown, no final fsync or snapshot
      }
      await server.restart();
      await using bus = new RedisBus({
        url: server.url,
        logger: new Logger({ sink: new MemorySink() }),
      });
      assert.equal((await bus.read(stream)).length, appendOnly ? 100 : 0);
    }
  },
);

redisTest("RedisBus operations on a disposed bus fail with SUBSCRIPTION_CLOSED", async (redis) => {
  const bus = openBus(redis);
  await bus.connect();
  await bus[Symbol.asyncDispose]();
  await assert.rejects(
    bus.publish("s", [event("e")]),
    (error) => error instanceof BusError && error.code === "SUBSCRIPTION_CLOSED",
  );
});

redisTest(
  "RedisBus loses no event when Redis is SIGKILLed and restarted with 10,000 events in flight",
  async (redis) => {
    const TOTAL = 10_000;
    const BATCH = 100;
    const errors: BusError[] = [];
    await using bus = openBus(redis, {
      commandTimeoutMs: 2_000,
      onError: (error) => errors.push(error),
    });
    const stream = unique("crash");
    const ids = Array.from({ length: TOTAL }, (_, i) => `${stream}-${i}`);
    // The effects of the handlers, counted per event id (what an inbox would deduplicate).
    const effects = new Map<string, number>();
    const options = { group: "g", ackWaitMs: 1_000, backoffMs: [50] };
    // The attempt of every delivery after an event's first: redeliveries, never new copies.
    const repeats: number[] = [];
    const handler = async ({ event, attempt }: Delivery) => {
      if (effects.has(event.id)) repeats.push(attempt);
      effects.set(event.id, (effects.get(event.id) ?? 0) + 1);
      if (effects.size % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    };
    await using _one = await bus.subscribe(stream, handler, options);
    await using _two = await bus.subscribe(stream, handler, options);

    // The publisher retries a batch until Redis acknowledges it, as the outbox relay does;
    // dedupe absorbs a batch that Redis stored but could not acknowledge before dying.
    let published = 0;
    let publishFailures = 0;
    let duplicateReceipts = 0;
    const publishing = (async () => {
      for (let start = 0; start < TOTAL; start += BATCH) {
        const batch = ids.slice(start, start + BATCH).map((id) => event(id));
        while (true) {
          try {
            const receipts = await bus.publish(stream, batch);
            duplicateReceipts += receipts.filter((receipt) => receipt.duplicate).length;
            break;
          } catch (error) {
            assert.ok(error instanceof BusError && error.code === "BUS_UNAVAILABLE", String(error));
            publishFailures += 1;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
        published = start + BATCH;
        await new Promise((resolve) => setTimeout(resolve, 2)); // a steady trickle
      }
    })();

    await waitFor(() => published >= TOTAL * 0.5 && effects.size >= TOTAL * 0.1, {
      what: "the publisher and the consumers to be under way",
    });
    const atKill = { published, handled: effects.size };
    await redis.kill();
    await waitFor(() => publishFailures > 0, { what: "the publisher to notice the outage" });
    await redis.restart();
    await publishing;
    await waitFor(() => effects.size === TOTAL, {
      what: "every event handled",
      timeoutMs: 120_000,
    });
    await using r = await rawClient(redis.url);
    await waitFor(
      async () => (await r.send<[number]>("XPENDING", `flotilla:stream:${stream}`, "g"))[0] === 0,
      { what: "every delivery acknowledged" },
    );

    const lost = ids.filter((id) => !effects.has(id));
    const redelivered = [...effects.values()].reduce((sum, count) => sum + count - 1, 0);
    assert.deepEqual(lost, []);
    assert.equal((await bus.read(stream)).length, TOTAL); // dedupe stored each event once
    assert.equal(repeats.length, redelivered);
    assert.ok(repeats.every((attempt) => attempt >= 2), "every repeat is a redelivery");
    assert.deepEqual(await bus.deadLetters(stream, "g"), []);
    // deno-lint-ignore no-console
    console.log(
      `restart test: ${TOTAL} events, killed at ${atKill.published} published / ${atKill.handled} handled; ` +
        `lost 0, redelivered ${redelivered} (effects beyond one per event), ` +
        `${publishFailures} failed publish calls retried, ${duplicateReceipts} receipts duplicate, ` +
        `${errors.length} errors reported while consuming`,
    );
  },
);

redisTest(
  "RedisBus hands entries read ahead back to the group when they wait behind a slow handler",
  async (redis) => {
    await using bus = openBus(redis, { prefetchWaitMs: 100 });
    const stream = unique("prefetch");
    const batch = events(stream, 10);
    await bus.publish(stream, batch);
    const slow: string[] = [];
    const idle: Array<[string, number]> = [];
    const done = Promise.withResolvers<void>();
    // Reads all ten at once, then sits on the first until the other consumer did the rest.
    await using _slow = await bus.subscribe(stream, async ({ event }) => {
      slow.push(event.id);
      await done.promise;
    }, { group: "g", ackWaitMs: 60_000 });
    await waitFor(() => slow.length === 1);
    await using _idle = await bus.subscribe(stream, ({ event, attempt }) => {
      idle.push([event.id, attempt]);
      if (idle.length === 9) done.resolve();
    }, { group: "g", ackWaitMs: 60_000 });
    await done.promise;
    assert.deepEqual(slow, [batch[0]!.id]);
    assert.deepEqual(idle.map(([id]) => id), batch.slice(1).map((e) => e.id));
    assert.deepEqual(idle.map(([, attempt]) => attempt), Array(9).fill(1));
  },
);

redisTest(
  "RedisBus does not hand a failure waiting out its backoff to another consumer after the ack wait",
  async (redis) => {
    const clock = new ManualClock(Date.now());
    await using bus = openBus(redis, { clock });
    await using r = await rawClient(redis.url);
    const stream = unique("backoff");
    const key = `flotilla:stream:${stream}`;
    const attempts: Array<[string, number]> = [];
    const options = { group: "g", ackWaitMs: 100, backoffMs: [60_000] };
    const handler = ({ attempt }: Delivery, who: string) => {
      attempts.push([who, attempt]);
      if (attempt === 1) throw new Error("not yet");
    };
    await using _a = await bus.subscribe(stream, (d) => handler(d, "a"), options);
    await bus.publish(stream, [event(`${stream}-1`)]);
    await waitFor(() => attempts.length === 1);
    await using _b = await bus.subscribe(stream, (d) => handler(d, "b"), options);
    // Long past the ack wait (Redis's idle time of the pending entry), and both consumers
    // have run their claim several times since: still nobody took it.
    const claimsBefore = await evalshaCalls(r.send);
    await waitFor(async () => {
      const [entry] = await r.send<Array<[string, string, number, number]>>(
        "XPENDING",
        key,
        "g",
        "-",
        "+",
        "1",
      );
      return entry !== undefined && entry[2] >= 500 &&
        await evalshaCalls(r.send) >= claimsBefore + 10;
    });
    assert.equal(attempts.length, 1);
    // The bus's clock says the backoff ran out: the next claim takes it.
    clock.advance(60_000);
    await waitFor(() => attempts.length === 2);
    assert.equal(attempts[1]![1], 2);
  },
);

async function evalshaCalls(send: <T>(...args: string[]) => Promise<T>): Promise<number> {
  const info = await send<string>("INFO", "commandstats");
  return Number(info.match(/cmdstat_evalsha:calls=(\d+)/)?.[1] ?? 0);
}

redisTest(
  "RedisBus fails fast while Redis is down and works again once it is back",
  async (redis) => {
    const errors: BusError[] = [];
    await using bus = openBus(redis, { commandTimeoutMs: 300, onError: (e) => errors.push(e) });
    const stream = unique("down");
    await bus.publish(stream, [event(`${stream}-1`)]);
    await redis.kill();
    await assert.rejects(
      bus.publish(stream, [event(`${stream}-2`)]),
      (error) => error instanceof BusError && error.code === "BUS_UNAVAILABLE" && error.retryable,
    );
    await assert.rejects(
      bus.read(stream),
      (error) => error instanceof BusError && error.code === "BUS_UNAVAILABLE",
    );
    await redis.restart();
    await waitFor(async () => (await bus.publish(stream, [event(`${stream}-2`)]))[0], {
      what: "publish to succeed again",
    });
    assert.deepEqual((await bus.read(stream)).map((r) => r.event.id), [
      `${stream}-1`,
      `${stream}-2`,
    ]);
    assert.ok(errors.some((error) => error.code === "BUS_UNAVAILABLE"));
  },
);

redisTest("RedisBus.publish() trims streams to about maxLen", async (redis) => {
  await using bus = openBus(redis, { maxLen: 100 });
  await using r = await rawClient(redis.url);
  const stream = unique("trim");
  for (let i = 0; i < 10; i++) await bus.publish(stream, events(`${stream}-${i}`, 100));
  const length = await r.send<number>("XLEN", `flotilla:stream:${stream}`);
  assert.ok(length >= 100 && length < 1_000, `XLEN ${length}`);
});

redisTest("RedisBus.deadLetters() honours limit, oldest first", async (redis) => {
  await using bus = openBus(redis);
  const stream = unique("letters");
  await using _sub = await bus.subscribe(stream, ({ event }) => {
    throw new PoisonMessageError(`no ${event.id}`);
  }, { group: "g" });
  await bus.publish(stream, events(stream, 3));
  await waitFor(async () => (await bus.deadLetters(stream, "g")).length === 3);
  const [first] = await bus.deadLetters(stream, "g", { limit: 1 });
  assert.equal(first!.reason, `no ${stream}-0`);
  assert.deepEqual(await bus.deadLetters(stream, "other"), []);
});

redisTest("RedisBus subscription recreates its group when Redis lost it", async (redis) => {
  const errors: BusError[] = [];
  await using bus = openBus(redis, { onError: (error) => errors.push(error) });
  await using r = await rawClient(redis.url);
  const stream = unique("lost");
  const seen: string[] = [];
  await using _sub = await bus.subscribe(stream, ({ event }) => {
    seen.push(event.id);
  }, { group: "g" });
  await bus.publish(stream, [event(`${stream}-1`)]);
  await waitFor(() => seen.length === 1);
  await r.send("DEL", `flotilla:stream:${stream}`); // as a Redis restarted without its data would
  await waitFor(() => errors.some((error) => /missing, recreating/.test(error.message)));
  await bus.publish(stream, [event(`${stream}-2`)]);
  await waitFor(() => seen.length === 2);
  assert.deepEqual(seen, [`${stream}-1`, `${stream}-2`]);
});
