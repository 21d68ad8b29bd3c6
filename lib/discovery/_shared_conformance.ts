/**
 * The behaviour every writable {@link Registry} adapter shares, as one test
 * suite run against each (memory, local, etcd). Test support; private to the
 * package.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Registration, Registry, ServiceInstance } from "./registry.ts";

/** A registry under test, on a backend of its own. */
export interface RegistryFixture extends AsyncDisposable {
  /** The registry under test. */
  readonly registry: Registry;
  /**
   * Registers `registration` as another process would (through a second
   * registry object on the same backend, where the adapter has one), then
   * stops its renewals without deregistering, as a SIGKILL would.
   */
  registerThenCrash(registration: Registration): Promise<void>;
  /** A second registry object on the same backend, standing for another process. */
  openPeer(): Promise<Registry>;
  /**
   * Moves the clock TTLs are measured on; `undefined` when they run on real
   * time, in which case the suite polls until an instance has expired.
   */
  readonly advance: ((ms: number) => void) | undefined;
  /** The TTL the suite registers instances with, in milliseconds. */
  readonly ttlMs: number;
}

/** Opens a fresh fixture; each step of the suite gets its own. */
export type OpenFixture = () => Promise<RegistryFixture>;

/** How long a step waits for a condition before failing: a guard against hangs, not a timing assertion. */
const GIVE_UP_MS = 30_000;

let counter = 0;

/** A registration of `service` with a unique id. */
export function registration(
  service: string,
  overrides: Partial<Registration> = {},
): Registration {
  counter += 1;
  return {
    service,
    id: `${service}-${counter}`,
    address: "127.0.0.1",
    port: 7000 + counter,
    metadata: { protocol: "http", zone: "a" },
    ...overrides,
  };
}

/** The ids of `instances`, in order. */
export function ids(instances: readonly ServiceInstance[]): string[] {
  return instances.map((instance) => instance.id);
}

/**
 * Reads `iterator` until a list satisfies `predicate` and returns it; fails
 * when the iteration ends or nothing matches within {@link GIVE_UP_MS}.
 */
