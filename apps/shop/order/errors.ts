/**
 * The order service's errors, each a {@link FlotillaError} with a stable code.
 *
 * @module
 */

import { describeIssues, FlotillaError, NotFoundError } from "@flotilla/core";

/**
 * `UNKNOWN_CUSTOMER` (422): the order names a customer the payment service
 * does not know; the issue points at `/customerId`.
 */
export function unknownCustomer(customerId: string): FlotillaError {
  const issues = [{ pointer: "/customerId", message: `unknown customer "${customerId}"` }];
  return new FlotillaError("UNKNOWN_CUSTOMER", describeIssues(issues), {
    kind: "FAILED_PRECONDITION",
    issues,
    data: { customerId },
  });
}

/**
 * `UNKNOWN_SKU` (422): lines name skus the catalogue does not have; one issue
 * per line, pointing at `/items/<i>/sku`.
 */
export function unknownSku(
  lines: readonly { readonly index: number; readonly sku: string }[],
): FlotillaError {
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

/** `IDEMPOTENCY_KEY_REUSED` (422): the key was used before for a different request. */
export function idempotencyKeyReused(key: string, orderId: string): FlotillaError {
  return new FlotillaError(
    "IDEMPOTENCY_KEY_REUSED",
    "This Idempotency-Key was already used for a different order request",
    { kind: "FAILED_PRECONDITION", data: { idempotencyKey: key, orderId } },
  );
}

/** `ORDER_NOT_FOUND` (404). */
export function orderNotFound(orderId: string): NotFoundError {
  return new NotFoundError("ORDER_NOT_FOUND", `Order "${orderId}" not found`, { orderId });
}

/** `CHECKOUT_NOT_FOUND` (404): no checkout saga for that order. */
export function checkoutNotFound(orderId: string): NotFoundError {
  return new NotFoundError("CHECKOUT_NOT_FOUND", `No checkout of order "${orderId}"`, { orderId });
}

/** `INVALID_ORDER_TRANSITION` (422): the order is not in a state that allows the move. */
export function invalidTransition(orderId: string, from: string, to: string): FlotillaError {
  return new FlotillaError(
    "INVALID_ORDER_TRANSITION",
    `Order "${orderId}" cannot move from ${from} to ${to}`,
    { kind: "FAILED_PRECONDITION", data: { orderId, from, to } },
  );
}
