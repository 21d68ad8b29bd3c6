import assert from "node:assert/strict";
import fc from "fast-check";
import { FlotillaError, ManualClock } from "@flotilla/core";
import { MemoryInventoryStore } from "../infra/memory_inventory_store.ts";
import { SqliteInventoryStore } from "../infra/sqlite_inventory_store.ts";
import type { InventoryStore } from "./ports.ts";
import { StockHolds } from "./stock_holds.ts";

const SKUS = ["A", "B", "C"] as const;
const TX_IDS = ["0", "1", "2", "3", "4", "5"];
const TIMEOUT_MS = 1_000;

const txId = fc.constantFrom(...TX_IDS);
const line = fc.record({ sku: fc.constantFrom(...SKUS), quantity: fc.integer({ min: 1, max: 6 }) });
const operation = fc.oneof(
  fc.record({
    type: fc.constant("try" as const),
    txId,
    items: fc.uniqueArray(line, { selector: (l) => l.sku, minLength: 1, maxLength: 3 }),
    // 1 = once, 2-3 = replays of the same call
    times: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ type: fc.constant("confirm" as const), txId, times: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ type: fc.constant("cancel" as const), txId, times: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ type: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 700 }) }),
  fc.constant({ type: "expire" as const }),
);
const initialStock = fc.tuple(fc.nat(10), fc.nat(10), fc.nat(10));

const REFUSALS = new Set([
  "OUT_OF_STOCK",
  "TCC_TRY_AFTER_CANCEL",
  "TCC_CONFIRM_AFTER_CANCEL",
  "TCC_CANCEL_AFTER_CONFIRM",
  "TCC_CONFIRM_WITHOUT_TRY",
]);

function check(
  open: (products: { sku: string; name: string; price: number; stock: number }[]) => InventoryStore,
) {
  fc.assert(fc.property(initialStock, fc.array(operation, { maxLength: 40 }), (levels, ops) => {
    const initial = new Map<string, number>(SKUS.map((sku, i) => [sku, levels[i]!]));
    const store = open(
      SKUS.map((sku) => ({ sku, name: sku, price: 100, stock: initial.get(sku)! })),
    );
    try {
      const clock = new ManualClock(0);
      const holds = new StockHolds({ store, clock, timeoutMs: TIMEOUT_MS });
      const cancelled = new Set<string>();
      const confirmed = new Set<string>();
      for (const op of ops) {
        if (op.type === "tick") {
          clock.advance(op.ms);
          continue;
        }
        if (op.type === "expire") {
          for (const id of holds.expireStale()) cancelled.add(id);
          continue;
        }
        for (let i = 0; i < op.times; i++) {
          try {
            if (op.type === "try") holds.try(op);
            else if (op.type === "confirm") {
              holds.confirm(op.txId);
              confirmed.add(op.txId);
            } else {
              holds.cancel(op.txId);
              cancelled.add(op.txId);
            }
          } catch (error) {
            assert.ok(error instanceof FlotillaError && REFUSALS.has(error.code), String(error));
          }
        }
      }
      const all = store.transaction((tx) => TX_IDS.flatMap((id) => tx.getHold(id) ?? []));
      for (const hold of all) {
        // A cancelled (or expired) transaction never holds or sells; a confirmed one is sold.
        if (cancelled.has(hold.txId)) assert.equal(hold.status, "RELEASED");
        if (confirmed.has(hold.txId)) assert.equal(hold.status, "SOLD");
      }
      for (const sku of SKUS) {
        const count = (status: string) =>
          all.filter((h) => h.status === status).flatMap((h) => h.items)
            .filter((l) => l.sku === sku).reduce((sum, l) => sum + l.quantity, 0);
        const available = store.getProducts([sku])[0]!.stock;
        assert.ok(available >= 0, `${sku} oversold: ${available}`);
        assert.equal(available + count("HELD") + count("SOLD"), initial.get(sku), sku);
      }
    } finally {
      store.close();
    }
  }));
}

Deno.test("StockHolds conserve stock over random Try/Confirm/Cancel/replays/expiry (memory): available + held + sold = initial", () => {
  check((products) => new MemoryInventoryStore(products));
});

Deno.test("StockHolds conserve stock over random Try/Confirm/Cancel/replays/expiry (SQLite)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "inventory-tcc-" });
  let n = 0;
  try {
    check((products) => {
      const store = SqliteInventoryStore.open(`${dir}/inventory-${n++}.db`);
      store.seed(products);
      return store;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