export async function nextMatching(
  iterator: AsyncIterator<ServiceInstance[]>,
  predicate: (instances: ServiceInstance[]) => boolean,
  what: string,
): Promise<ServiceInstance[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const giveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Gave up waiting for ${what} after ${GIVE_UP_MS} ms`)),
      GIVE_UP_MS,
    );
  });
  try {
    while (true) {
      const next = await Promise.race([iterator.next(), giveUp]);
      if (next.done) throw new Error(`The watch ended while waiting for ${what}`);
      if (predicate(next.value)) return next.value;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `registry.instances(service)` until `predicate` holds; returns that list. */
export async function pollInstances(
  registry: Registry,
  service: string,
  predicate: (instances: ServiceInstance[]) => boolean,
  what: string,
): Promise<ServiceInstance[]> {
  const giveUpAt = Date.now() + GIVE_UP_MS;
  while (true) {
    const instances = await registry.instances(service);
    if (predicate(instances)) return instances;
    if (Date.now() > giveUpAt) {
      throw new Error(
        `Gave up waiting for ${what} after ${GIVE_UP_MS} ms: last saw ${
          JSON.stringify(ids(instances))
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Runs the conformance suite as steps of test `t`, each step on a fresh
 * fixture from `open`.
 */
export async function testRegistryConformance(
  t: Deno.TestContext,
  open: OpenFixture,
): Promise<void> {
  const step = (name: string, fn: (fixture: RegistryFixture) => Promise<void>) =>
    t.step(name, async () => {
      await using fixture = await open();
      await fn(fixture);
    });

  await step("register() lists the instance with all its fields", async ({ registry }) => {
    const payment = registration("payment", { metadata: { protocol: "grpc", zone: "b" } });
    await using handle = await registry.register(payment);
    assert.deepEqual(handle.instance, {
      service: "payment",
      id: payment.id,
      address: "127.0.0.1",
      port: payment.port,
      metadata: { protocol: "grpc", zone: "b" },
    });
    assert.deepEqual(await registry.instances("payment"), [handle.instance]);
    assert.deepEqual(await registry.instances("inventory"), []);
  });

  await step("instances() lists several instances sorted by id", async ({ registry }) => {
    await using _c = await registry.register(registration("payment", { id: "payment-c" }));
    await using _a = await registry.register(registration("payment", { id: "payment-a" }));
    await using _b = await registry.register(registration("payment", { id: "payment-b" }));
    await using _other = await registry.register(registration("inventory"));
    assert.deepEqual(ids(await registry.instances("payment")), [
      "payment-a",
      "payment-b",
      "payment-c",
    ]);
  });

  await step("deregister() removes the instance and is idempotent", async ({ registry }) => {
    const first = await registry.register(registration("payment"));
    const second = await registry.register(registration("payment"));
    await first.deregister();
    await first.deregister();
    assert.deepEqual(ids(await registry.instances("payment")), [second.instance.id]);
    await second[Symbol.asyncDispose]();
    assert.deepEqual(await registry.instances("payment"), []);
    await second.deregister();
  });

  await step("registering the same id again replaces the instance", async ({ registry }) => {
    const old = registration("payment");
    await using _old = await registry.register(old);
    await using _new = await registry.register({ ...old, port: old.port + 1000 });
    const instances = await registry.instances("payment");
    assert.deepEqual(instances.map((i) => [i.id, i.port]), [[old.id, old.port + 1000]]);
  });

  await step("another process on the same backend sees the registrations", async (fixture) => {
    await using peer = await fixture.openPeer();
    await using handle = await peer.register(registration("payment"));
    assert.deepEqual(ids(await fixture.registry.instances("payment")), [handle.instance.id]);
    await handle.deregister();
    assert.deepEqual(await fixture.registry.instances("payment"), []);
  });

  await step("an instance whose renewals stop disappears once its TTL passes", async (fixture) => {
    const { registry, ttlMs } = fixture;
    await using live = await registry.register(registration("payment", { ttlMs: 60_000 }));
    const dead = registration("payment", { ttlMs });
    await fixture.registerThenCrash(dead);
    if (fixture.advance !== undefined) {
      fixture.advance(ttlMs - 1);
      assert.deepEqual(
        ids(await registry.instances("payment")).sort(),
        [live.instance.id, dead.id].sort(),
      );
      fixture.advance(2);
      assert.deepEqual(ids(await registry.instances("payment")), [live.instance.id]);
    } else {
      await pollInstances(
        registry,
        "payment",
        (list) => ids(list).join() === live.instance.id,
        "the crashed instance to expire",
      );
    }
  });

  await step("watch() yields the list now, then on each change", async (fixture) => {
    const { registry, ttlMs } = fixture;
    const controller = new AbortController();
    const iterator = registry.watch("payment", { signal: controller.signal })[
      Symbol.asyncIterator
    ]();
    try {
      assert.deepEqual(await nextMatching(iterator, () => true, "the first list"), []);
      const a = await registry.register(registration("payment"));
      await nextMatching(iterator, (l) => ids(l).join() === a.instance.id, "a registered");
      const dead = registration("payment", { ttlMs });
      await fixture.registerThenCrash(dead);
      await nextMatching(iterator, (l) => ids(l).includes(dead.id), "the crashed one listed");
      fixture.advance?.(ttlMs + 1);
      await nextMatching(
        iterator,
        (l) => ids(l).join() === a.instance.id,
        "the crashed one expired",
      );
      await a.deregister();
      await nextMatching(iterator, (l) => l.length === 0, "a deregistered");
    } finally {
      controller.abort();
      await iterator.return?.();
    }
  });

  await step("watch() ends when its signal aborts", async ({ registry }) => {
    const controller = new AbortController();
    const seen: ServiceInstance[][] = [];
    const done = (async () => {
      for await (const list of registry.watch("payment", { signal: controller.signal })) {
        seen.push(list);
        controller.abort();
      }
    })();
    await done;
    assert.deepEqual(seen, [[]]);
  });

  await step("watch() ends when the registry is disposed", async ({ registry }) => {
    const iterator = registry.watch("payment")[Symbol.asyncIterator]();
    await nextMatching(iterator, () => true, "the first list");
    const next = iterator.next();
    await registry[Symbol.asyncDispose]();
    assert.equal((await next).done, true);
  });

  await step(
    "register() rejects an invalid registration with a RangeError",
    async ({ registry }) => {
      await assert.rejects(
        () => registry.register(registration("payment", { port: 0 })),
        RangeError,
      );
      await assert.rejects(() => registry.register(registration("")), RangeError);
      await assert.rejects(
        () => registry.register(registration("payment", { ttlMs: -1 })),
        RangeError,
      );
    },
  );

  await step(
    "operations reject at once when the signal is already aborted",
    async ({ registry }) => {
      const signal = AbortSignal.abort();
      await assert.rejects(() => registry.instances("payment", { signal }));
      await assert.rejects(() => registry.register(registration("payment"), { signal }));
      assert.deepEqual(await registry.instances("payment"), []);
    },
  );
}
