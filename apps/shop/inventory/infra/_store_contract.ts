/**
 * Behaviour every {@link InventoryStore} must have, as a test suite that
 * each adapter's test runs against itself. Private to `infra/`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import type { Product } from "../../contracts/mod.ts";
import type { InventoryStore } from "../app/ports.ts";

/** Products the suite starts each store with. */
export const CONTRACT_PRODUCTS: readonly Product[] = [
  { sku: "MUG", name: "Mug", price: 1800, stock: 3 },
  { sku: "TEA", name: "Tea", price: 850, stock: 10 },
  { sku: "KETTLE", name: "Kettle", price: 4900, stock: 0 },
];

/** Registers the store contract's tests; `open` returns a fresh store holding {@link CONTRACT_PRODUCTS}. */
export function testInventoryStoreContract(
  name: string,
  open: () => Promise<InventoryStore & { close(): void }>,
): void {
  const test = (title: string, body: (store: InventoryStore) => void) =>
    Deno.test(`${name} ${title}`, async () => {
      const store = await open();
      try {
        body(store);
      } finally {
        store.close();
      }
    });

  test("listProducts() returns every product ordered by sku", (store) => {
    assert.deepEqual(store.listProducts().map((p) => p.sku), ["KETTLE", "MUG", "TEA"]);
    assert.deepEqual(store.listProducts()[1], CONTRACT_PRODUCTS[0]);
  });

  test("getProducts() keeps the order asked, drops repeats and unknown skus", (store) => {
    assert.deepEqual(
      store.getProducts(["TEA", "NOPE", "MUG", "TEA"]).map((p) => p.sku),
      ["TEA", "MUG"],
    );
    assert.deepEqual(store.getProducts(["NOPE"]), []);
  });

  test("transaction() keeps what the work wrote", (store) => {
    store.transaction((tx) => {
      assert.deepEqual([...tx.getStock(["TEA", "NOPE", "MUG"])], [
        ["TEA", { stock: 10, version: 0 }],
        ["MUG", { stock: 3, version: 0 }],
      ]);
      tx.setStock(new Map([["TEA", { stock: 7, version: 1 }], ["NOPE", { stock: 4, version: 1 }]]));
      tx.saveReservation({
        orderId: "o-1",
        status: "RESERVED",
        items: [{ sku: "TEA", quantity: 3 }],
      });
    });
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 7);
    assert.deepEqual(store.transaction((tx) => tx.getStock(["TEA"]).get("TEA")), {
      stock: 7,
      version: 1,
    });
    assert.deepEqual(store.getProducts(["NOPE"]), []);
    store.transaction((tx) => {
      assert.deepEqual(tx.getReservation("o-1"), {
        orderId: "o-1",
        status: "RESERVED",
        items: [{ sku: "TEA", quantity: 3 }],
      });
      assert.equal(tx.getReservation("o-2"), undefined);
      tx.saveReservation({
        orderId: "o-1",
        status: "RELEASED",
        items: [{ sku: "TEA", quantity: 3 }],
      });
    });
    assert.equal(store.transaction((tx) => tx.getReservation("o-1")?.status), "RELEASED");
  });

  test("transaction() keeps nothing when the work throws", (store) => {
    assert.throws(
      () =>
        store.transaction((tx) => {
          tx.setStock(new Map([["TEA", { stock: 1, version: 1 }]]));
          tx.saveReservation({ orderId: "o-1", status: "TOMBSTONE", items: [] });
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 10);
    assert.equal(store.transaction((tx) => tx.getStock(["TEA"]).get("TEA")?.version), 0);
    assert.equal(store.transaction((tx) => tx.getReservation("o-1")), undefined);
  });

  test("transaction() refuses a negative stock level", (store) => {
    assert.throws(() =>
      store.transaction((tx) => tx.setStock(new Map([["TEA", { stock: -1, version: 1 }]])))
    );
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 10);
  });

  test("transaction() refuses a stock figure at a version not above the stored one", (store) => {
    store.transaction((tx) => tx.setStock(new Map([["TEA", { stock: 9, version: 2 }]])));
    for (const version of [2, 1]) {
      assert.throws(
        () => store.transaction((tx) => tx.setStock(new Map([["TEA", { stock: 3, version }]]))),
        RangeError,
      );
    }
    assert.deepEqual(store.transaction((tx) => tx.getStock(["TEA"]).get("TEA")), {
      stock: 9,
      version: 2,
    });
  });

  test("transaction() keeps holds", (store) => {
    const hold = { txId: "t-1", status: "HELD" as const, items: [{ sku: "TEA", quantity: 2 }] };
    store.transaction((tx) => tx.saveHold(hold));
    assert.deepEqual(store.transaction((tx) => tx.getHold("t-1")), hold);
    store.transaction((tx) => tx.saveHold({ ...hold, status: "SOLD" }));
    assert.equal(store.transaction((tx) => tx.getHold("t-1"))?.status, "SOLD");
    assert.equal(store.transaction((tx) => tx.getHold("t-2")), undefined);
  });

  test("tccParticipant() runs each callback once behind the barrier, in its transaction", (store) => {
    const calls: string[] = [];
    const clock = new ManualClock(0);
    const barrier = store.tccParticipant<{ quantity: number }>({
      name: "contract",
      tryTimeoutMs: 1_000,
      clock,
      try: (tx, { txId, input }) => {
        calls.push(`try ${txId}`);
        tx.saveHold({ txId, status: "HELD", items: [{ sku: "TEA", quantity: input.quantity }] });
        const tea = tx.getStock(["TEA"]).get("TEA")!;
        if (input.quantity > tea.stock) throw new Error("refused");
        tx.setStock(
          new Map([["TEA", { stock: tea.stock - input.quantity, version: tea.version + 1 }]]),
        );
      },
      confirm: (_tx, { txId }) => void calls.push(`confirm ${txId}`),
      cancel: (tx, { txId, input }) => {
        calls.push(`cancel ${txId}`);
        const tea = tx.getStock(["TEA"]).get("TEA")!;
        tx.setStock(
          new Map([["TEA", { stock: tea.stock + input.quantity, version: tea.version + 1 }]]),
        );
      },
    });
    assert.equal(barrier.try("t-1", { quantity: 4 }), "TRIED");
    assert.equal(barrier.try("t-1", { quantity: 4 }), "REPLAYED");
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 6);
    assert.equal(barrier.confirm("t-1"), "CONFIRMED");
    assert.equal(barrier.confirm("t-1"), "REPLAYED");
    // A refused Try keeps nothing, the barrier row included: it may be tried again.
    assert.throws(() => barrier.try("t-2", { quantity: 7 }), /refused/);
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 6);
    assert.equal(store.transaction((tx) => tx.getHold("t-2")), undefined);
    assert.equal(barrier.try("t-2", { quantity: 5 }), "TRIED");
    assert.equal(barrier.cancel("t-2"), "CANCELLED");
    assert.equal(barrier.cancel("t-3"), "EMPTY_ROLLBACK");
    assert.throws(() => barrier.try("t-3", { quantity: 1 }), /cancelled/);
    assert.equal(barrier.try("t-4", { quantity: 1 }), "TRIED");
    clock.advance(1_000);
    assert.deepEqual(barrier.expireStale(), ["t-4"]);
    assert.equal(store.getProducts(["TEA"])[0]?.stock, 6);
    assert.deepEqual(calls, [
      "try t-1",
      "confirm t-1",
      "try t-2",
      "try t-2",
      "cancel t-2",
      "try t-4",
      "cancel t-4",
    ]);
  });

  test("ping() is true while open", (store) => {
    assert.equal(store.ping(), true);
  });
}
