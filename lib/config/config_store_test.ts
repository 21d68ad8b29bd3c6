import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { Logger, ManualClock, MemorySink } from "@flotilla/core";
import { type ConfigSnapshot, ConfigStore } from "./config_store.ts";
import { ConfigError } from "./errors.ts";
import { MemoryConfigSource } from "./memory_config_source.ts";
import { waitFor } from "@flotilla/testing";

const schema = z.object({
  service: z.object({ name: z.string(), port: z.number().int().min(1) }),
  pool: z.object({ size: z.number().int().min(1).max(64), idleMs: z.number().int() }),
  db: z.object({ url: z.string(), password: z.string().optional() }),
  tags: z.array(z.string()).default([]),
});

const defaults = {
  service: { name: "order", port: 7000 },
  pool: { size: 4, idleMs: 1_000 },
  db: { url: "sqlite:order.db" },
};

Deno.test("ConfigStore.open() merges defaults < file < env < dynamic source, deeply", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-config-" });
  try {
    const file = `${dir}/static.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ service: { port: 7100 }, pool: { size: 6 }, tags: ["file"] }),
    );
    const env = new Map([["POOL_SIZE", "8"], ["DB_URL", "postgres://app:pw@db/shop"]]);
    const clock = new ManualClock(1_700_000_000_000);
    await using config = await ConfigStore.open(schema, {
      defaults,
      file,
      env: { "pool.size": "POOL_SIZE", "db.url": "DB_URL", "pool.idleMs": "UNSET" },
      envReader: { get: (name) => env.get(name) },
      source: new MemoryConfigSource({ pool: { size: 10 } }, { name: "memory:test" }),
      clock,
    });
    const snapshot = config.current;
    assert.deepEqual(snapshot.values, {
      service: { name: "order", port: 7100 }, // default name, file port
      pool: { size: 10, idleMs: 1_000 }, // dynamic beats env beats file; default idleMs kept
      db: { url: "postgres://app:pw@db/shop" }, // env
      tags: ["file"],
    });
    assert.equal(snapshot.version, 1);
    assert.equal(snapshot.source, "memory:test");
    assert.equal(snapshot.loadedAt, 1_700_000_000_000);
    assert.ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.values.pool));
    assert.ok(Object.isFrozen(snapshot.values.tags));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ConfigStore.open() throws INVALID_CONFIG naming the field when the first merge is invalid", async () => {
  await assert.rejects(
    ConfigStore.open(schema, { defaults: { ...defaults, pool: { size: 0, idleMs: 1 } } }),
    (error: unknown) =>
      error instanceof ConfigError && error.code === "INVALID_CONFIG" &&
      error.issues.some((issue) => issue.pointer === "/pool/size"),
  );
  await assert.rejects(
    ConfigStore.open(schema, { defaults, file: "/nonexistent/flotilla.json" }),
    (error: unknown) => error instanceof ConfigError && error.code === "CONFIG_SOURCE_UNAVAILABLE",
  );
});

Deno.test("ConfigStore rejects an invalid update, reports it, and keeps the old snapshot", async () => {
  const source = new MemoryConfigSource({});
  const sink = new MemorySink();
  await using config = await ConfigStore.open(schema, {
    defaults,
    source,
    logger: new Logger({ sink }),
  });
  const before = config.current;
  const events: string[] = [];
  config.onEvent((event) => events.push(event.type));
  const seen: number[] = [];
  config.subscribe((c) => c.pool.size, (size) => seen.push(size));

  const outcome = await config.apply({ pool: { size: 1_000 } });
  assert.equal(outcome.type, "rejected");
  assert.equal(config.current, before);
  assert.equal(config.lastError?.error.code, "INVALID_CONFIG");
  assert.deepEqual(config.stats, { accepted: 0, rejected: 1, sourceErrors: 0 });
  assert.deepEqual(events, ["rejected"]);
  assert.deepEqual(seen, []);
  assert.ok(sink.records.some((r) => r.level === "warn" && r.code === "INVALID_CONFIG"));

  // Through the source too: an invalid layer, then a source failure, then a valid layer.
  source.set({ pool: { size: -1 } });
  source.fail(new ConfigError("CONFIG_SOURCE_UNAVAILABLE", "etcd went away"));
  source.set({ pool: { size: 12 } });
  await waitFor(() => config.current.version === 2, { what: "version 2", timeoutMs: 5_000 });
  assert.deepEqual(config.stats, { accepted: 1, rejected: 2, sourceErrors: 1 });
  assert.deepEqual(seen, [12]);
  assert.equal(config.current.source, "memory");
});

Deno.test("ConfigStore.subscribe() fires only when the selected slice changes", async () => {
  await using config = await ConfigStore.open(schema, { defaults });
  const pool: number[] = [];
  const db: string[] = [];
  const sub = config.subscribe((c) => c.pool, (slice) => pool.push(slice.size), {
    immediate: true,
  });
  config.subscribe((c) => c.db.url, (url) => db.push(url));
  await config.apply({ pool: { size: 5 } });
  await config.apply({ pool: { size: 5 }, db: { url: "x" } });
  const unchanged = await config.apply({ pool: { size: 5 }, db: { url: "x" } });
  assert.equal(unchanged.type, "unchanged");
  sub.unsubscribe();
  await config.apply({ pool: { size: 7 } });
  assert.deepEqual(pool, [4, 5]);
  assert.deepEqual(db, ["x", "sqlite:order.db"]);
  assert.equal(config.current.version, 4);
});

Deno.test("ConfigStore onReload hook can veto a version for everyone", async () => {
  await using config = await ConfigStore.open(schema, { defaults });
  const others: number[] = [];
  config.subscribe((c) => c.service.port, (port) => others.push(port));
  const hooked: number[] = [];
  config.subscribe((c) => c.pool.size, (size) => hooked.push(size), {
    onReload: (next, current) =>
      next >= current / 2 || `pool cannot shrink from ${current} to ${next}`,
  });
  const vetoed = await config.apply({ pool: { size: 1 }, service: { port: 9000 } });
  assert.equal(vetoed.type, "rejected");
  assert.equal(vetoed.type === "rejected" && vetoed.error.code, "CONFIG_VETOED");
  assert.match(config.lastError!.error.message, /cannot shrink from 4 to 1/);
  assert.equal(config.current.version, 1);
  assert.deepEqual(others, []); // nobody saw the vetoed version

  // A hook is asked only when its own slice changes.
  const accepted = await config.apply({ service: { port: 9000 } });
  assert.equal(accepted.type, "accepted");
  assert.deepEqual(others, [9000]);

  config.subscribe((c) => c.db, () => {}, {
    onReload: () => {
      throw new Error("db cannot move at runtime");
    },
  });
  const thrown = await config.apply({ service: { port: 9000 }, db: { url: "elsewhere" } });
  assert.equal(thrown.type === "rejected" && thrown.error.code, "CONFIG_VETOED");
  assert.equal(config.current.values.db.url, "sqlite:order.db");
});

Deno.test("ConfigStore keeps serving listeners when one throws", async () => {
  const sink = new MemorySink();
  await using config = await ConfigStore.open(schema, { defaults, logger: new Logger({ sink }) });
  const seen: number[] = [];
  config.subscribe((c) => c.pool.size, () => {
    throw new Error("boom");
  });
  config.subscribe((c) => c.pool.size, (size) => seen.push(size));
  await config.apply({ pool: { size: 9 } });
  assert.deepEqual(seen, [9]);
  assert.ok(sink.records.some((r) => r.msg === "config subscriber failed"));
});

Deno.test("ConfigStore: 100 rapid source updates — subscribers see only valid complete snapshots, in order, ending on the last", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          size: fc.integer({ min: -5, max: 80 }), // outside 1..64 is invalid
          port: fc.integer({ min: 1, max: 65_535 }),
        }),
        { minLength: 100, maxLength: 100 },
      ),
      async (updates) => {
        const source = new MemoryConfigSource({});
        await using config = await ConfigStore.open(schema, { defaults, source });
        const seen: Array<ConfigSnapshot<z.infer<typeof schema>>> = [];
        config.subscribe((c) => c, (_values, snapshot) => seen.push(snapshot));
        // idleMs is the update's index: it ties every field of a snapshot to one update.
        updates.forEach((u, index) =>
          source.set({ pool: { size: u.size, idleMs: index }, service: { port: u.port } })
        );
        await waitFor(
          () => config.stats.accepted + config.stats.rejected === updates.length,
          { what: "every update handled", timeoutMs: 10_000, intervalMs: 5 },
        );
        const valid = updates.map((u, index) => ({ ...u, index }))
          .filter((u) => u.size >= 1 && u.size <= 64);
        assert.equal(config.stats.rejected, updates.length - valid.length);
        assert.deepEqual(seen.map((s) => s.values.pool.idleMs), valid.map((u) => u.index));
        for (const snapshot of seen) {
          assert.ok(schema.safeParse(snapshot.values).success, "only valid snapshots");
          assert.ok(Object.isFrozen(snapshot.values) && Object.isFrozen(snapshot.values.pool));
          const update = updates[snapshot.values.pool.idleMs]!;
          assert.equal(snapshot.values.pool.size, update.size, "never half-applied");
          assert.equal(snapshot.values.service.port, update.port, "never half-applied");
        }
        assert.deepEqual(seen.map((s) => s.version), valid.map((_, i) => i + 2), "in order");
        if (valid.length > 0) assert.equal(seen.at(-1), config.current, "ends on the last");
        else assert.equal(config.current.version, 1);
      },
    ),
    { numRuns: 10 },
  );
});
