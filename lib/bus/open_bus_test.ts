import assert from "node:assert/strict";
import { join } from "node:path";
import { startNats } from "@flotilla/testing";
import { startRedis } from "@flotilla/testing";
import { createEvent } from "./create_event.ts";
import { BusError } from "./errors.ts";
import { MemoryBus } from "./memory_bus.ts";
import { type BusUrl, openBus, parseBusUrl } from "./open_bus.ts";
import { SqliteBus } from "./sqlite_bus.ts";

Deno.test("parseBusUrl() reads every FLOTILLA_BUS form", () => {
  const cases: Array<[string, BusUrl]> = [
    ["memory", { type: "memory" }],
    [" SQLite ", { type: "sqlite" }],
    ["sqlite:/data/bus.db", { type: "sqlite", path: "/data/bus.db" }],
    ["sqlite:///data/bus.db", { type: "sqlite", path: "/data/bus.db" }],
    ["sqlite:.flotilla/bus.db", { type: "sqlite", path: ".flotilla/bus.db" }],
    ["redis://127.0.0.1:6379", { type: "redis", url: "redis://127.0.0.1:6379" }],
    ["redis://cache:6380/2", { type: "redis", url: "redis://cache:6380/2" }],
    ["redis://:s3cret@cache", { type: "redis", url: "redis://:s3cret@cache" }],
    ["rediss://user:pw@[::1]:6379/0", { type: "redis", url: "rediss://user:pw@[::1]:6379/0" }],
    ["nats://127.0.0.1:4222", { type: "nats", servers: ["nats://127.0.0.1:4222"] }],
    ["nats://a,b:4223", { type: "nats", servers: ["nats://a:4222", "nats://b:4223"] }],
    [
      "nats://a:1, nats://b:2",
      { type: "nats", servers: ["nats://a:1", "nats://b:2"] },
    ],
    ["NATS://u:p@h", { type: "nats", servers: ["nats://u:p@h:4222"] }],
  ];
  for (const [value, expected] of cases) assert.deepEqual(parseBusUrl(value), expected, value);
});

Deno.test("parseBusUrl() throws INVALID_BUS_URL naming the value, never its password", () => {
  const cases: Array<[string, RegExp]> = [
    ["", /Cannot use the bus URL "": expected 'memory', 'sqlite'/],
    ["kafka://broker:9092", /Cannot use the bus URL "kafka:\/\/broker:9092": expected/],
    ["sqlite:", /'sqlite:' must be followed by a path/],
    ["redis://", /it (is not a URL|must name a host)/],
    ["redis://h:6379/cache", /its path must be a database number/],
    ["redis://:s3cret@h:6379/x", /"redis:\/\/:\*\*\*@h:6379\/x"/],
    ["redis://h:6379?db=1", /must not have a query or a fragment/],
    ["nats://a:4222,", /every server must name a host/],
    ["nats://a:4222/x", /'a:4222\/x' must be a host\[:port\]/],
    ["nats://u:s3cret@a:99999", /"nats:\/\/u:\*\*\*@a:99999"/],
  ];
  for (const [value, expected] of cases) {
    const error = (() => {
      try {
        parseBusUrl(value);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof BusError, value);
    assert.equal(error.code, "INVALID_BUS_URL");
    assert.equal(error.retryable, false);
    assert.match(error.message, expected);
    assert.doesNotMatch(error.message, /s3cret/);
  }
  assert.throws(() => parseBusUrl(undefined as unknown as string), BusError);
});

Deno.test("openBus() opens the memory and sqlite buses", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-open-bus-" });
  try {
    {
      await using memory = await openBus("memory");
      assert.ok(memory instanceof MemoryBus);
    }
    {
      await using sqlite = await openBus("sqlite", { sqlitePath: join(dir, "a.db") });
      assert.ok(sqlite instanceof SqliteBus);
      assert.equal(sqlite.path, join(dir, "a.db"));
      await sqlite.publish("s", [createEvent("t", 1, { source: "/s" })]);
    }
    {
      // The URL's path wins over the option.
      await using sqlite = await openBus(`sqlite:${join(dir, "b.db")}`, {
        sqlitePath: join(dir, "a.db"),
      });
      assert.equal((sqlite as SqliteBus).path, join(dir, "b.db"));
    }
    await assert.rejects(
      () => openBus("sqlite"),
      /Cannot open the sqlite bus as 'sqlitePath' must be set \(or the URL name a file\): current value is undefined/,
    );
    await assert.rejects(() => openBus("mqtt://x"), BusError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "openBus() loads and connects the Redis and NATS buses on demand",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using redis = await startRedis();
    await using nats = await startNats();
    {
      await using bus = await openBus(redis.url);
      assert.equal(bus.kind, "redis");
      const [receipt] = await bus.publish("s", [createEvent("t", 1, { source: "/s" })]);
      assert.equal(receipt!.duplicate, false);
    }
    {
      await using bus = await openBus(nats.url);
      assert.equal(bus.kind, "nats");
      const [receipt] = await bus.publish("s", [createEvent("t", 1, { source: "/s" })]);
      assert.equal(receipt!.duplicate, false);
    }
  },
});
