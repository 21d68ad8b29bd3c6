/**
 * The payment service's errors: each a {@link FlotillaError} with a stable
 * code that callers (the order service) may test for.
 *
 * @module
 */

import { describeIssues, FlotillaError, NotFoundError } from "@flotilla/core";

/**
 * `UNKNOWN_CUSTOMER` (422): a charge names a customer that does not exist;
 * the issue points at `/customerId`.
 */
export function unknownCustomer(customerId: string): FlotillaError {
  const issues = [{ pointer: "/customerId", message: `unknown customer "${customerId}"` }];
  return new FlotillaError("UNKNOWN_CUSTOMER", describeIssues(issues), {
    kind: "FAILED_PRECONDITION",
    issues,
    data: { customerId },
  });
}

/** `CUSTOMER_NOT_FOUND` (404): the customer asked for does not exist. */
export function customerNotFound(customerId: string): NotFoundError {
  return new NotFoundError("CUSTOMER_NOT_FOUND", `Customer "${customerId}" not found`, {
    customerId,
  });
}

/** `PAYMENT_MISMATCH` (422): the order was already charged to another customer or amount. */
export function paymentMismatch(orderId: string): FlotillaError {
  return new FlotillaError(
    "PAYMENT_MISMATCH",
    `Order "${orderId}" was already charged with a different customer or amount`,
    { kind: "FAILED_PRECONDITION", data: { orderId } },
  );
}

/** `PAYMENT_VOIDED` (409): the order was refunded or voided, so it may not be charged again. */
export function paymentVoided(orderId: string): FlotillaError {
  return new FlotillaError(
    "PAYMENT_VOIDED",
    `Order "${orderId}" was refunded or voided and cannot be charged`,
    { kind: "ABORTED", retryable: false, data: { orderId } },
  );
}

/**
 * `INSUFFICIENT_FUNDS` (422): a TCC Try asked to hold more than the
 * customer's balance; nothing was held. Not retryable: the coordinator
 * cancels the transaction.
 *
 * @example
 * ```ts
 * throw insufficientFunds("alice", 120_000);
 * ```
 */
export function insufficientFunds(customerId: string, amount: number): FlotillaError {
  return new FlotillaError(
    "INSUFFICIENT_FUNDS",
    `The balance of customer "${customerId}" cannot cover ${amount} cents`,
    { kind: "FAILED_PRECONDITION", retryable: false, data: { customerId, amount } },
  );
}
