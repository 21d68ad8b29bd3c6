import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock } from "@flotilla/core";
import { AggregateRepository } from "./aggregate_repository.ts";
import { defineAggregate } from "./aggregate.ts";
import { WrongExpectedVersionError } from "./errors.ts";
import type { EventStore, Snapshot } from "./event_store.ts";
import { MemoryEventStore } from "./memory_event_store.ts";
import { type Account, account, AccountError, type AccountEvent } from "./_test_account.ts";

function repository(
  store: EventStore = new MemoryEventStore(),
  options: { snapshotEvery?: number; maxRetries?: number; onSnapshotError?: (e: unknown) => void } =
    {},
) {
  return new AggregateRepository({
    store,
    aggregate: account,
    streamOf: (id) => `account-${id}`,
    ...options,
  });
}

Deno.test("AggregateRepository.load() of an aggregate without events is the initial state at -1", async () => {
  const accounts = repository();
  assert.deepEqual(await accounts.load("nobody"), { state: account.initial, version: -1 });
});

Deno.test("AggregateRepository.execute() decides, appends with the expected version, and folds", async () => {
  await using store = new MemoryEventStore();
  const accounts = repository(store);
  const opened = await accounts.execute("a-1", { type: "open", owner: "ada" });
  assert.equal(opened.version, 0);
  assert.equal(opened.retries, 0);
  assert.equal(opened.events.length, 1);
  const deposited = await accounts.execute("a-1", { type: "deposit", amount: 10 }, {
    metadata: { correlationId: "c-1" },
  });
  assert.deepEqual(deposited.state, { open: true, balance: 10, history: [10] });
  assert.equal(deposited.version, 1);
  const stored = await store.readStream("account-a-1");
  assert.deepEqual(stored.map((e) => [e.type, e.data]), [
    ["Opened", { owner: "ada" }],
    ["Deposited", { amount: 10 }],
  ]);
  assert.deepEqual(stored[1]!.metadata, { correlationId: "c-1" });
  assert.equal(stored[1]!.id, deposited.events[0]!.id);
  assert.equal(deposited.position, stored[1]!.position);
  assert.deepEqual(await accounts.load("a-1"), { state: deposited.state, version: 1 });
});

Deno.test("AggregateRepository.execute() takes a function of the state as the command", async () => {
  const accounts = repository();
  await accounts.execute("a-1", { type: "open", owner: "ada" });
  const result = await accounts.execute(
    "a-1",
    (state): AccountEvent[] =>
      state.balance === 0 ? [{ type: "Deposited", data: { amount: 1 } }] : [],
  );
  assert.equal(result.state.balance, 1);
  const none = await accounts.execute(
    "a-1",
    (state) => state.balance === 0 ? [{ type: "Deposited", data: { amount: 1 } }] : [],
  );
  assert.deepEqual(none.events, []);
  assert.equal(none.version, 1);
  assert.equal(none.position, undefined);
});

Deno.test("AggregateRepository.execute() appends nothing when the decision throws", async () => {
  await using store = new MemoryEventStore();
  const accounts = repository(store);
  await assert.rejects(accounts.execute("a-1", { type: "deposit", amount: 1 }), AccountError);
  await accounts.execute("a-1", { type: "open", owner: "ada" });
  await assert.rejects(accounts.execute("a-1", { type: "withdraw", amount: 1 }), /insufficient/);
  assert.equal(await store.streamVersion("account-a-1"), 0);
});

