/**
 * The conformance suite every {@link SagaStore} adapter passes (memory,
 * SQLite, PostgreSQL). Private to the tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TxError } from "./errors.ts";
import type { SagaStore, TxRecord } from "./saga_store.ts";

/** Opens a fresh, empty store. */
export type OpenStore = () => Promise<SagaStore>;

/** A record of `kind` with sensible defaults. */
export function record(id: string, patch: Partial<TxRecord> = {}): TxRecord {
  return {
    id,
    kind: "saga",
    name: "checkout",
    status: "RUNNING",
    state: { input: { orderId: id }, steps: [] },
    error: null,
    deadlineAt: null,
    owner: "a",
    leaseUntil: 1_000,
    version: 0,
    createdAt: 100,
    updatedAt: 100,
    ...patch,
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error) => error instanceof TxError && error.code === code);
}

/** Registers the suite as steps of `t`, each on a store from `open`. */
export async function storeConformance(t: Deno.TestContext, open: OpenStore): Promise<void> {
  const step = (name: string, body: (store: SagaStore) => Promise<void>) =>
    t.step(name, async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });

  await step("insert() stores a record once and get() reads it back", async (store) => {
    const r = record("s-1", { error: { code: "X", message: "m" }, deadlineAt: 5_000 });
    assert.equal(await store.insert(r, [{ at: 100, type: "saga.started" }]), true);
    assert.deepEqual(await store.get("s-1"), r);
    assert.equal(await store.insert(record("s-1", { name: "other" })), false);
    assert.equal((await store.get("s-1"))?.name, "checkout");
    assert.deepEqual(await store.history("s-1"), [{ at: 100, type: "saga.started" }]);
    assert.equal(await store.get("nope"), undefined);
    assert.deepEqual(await store.history("nope"), []);
  });

  await step(
    "update() bumps the version, appends history in order, and fences stale writers",
    async (store) => {
      await store.insert(record("s-1"), [{ at: 100, type: "saga.started" }]);
      const first = await store.update(
        { ...record("s-1"), status: "COMPENSATING", state: { n: 1 }, updatedAt: 200 },
        [
          { at: 200, type: "step.started", step: "a", attempt: 1 },
          {
            at: 200,
            type: "step.rejected",
            step: "a",
            attempt: 1,
            error: { code: "NO", message: "no" },
          },
        ],
      );
      assert.equal(first.version, 1);
      assert.equal(first.status, "COMPENSATING");
      assert.deepEqual(first.state, { n: 1 });
      assert.deepEqual(await store.get("s-1"), first);
      await rejectsWith(store.update({ ...record("s-1"), state: { n: 2 } }), "TX_LEASE_LOST");
      assert.deepEqual((await store.get("s-1"))?.state, { n: 1 });
      await rejectsWith(store.update(record("missing")), "TX_NOT_FOUND");
      assert.deepEqual((await store.history("s-1")).map((h) => h.type), [
        "saga.started",
        "step.started",
        "step.rejected",
      ]);
      assert.deepEqual((await store.history("s-1"))[2]?.error, { code: "NO", message: "no" });
    },
  );

  await step("claim() takes a free, own or expired lease and refuses a live one", async (store) => {
    await store.insert(record("s-1", { owner: "a", leaseUntil: 1_000 }));
    assert.equal(await store.claim("s-1", "b", 999, 500), undefined);
    const own = await store.claim("s-1", "a", 999, 500);
    assert.equal(own?.owner, "a");
    assert.equal(own?.leaseUntil, 1_499);
    assert.equal(own?.version, 1);
    const taken = await store.claim("s-1", "b", 1_499, 500);
    assert.equal(taken?.owner, "b");
    assert.equal(taken?.version, 2);
    // a's view (version 1) is fenced off
    await rejectsWith(store.update({ ...own!, status: "COMPLETED" }), "TX_LEASE_LOST");
    await store.update({ ...taken!, status: "COMPLETED", owner: null, leaseUntil: 0 });
    assert.equal(await store.claim("s-1", "c", 10_000, 500), undefined, "terminal");
    assert.equal(await store.claim("missing", "c", 0, 500), undefined);
    await store.insert(record("s-2", { owner: null, leaseUntil: 0 }));
    assert.equal((await store.claim("s-2", "c", 0, 500))?.owner, "c");
  });

  await step(
    "claimable() lists active records of a kind whose lease is free, own or expired, oldest first",
    async (store) => {
      await store.insert(record("late", { createdAt: 300, owner: null, leaseUntil: 0 }));
      await store.insert(record("early", { createdAt: 100, owner: "x", leaseUntil: 50 }));
      await store.insert(record("held", { createdAt: 150, owner: "x", leaseUntil: 5_000 }));
      await store.insert(record("mine", { createdAt: 160, owner: "me", leaseUntil: 5_000 }));
      await store.insert(record("done", { createdAt: 50, status: "COMPLETED", owner: null }));
      await store.insert(
        record("parked", { createdAt: 60, status: "NEEDS_ATTENTION", owner: null }),
      );
      await store.insert(
        record("tcc", { kind: "tcc", status: "TRYING", createdAt: 10, owner: null }),
      );
      assert.deepEqual(await store.claimable("saga", "me", 1_000, 10), ["early", "mine", "late"]);
      assert.deepEqual(await store.claimable("saga", "me", 1_000, 2), ["early", "mine"]);
      assert.deepEqual(await store.claimable("saga", "me", 6_000, 10), [
        "early",
        "held",
        "mine",
        "late",
      ]);
      assert.deepEqual(await store.claimable("tcc", "me", 0, 10), ["tcc"]);
    },
  );

  await step(
    "list() filters by kind, status and name, oldest first, with limit and offset",
    async (store) => {
      for (let i = 0; i < 5; i++) {
        await store.insert(
          record(`s-${i}`, { createdAt: 100 + i, status: i % 2 ? "NEEDS_ATTENTION" : "RUNNING" }),
        );
      }
      await store.insert(
        record("t-1", { kind: "tcc", name: "tcc", status: "CONFIRMED", createdAt: 1 }),
      );
      assert.deepEqual((await store.list()).map((r) => r.id), [
        "t-1",
        "s-0",
        "s-1",
        "s-2",
        "s-3",
        "s-4",
      ]);
      assert.deepEqual(
        (await store.list({ kind: "saga", status: "NEEDS_ATTENTION" })).map((r) => r.id),
        ["s-1", "s-3"],
      );
      assert.deepEqual((await store.list({ name: "tcc" })).map((r) => r.id), ["t-1"]);
      assert.deepEqual((await store.list({ kind: "saga", limit: 2, offset: 1 })).map((r) => r.id), [
        "s-1",
        "s-2",
      ]);
    },
  );

  await step("concurrent claims of one expired lease: exactly one wins", async (store) => {
    await store.insert(record("s-1", { owner: "dead", leaseUntil: 10 }));
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.claim("s-1", `o-${i}`, 100, 1_000)),
    );
    assert.equal(claims.filter((c) => c !== undefined).length, 1);
  });

  await step("concurrent updates from one version: exactly one wins", async (store) => {
    await store.insert(record("s-1"));
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => store.update({ ...record("s-1"), state: { i } })),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    assert.equal((await store.get("s-1"))?.version, 1);
  });
}
