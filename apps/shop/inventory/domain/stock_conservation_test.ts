import assert from "node:assert/strict";
import fc from "fast-check";
import { decideRelease } from "./release.ts";
import { decideReserve } from "./reserve.ts";
import type { Reservation, StockLevel } from "./reservation.ts";

const SKUS = ["A", "B", "C"] as const;

const line = fc.record({ sku: fc.constantFrom(...SKUS), quantity: fc.integer({ min: 1, max: 6 }) });
const operation = fc.oneof(
  fc.record({
    type: fc.constant("reserve" as const),
    orderId: fc.integer({ min: 0, max: 7 }).map(String),
    items: fc.uniqueArray(line, { selector: (l) => l.sku, minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant("release" as const),
    orderId: fc.integer({ min: 0, max: 7 }).map(String),
  }),
);
const initialStock = fc.tuple(fc.nat(10), fc.nat(10), fc.nat(10));

Deno.test("decideReserve() and decideRelease() conserve stock (stock + reserved = initial) and move each figure one version up", () => {
  fc.assert(fc.property(initialStock, fc.array(operation, { maxLength: 40 }), (levels, ops) => {
    const initial = new Map<string, number>(SKUS.map((sku, i) => [sku, levels[i]!]));
    const stock = new Map<string, StockLevel>(
      SKUS.map((sku, i) => [sku, { stock: levels[i]!, version: 0 }]),
    );
    const reservations = new Map<string, Reservation>();
    for (const op of ops) {
      const existing = reservations.get(op.orderId);
      if (op.type === "reserve") {
        const decision = decideReserve(op, existing, stock);
        if (decision.type === "reserve") {
          for (const [sku, level] of decision.stock) {
            assert.equal(level.version, stock.get(sku)!.version + 1, `version of ${sku}`);
            stock.set(sku, level);
          }
          reservations.set(op.orderId, decision.reservation);
        }
      } else {
        const decision = decideRelease(op.orderId, existing, stock);
        if (decision.type === "release") {
          for (const [sku, level] of decision.stock) {
            assert.equal(level.version, stock.get(sku)!.version + 1, `version of ${sku}`);
            stock.set(sku, level);
          }
        }
        reservations.set(op.orderId, decision.reservation);
      }
      for (const sku of SKUS) {
        const held = [...reservations.values()]
          .filter((r) => r.status === "RESERVED")
          .flatMap((r) => r.items)
          .filter((l) => l.sku === sku)
          .reduce((sum, l) => sum + l.quantity, 0);
        const level = stock.get(sku)!.stock;
        assert.ok(level >= 0, `stock of ${sku} went negative`);
        assert.equal(level + held, initial.get(sku));
      }
    }
  }));
});

Deno.test("decideReserve() never reserves again once an order was released", () => {
  fc.assert(fc.property(fc.array(operation, { maxLength: 30 }), (ops) => {
    const stock = new Map(SKUS.map((sku) => [sku, { stock: 1_000, version: 0 }]));
    const reservations = new Map<string, Reservation>();
    const released = new Set<string>();
    for (const op of ops) {
      const existing = reservations.get(op.orderId);
      if (op.type === "reserve") {
        const decision = decideReserve(op, existing, stock);
        if (released.has(op.orderId)) assert.equal(decision.type, "released");
        if (decision.type === "reserve") reservations.set(op.orderId, decision.reservation);
      } else {
        reservations.set(op.orderId, decideRelease(op.orderId, existing, stock).reservation);
        released.add(op.orderId);
      }
    }
  }));
});
