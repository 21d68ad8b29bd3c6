import assert from "node:assert/strict";
import { join } from "node:path";
import { ManualClock } from "@flotilla/core";
import { openDatabase } from "@flotilla/sqlite";
import { waitFor } from "@flotilla/testing";
import { DiscoveryError } from "./errors.ts";
import { LocalRegistry } from "./local_registry.ts";
import {
  ids,
  nextMatching,
  pollInstances,
  registration,
  testRegistryConformance,
} from "./_shared_conformance.ts";
import { startInstance, testKillAndRestart } from "./_shared_processes.ts";

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flotilla-registry-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Reads the rows of the registry's table directly. */
function rows(dir: string): Array<Record<string, unknown>> {
  const db = openDatabase(join(dir, "registry.db"));
  try {
    return db.prepare("SELECT id, expires_at, token FROM instances ORDER BY id").all();
  } finally {
    db.close();
  }
}

Deno.test("LocalRegistry conforms to the Registry port", async (t) => {
  await testRegistryConformance(t, async () => {
    const dir = await tempDir();
    const clock = new ManualClock(1_700_000_000_000);
    const open = () => new LocalRegistry({ dir: dir.path, clock, pollIntervalMs: 5 });
    const registry = open();
    return {
      registry,
      ttlMs: 3_000,
      advance: (ms: number) => clock.advance(ms),
      async registerThenCrash(r) {
        // Another "process": registers, then goes away without deregistering.
        const peer = open();
        await peer.register(r);
        await peer[Symbol.asyncDispose]();
      },
      openPeer: () => Promise.resolve(open()),
      async [Symbol.asyncDispose]() {
        await registry[Symbol.asyncDispose]();
        await dir[Symbol.asyncDispose]();
      },
    };
  });
});

Deno.test("LocalRegistry keeps one WAL-mode file, registry.db, in a folder it creates", async () => {
  await using dir = await tempDir();
  const nested = join(dir.path, "a", "b");
  await using registry = new LocalRegistry({ dir: nested });
  assert.equal(registry.path, join(nested, "registry.db"));
  const db = openDatabase(registry.path);
  try {
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
  } finally {
    db.close();
  }
});

Deno.test("LocalRegistry heartbeats renew expires_at every ttl/3 on the clock", async () => {
  await using dir = await tempDir();
  const clock = new ManualClock(0);
  await using registry = new LocalRegistry({ dir: dir.path, clock });
  await using handle = await registry.register(registration("payment", { ttlMs: 300 }));
  assert.equal(rows(dir.path)[0]?.expires_at, 300);
  clock.advance(200);
  // The heartbeat runs on a real timer (every 100 ms) and writes clock.now() + ttl.
  await waitFor(() => rows(dir.path)[0]?.expires_at === 500, { what: "a heartbeat" });
  clock.advance(200); // 400: past the first expiry, within the renewed one
  assert.deepEqual(ids(await registry.instances("payment")), [handle.instance.id]);
});

Deno.test("LocalRegistry: a heartbeat puts back a row that was collected", async () => {
  await using dir = await tempDir();
  await using registry = new LocalRegistry({ dir: dir.path });
  await using handle = await registry.register(registration("payment", { ttlMs: 150 }));
  const db = openDatabase(registry.path);
  try {
    db.prepare("DELETE FROM instances").run();
  } finally {
    db.close();
  }
  await pollInstances(registry, "payment", (l) => l.length === 1, "the row to come back");
  assert.deepEqual(ids(await registry.instances("payment")), [handle.instance.id]);
});

Deno.test("LocalRegistry: a newer registration of the same instance wins over the old handle", async () => {
  await using dir = await tempDir();
  await using a = new LocalRegistry({ dir: dir.path });
  await using b = new LocalRegistry({ dir: dir.path });
  const r = registration("payment");
  const old = await a.register(r);
  await using _new = await b.register({ ...r, port: 9_999 });
  await old.deregister();
  assert.deepEqual((await a.instances("payment")).map((i) => i.port), [9_999]);
});

Deno.test("LocalRegistry garbage-collects rows expired for a minute", async () => {
  await using dir = await tempDir();
  const clock = new ManualClock(0);
  const crashed = new LocalRegistry({ dir: dir.path, clock });
  await crashed.register(registration("payment", { ttlMs: 1_000 }));
  await crashed[Symbol.asyncDispose]();
  await using registry = new LocalRegistry({ dir: dir.path, clock });
  clock.advance(30_000);
  assert.deepEqual(await registry.instances("payment"), []);
  assert.equal(rows(dir.path).length, 1, "expired, but not for long: kept");
  clock.advance(40_000);
  assert.deepEqual(await registry.instances("payment"), []);
  assert.equal(rows(dir.path).length, 0);
});

Deno.test("LocalRegistry.watch() sees what another LocalRegistry on the same file does", async () => {
  await using dir = await tempDir();
  await using watcher = new LocalRegistry({ dir: dir.path, pollIntervalMs: 10 });
  await using writer = new LocalRegistry({ dir: dir.path });
  const iterator = watcher.watch("payment")[Symbol.asyncIterator]();
  await nextMatching(iterator, (l) => l.length === 0, "the empty list");
  const handle = await writer.register(registration("payment"));
  await nextMatching(iterator, (l) => ids(l).join() === handle.instance.id, "the registration");
  await handle.deregister();
  await nextMatching(iterator, (l) => l.length === 0, "the deregistration");
  await iterator.return?.();
});

Deno.test("LocalRegistry rejects bad options and an unusable folder", async () => {
  assert.throws(
    () => new LocalRegistry({ dir: "" }),
    /Cannot open the local registry as 'dir' must be a non-empty path: current value is ""/,
  );
  assert.throws(
    () => new LocalRegistry({ dir: "/tmp", pollIntervalMs: 0 }),
    /'pollIntervalMs' must be a positive number: current value is 0/,
  );
  await using dir = await tempDir();
  const file = join(dir.path, "file");
  await Deno.writeTextFile(file, "");
  assert.throws(
    () => new LocalRegistry({ dir: file }),
    (error) => error instanceof DiscoveryError && error.code === "REGISTRY_UNAVAILABLE",
  );
});

Deno.test("LocalRegistry: an instance whose process is SIGKILLed disappears after its TTL", async () => {
  await using dir = await tempDir();
  await using registry = new LocalRegistry({ dir: dir.path });
  const target = { registryUrl: "local", localDir: dir.path, ttlMs: 1_000 };
  await using instance = await startInstance(target, "payment", "payment-1");
  assert.deepEqual(
    (await registry.instances("payment")).map((i) => [i.id, i.port]),
    [["payment-1", instance.port]],
  );
  await instance.kill();
  await pollInstances(registry, "payment", (l) => l.length === 0, "the killed instance to expire");
});

Deno.test("LocalRegistry: three instances, one SIGKILLed disappears and comes back when restarted", async () => {
  await using dir = await tempDir();
  await using registry = new LocalRegistry({ dir: dir.path, pollIntervalMs: 50 });
  await testKillAndRestart(registry, { registryUrl: "local", localDir: dir.path, ttlMs: 1_000 });
});
