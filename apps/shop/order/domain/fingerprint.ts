/**
 * The fingerprint of an order request, to tell a retry from a different
 * request sent with the same idempotency key.
 *
 * @module
 */

import type { OrderLineRequest } from "./order.ts";

/**
 * Canonical JSON of a request's customer and lines: fixed key order, lines
 * sorted by sku, so the same request always gives the same string.
 *
 * @example
 * ```ts
 * requestFingerprint("alice", [{ sku: "B", quantity: 1 }, { sku: "A", quantity: 2 }]);
 * // '{"customerId":"alice","items":[{"sku":"A","quantity":2},{"sku":"B","quantity":1}]}'
 * ```
 */
export function requestFingerprint(
  customerId: string,
  items: readonly OrderLineRequest[],
): string {
  const lines = items
    .map(({ sku, quantity }) => ({ sku, quantity }))
    .sort((a, b) => a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : a.quantity - b.quantity);
  return JSON.stringify({ customerId, items: lines });
}