/** A store whose appends first let `rival` append, as another writer racing this one would. */
function racedStore(store: EventStore, rival: () => Promise<unknown>, races: number): EventStore {
  let left = races;
  return new Proxy(store, {
    get(target, key) {
      if (key === "append") {
        return async (...args: Parameters<EventStore["append"]>) => {
          if (left-- > 0) await rival();
          return target.append(...args);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("AggregateRepository.execute() decides again on the new state after losing a race", async () => {
  await using store = new MemoryEventStore();
  const plain = repository(store);
  await plain.execute("a-1", { type: "open", owner: "ada" });
  await plain.execute("a-1", { type: "deposit", amount: 10 });
  // Two rivals withdraw 4 each before our first two tries: on the third, 2 are left.
  const raced = repository(
    racedStore(store, () => plain.execute("a-1", { type: "withdraw", amount: 4 }), 2),
  );
  const seen: number[] = [];
  const result = await raced.execute("a-1", (state) => {
    seen.push(state.balance);
    return [{ type: "Withdrawn", data: { amount: state.balance } }];
  });
  assert.deepEqual(seen, [10, 6, 2]);
  assert.equal(result.retries, 2);
  assert.deepEqual(result.state.balance, 0);
  // Opened, Deposited, two rivals' Withdrawn, ours.
  assert.equal(result.version, 4);
  assert.deepEqual((await plain.load("a-1")).state.history, [10, -4, -4, -2]);
});

Deno.test("AggregateRepository.execute() throws WrongExpectedVersionError when retrying is off or exhausted", async () => {
  await using store = new MemoryEventStore();
  const plain = repository(store);
  await plain.execute("a-1", { type: "open", owner: "ada" });
  const rival = () => plain.execute("a-1", { type: "deposit", amount: 1 });
  const once = repository(racedStore(store, rival, 1));
  await assert.rejects(
    once.execute("a-1", { type: "deposit", amount: 5 }, { retryOnConflict: false }),
    (error) => error instanceof WrongExpectedVersionError && error.actual === 1,
  );
  const always = repository(racedStore(store, rival, Infinity), { maxRetries: 2 });
  let decisions = 0;
  await assert.rejects(
    always.execute("a-1", () => {
      decisions++;
      return [{ type: "Deposited", data: { amount: 5 } }];
    }),
    WrongExpectedVersionError,
  );
  assert.equal(decisions, 3);
  assert.deepEqual((await plain.load("a-1")).state.history, [1, 1, 1, 1]);
});

Deno.test("AggregateRepository.execute() of a command decided again with the same ids is a no-op", async () => {
  await using store = new MemoryEventStore();
  const accounts = repository(store);
  await accounts.execute("a-1", { type: "open", owner: "ada" });
  const first = await accounts.execute("a-1", { type: "deposit", amount: 5, id: "payment-77" });
  // The client timed out and sends the command again.
  const again = await accounts.execute(
    "a-1",
    (state) =>
      state.history.length === 1
        ? [{ type: "Deposited", data: { amount: 5 }, id: "payment-77" }]
        : [],
  );
  assert.deepEqual(again.events, []);
  const repeated = await accounts.execute("a-1", (): AccountEvent[] => [
    { type: "Deposited", data: { amount: 5 }, id: "payment-77" },
  ]);
  assert.deepEqual(repeated.state, first.state);
  assert.equal(repeated.version, first.version);
  assert.equal(await store.streamVersion("account-a-1"), 1);
});

/** Counts the store's reads and snapshot saves. */
function spied(store: EventStore) {
  const reads: (number | undefined)[] = [];
  const saved: Snapshot[] = [];
  const proxy = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key === "readStream") {
        return (stream: string, options?: { fromVersion?: number }) => {
          reads.push(options?.fromVersion);
          return target.readStream(stream, options);
        };
      }
      if (key === "saveSnapshot") {
        return (stream: string, snapshot: Snapshot) => {
          saved.push(snapshot);
          return target.saveSnapshot(stream, snapshot);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: proxy, reads, saved };
}

Deno.test("AggregateRepository takes a snapshot every N events and loads from it", async () => {
  await using memory = new MemoryEventStore();
  const spy = spied(memory);
  const accounts = repository(spy.store, { snapshotEvery: 3 });
  await accounts.execute("a-1", { type: "open", owner: "ada" }); // version 0
  await accounts.execute("a-1", { type: "deposit", amount: 1 }); // 1
  assert.equal(spy.saved.length, 0);
  await accounts.execute("a-1", { type: "deposit", amount: 2 }); // 2: 3 events
  assert.deepEqual(spy.saved.map((s) => s.version), [2]);
  await accounts.execute("a-1", { type: "deposit", amount: 3 }); // 3
  await accounts.execute("a-1", (): AccountEvent[] => [
    { type: "Deposited", data: { amount: 4 } },
    { type: "Deposited", data: { amount: 5 } },
    { type: "Deposited", data: { amount: 6 } },
  ]); // 4..6: crosses 6 events
  assert.deepEqual(spy.saved.map((s) => s.version), [2, 6]);
  spy.reads.length = 0;
  const loaded = await accounts.load("a-1");
  assert.deepEqual(spy.reads, [7]);
  assert.deepEqual(loaded, {
    state: { open: true, balance: 21, history: [1, 2, 3, 4, 5, 6] },
    version: 6,
  });
  // Without snapshots configured, the same stream folds from zero to the same state.
  assert.deepEqual(await repository(memory).load("a-1"), loaded);
});

Deno.test("AggregateRepository ignores snapshots of another revision", async () => {
  await using store = new MemoryEventStore();
  const v1 = repository(store, { snapshotEvery: 1 });
  await v1.execute("a-1", { type: "open", owner: "ada" });
  await v1.execute("a-1", { type: "deposit", amount: 7 });
  // Revision 2 stores the balance in cents; the revision-1 snapshot must not be decoded.
  const cents = defineAggregate<{ cents: number }, AccountEvent>({
    initial: { cents: 0 },
    evolve: (state, event) =>
      event.type === "Deposited" ? { cents: state.cents + event.data.amount * 100 } : state,
    snapshot: {
      revision: 2,
      encode: (state) => [state.cents],
      decode: (json) => ({ cents: (json as number[])[0]! }),
    },
  });
  const v2 = new AggregateRepository({
    store,
    aggregate: cents,
    streamOf: (id) => `account-${id}`,
    snapshotEvery: 1,
  });
  assert.deepEqual(await v2.load("a-1"), { state: { cents: 700 }, version: 1 });
  await v2.execute("a-1", () => [{ type: "Deposited", data: { amount: 1 } }]);
  assert.deepEqual((await store.loadSnapshot("account-a-1"))?.state, { revision: 2, state: [800] });
  assert.deepEqual(await v2.load("a-1"), { state: { cents: 800 }, version: 2 });
});

Deno.test("AggregateRepository.execute() succeeds when the snapshot cannot be saved", async () => {
  await using memory = new MemoryEventStore();
  const failing = new Proxy(memory, {
    get(target, key) {
      if (key === "saveSnapshot") return () => Promise.reject(new Error("disk full"));
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const errors: unknown[] = [];
  const accounts = repository(failing, {
    snapshotEvery: 1,
    onSnapshotError: (e) => errors.push(e),
  });
  const result = await accounts.execute("a-1", { type: "open", owner: "ada" });
  assert.equal(result.version, 0);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /disk full/);
});

Deno.test("AggregateRepository refuses invalid options and streams", async () => {
  const store = new MemoryEventStore();
  const base = { store, aggregate: account, streamOf: (id: string) => `a-${id}` };
  assert.throws(() => new AggregateRepository({ ...base, snapshotEvery: 0 }), /'snapshotEvery'/);
  assert.throws(() => new AggregateRepository({ ...base, maxRetries: -1 }), /'maxRetries'/);
  assert.throws(
    () => new AggregateRepository({ ...base, streamOf: undefined as never }),
    /'streamOf'/,
  );
  const empty = new AggregateRepository({ ...base, streamOf: () => "" });
  await assert.rejects(empty.load("x"), RangeError);
  const noDecide = new AggregateRepository({
    store,
    aggregate: defineAggregate<number, AccountEvent, string>({ initial: 0, evolve: (s) => s }),
    streamOf: (id) => id,
  });
  await assert.rejects(noDecide.execute("x", "a value"), /'command' must be a function/);
});

Deno.test("AggregateRepository: load() with snapshots equals the fold of the whole stream (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 7 }),
      fc.array(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), {
        maxLength: 30,
      }),
      async (every, commands) => {
        await using store = new MemoryEventStore({ clock: new ManualClock(0) });
        const snapshotting = repository(store, { snapshotEvery: every });
        await snapshotting.execute("a", { type: "open", owner: "ada" });
        for (const amounts of commands) {
          await snapshotting.execute(
            "a",
            (): AccountEvent[] =>
              amounts.map((amount) => ({ type: "Deposited", data: { amount } })),
          );
        }
        const expected: Account = account.fold(
          (await store.readStream("account-a")) as unknown as AccountEvent[],
        );
        const loaded = await snapshotting.load("a");
        assert.deepEqual(loaded.state, expected);
        assert.equal(loaded.version, await store.streamVersion("account-a"));
        const snapshot = await store.loadSnapshot<{ state: Account }>("account-a");
        if (snapshot !== undefined) {
          const prefix = await store.readStream("account-a", { limit: snapshot.version + 1 });
          assert.deepEqual(snapshot.state.state, account.fold(prefix as unknown as AccountEvent[]));
        }
      },
    ),
    { numRuns: 100 },
  );
});
