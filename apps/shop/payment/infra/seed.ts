/**
 * The customers a fresh shop starts with.
 *
 * @module
 */

import type { Customer } from "../../contracts/mod.ts";

/** Customers written on the payment service's first start; balances in cents. */
export const SEED_CUSTOMERS: readonly Customer[] = [
  { id: "alice", name: "Alice Archer", balance: 50_000 },
  { id: "bob", name: "Bob Baker", balance: 20_000 },
  { id: "carol", name: "Carol Cooper", balance: 1_000 },
];
