import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import { MemoryRegistry } from "./memory_registry.ts";
import { ids, nextMatching, registration, testRegistryConformance } from "./_shared_conformance.ts";

Deno.test("MemoryRegistry conforms to the Registry port", async (t) => {
  await testRegistryConformance(t, () => {
    const clock = new ManualClock(1_000_000);
    const registry = new MemoryRegistry({ clock, expiryCheckIntervalMs: 5 });
    return Promise.resolve({
      registry,
      ttlMs: 3_000,
      advance: (ms: number) => clock.advance(ms),
      async registerThenCrash(r) {
        await registry.register(r);
        assert.equal(registry.simulateCrash(r.service, r.id), true);
      },
      // One object is the whole backend: a "peer" is the same registry, not disposed with the peer.
      openPeer: () =>
        Promise.resolve({
          kind: registry.kind,
          register: registry.register.bind(registry),
          instances: registry.instances.bind(registry),
          watch: registry.watch.bind(registry),
          [Symbol.asyncDispose]: () => Promise.resolve(),
        }),
      [Symbol.asyncDispose]: () => registry[Symbol.asyncDispose](),
    });
  });
});

Deno.test("MemoryRegistry keeps a live registration listed however far the clock moves", async () => {
  const clock = new ManualClock(0);
  await using registry = new MemoryRegistry({ clock });
  await using handle = await registry.register(registration("payment", { ttlMs: 1_000 }));
  clock.advance(1_000_000);
  assert.deepEqual(ids(await registry.instances("payment")), [handle.instance.id]);
});

Deno.test("MemoryRegistry.simulateCrash() only applies to a live instance", async () => {
  await using registry = new MemoryRegistry({ clock: new ManualClock(0) });
  assert.equal(registry.simulateCrash("payment", "nope"), false);
  const r = registration("payment");
  await using _handle = await registry.register(r);
  assert.equal(registry.simulateCrash("payment", r.id), true);
  assert.equal(registry.simulateCrash("payment", r.id), false);
});

Deno.test("MemoryRegistry: the handle of a replaced registration no longer removes the instance", async () => {
  await using registry = new MemoryRegistry();
  const r = registration("payment");
  const old = await registry.register(r);
  await using _new = await registry.register({ ...r, port: 9_999 });
  await old.deregister();
  assert.deepEqual((await registry.instances("payment")).map((i) => i.port), [9_999]);
});

Deno.test("MemoryRegistry.watch() notices an expiry on the clock without any other change", async () => {
  const clock = new ManualClock(0);
  await using registry = new MemoryRegistry({ clock, expiryCheckIntervalMs: 1 });
  const r = registration("payment", { ttlMs: 500 });
  await registry.register(r);
  const iterator = registry.watch("payment")[Symbol.asyncIterator]();
  await nextMatching(iterator, (l) => l.length === 1, "the instance");
  registry.simulateCrash("payment", r.id);
  clock.advance(500);
  await nextMatching(iterator, (l) => l.length === 0, "the expiry");
  await iterator.return?.();
});

Deno.test("MemoryRegistry rejects use after dispose and a bad option", async () => {
  assert.throws(
    () => new MemoryRegistry({ expiryCheckIntervalMs: 0 }),
    /Cannot create the memory registry as 'expiryCheckIntervalMs' must be a positive number: current value is 0/,
  );
  const registry = new MemoryRegistry();
  await registry[Symbol.asyncDispose]();
  await assert.rejects(() => registry.instances("payment"), /disposed/);
  await assert.rejects(() => registry.register(registration("payment")), /disposed/);
});
