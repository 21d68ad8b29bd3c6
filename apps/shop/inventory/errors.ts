/**
 * The inventory service's errors: each a {@link FlotillaError} with a stable
 * code that callers (the order service) may test for.
 *
 * @module
 */

import { describeIssues, FlotillaError } from "@flotilla/core";

/** A line of a request that names a sku the catalogue does not have. */
export interface UnknownSkuLine {
  /** Index of the line in the request's `items`. */
  index: number;
  /** The unknown sku. */
  sku: string;
}

/**
 * `UNKNOWN_SKU` (422): the request names skus the catalogue does not have;
 * one issue per offending line, pointing at `/items/<i>/sku`, and a message
 * that names each field (`items[1].sku: unknown sku "X"`).
 *
 * @example
 * ```ts
 * throw unknownSku([{ index: 0, sku: "TEA-WHITE" }]);
 * ```
 */
export function unknownSku(lines: readonly UnknownSkuLine[]): FlotillaError {
  const issues = lines.map((line) => ({
    pointer: `/items/${line.index}/sku`,
    message: `unknown sku "${line.sku}"`,
  }));
  return new FlotillaError("UNKNOWN_SKU", describeIssues(issues), {
    kind: "FAILED_PRECONDITION",
    issues,
    data: { skus: lines.map((line) => line.sku) },
  });
}

/** `RESERVATION_MISMATCH` (422): the order already reserved different items. */
export function reservationMismatch(orderId: string): FlotillaError {
  return new FlotillaError(
    "RESERVATION_MISMATCH",
    `Order "${orderId}" already reserved different items`,
    { kind: "FAILED_PRECONDITION", data: { orderId } },
  );
}

/** `RESERVATION_RELEASED` (409): the order's reservation was released, so it may not reserve again. */
export function reservationReleased(orderId: string): FlotillaError {
  return new FlotillaError(
    "RESERVATION_RELEASED",
    `Order "${orderId}" was released and cannot reserve stock again`,
    { kind: "ABORTED", retryable: false, data: { orderId } },
  );
}

/**
 * `OUT_OF_STOCK` (422): a TCC Try asked for more of `sku` than is available;
 * nothing was held. Not retryable: the coordinator cancels the transaction.
 *
 * @example
 * ```ts
 * throw outOfStock("MUG-STONE");
 * ```
 */
export function outOfStock(sku: string): FlotillaError {
  return new FlotillaError("OUT_OF_STOCK", `Not enough "${sku}" in stock`, {
    kind: "FAILED_PRECONDITION",
    retryable: false,
    data: { sku },
  });
}
