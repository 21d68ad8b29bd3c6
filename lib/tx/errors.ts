/**
 * The errors of `@flotilla/tx`: {@link TxError} for what the library
 * refuses or detects, {@link RejectedError} for a business failure that a
 * saga step or a TCC Try reports, and the {@link ErrorInfo} stored with a
 * saga or a transaction.
 *
 * @module
 */

import { FlotillaError } from "@flotilla/core";

/** Codes of {@link TxError}. */
export type TxErrorCode =
  /** No saga or TCC transaction with that id. */
  | "TX_NOT_FOUND"
  /** The id is stored with another saga definition or kind. */
  | "TX_ID_CONFLICT"
  /** Another orchestrator took the saga over (its lease expired): stop driving it. */
  | "TX_LEASE_LOST"
  /** Another live orchestrator holds the saga's lease. */
  | "TX_LEASE_HELD"
  /** A stored saga names a definition (or a TCC transaction a participant) this process lacks. */
  | "TX_UNKNOWN_DEFINITION"
  /** A step, compensation, Try, Confirm or Cancel ran past its timeout. */
  | "TX_STEP_TIMEOUT"
  /** The saga's (or TCC transaction's) deadline passed. */
  | "TX_DEADLINE_EXCEEDED"
  /** A TCC Try arrived after the transaction was cancelled (suspension): refused, nothing changed. */
  | "TCC_TRY_AFTER_CANCEL"
  /** A TCC Confirm arrived for a transaction this participant cancelled (or expired). */
  | "TCC_CONFIRM_AFTER_CANCEL"
  /** A TCC Cancel arrived for a transaction this participant confirmed. */
  | "TCC_CANCEL_AFTER_CONFIRM"
  /** A TCC Confirm arrived for a transaction this participant never tried. */
  | "TCC_CONFIRM_WITHOUT_TRY"
  /** The saga store failed (connection, I/O); retry. */
  | "TX_STORE_UNAVAILABLE";

const KIND_BY_CODE = {
  TX_NOT_FOUND: "NOT_FOUND",
  TX_ID_CONFLICT: "ALREADY_EXISTS",
  TX_LEASE_LOST: "ABORTED",
  TX_LEASE_HELD: "ABORTED",
  TX_UNKNOWN_DEFINITION: "FAILED_PRECONDITION",
  TX_STEP_TIMEOUT: "DEADLINE_EXCEEDED",
  TX_DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED",
  TCC_TRY_AFTER_CANCEL: "FAILED_PRECONDITION",
  TCC_CONFIRM_AFTER_CANCEL: "FAILED_PRECONDITION",
  TCC_CANCEL_AFTER_CONFIRM: "FAILED_PRECONDITION",
  TCC_CONFIRM_WITHOUT_TRY: "FAILED_PRECONDITION",
  TX_STORE_UNAVAILABLE: "UNAVAILABLE",
} as const satisfies Record<TxErrorCode, string>;

/**
 * An error of the saga orchestrator, the TCC coordinator or a TCC
 * participant, with a stable {@link TxErrorCode}. `TX_LEASE_LOST`,
 * `TX_LEASE_HELD`, `TX_STEP_TIMEOUT` and `TX_STORE_UNAVAILABLE` are
 * retryable; the `TCC_*` refusals are not.
 *
 * @example
 * ```ts
 * import { TxError } from "@flotilla/tx";
 *
 * try {
 *   participant.try("tx-1", { sku: "TEA-01", quantity: 1 });
 * } catch (error) {
 *   if (error instanceof TxError && error.code === "TCC_TRY_AFTER_CANCEL") {
 *     // a late Try after the coordinator cancelled: nothing was reserved
 *   }
 * }
 * ```
 */
export class TxError extends FlotillaError {
  /** The stable code. */
  declare readonly code: TxErrorCode;

  /** Creates an error with `code` and a message for humans. */
  constructor(
    code: TxErrorCode,
    message: string,
    options: { cause?: unknown; data?: Record<string, unknown> } = {},
  ) {
    super(code, message, {
      kind: KIND_BY_CODE[code],
      cause: options.cause,
      ...(options.data === undefined ? {} : { data: options.data }),
    });
    this.name = "TxError";
  }
}

/**
 * A business failure — out of stock, payment declined — thrown by a saga
 * step's action or a TCC Try: not retried; the saga compensates and the TCC
 * coordinator cancels. (Any {@link FlotillaError} that is not retryable
 * counts as one too; see {@link classifyError}.)
 *
 * @example
 * ```ts
 * import { RejectedError } from "@flotilla/tx";
 *
 * throw new RejectedError("OUT_OF_STOCK", "Not enough TEA-01", { data: { sku: "TEA-01" } });
 * ```
 */
export class RejectedError extends FlotillaError {
  /** Creates a business failure with a stable `code`. */
  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; data?: Record<string, unknown> } = {},
  ) {
    super(code, message, {
      kind: "FAILED_PRECONDITION",
      retryable: false,
      cause: options.cause,
      ...(options.data === undefined ? {} : { data: options.data }),
    });
    this.name = "RejectedError";
  }
}

/** An error as stored with a saga, a step or a TCC transaction (JSON). */
export interface ErrorInfo {
  /** Its code (`FlotillaError.code`), or `name` for other errors. */
  readonly code: string;
  /** Its message. */
  readonly message: string;
  /** Whether it was classified as a business failure (`true`) or a transient one. */
  readonly business?: boolean;
}

/** How the orchestrator and the coordinator treat an error of user code. */
export type ErrorClass = "business" | "transient";

/** Decides whether an error of a step or participant is a business failure or transient. */
export type ErrorClassifier = (error: unknown) => ErrorClass;

/**
 * The default {@link ErrorClassifier}: a {@link FlotillaError} that is not
 * retryable (a {@link RejectedError}, `OUT_OF_STOCK`, `INVALID_ARGUMENT`,
 * a `TCC_TRY_AFTER_CANCEL` refusal…) is a business failure; everything else
 * (unavailable, deadline, unknown exceptions) is transient and retried.
 *
 * @example
 * ```ts
 * import { classifyError, RejectedError } from "@flotilla/tx";
 *
 * classifyError(new RejectedError("DECLINED", "card declined")); // "business"
 * classifyError(new TypeError("fetch failed")); // "transient"
 * ```
 */
export function classifyError(error: unknown): ErrorClass {
  if (error instanceof FlotillaError) return error.retryable ? "transient" : "business";
  return "transient";
}

/** The {@link ErrorInfo} of any thrown value. */
export function errorInfo(error: unknown, business?: boolean): ErrorInfo {
  const base = error instanceof FlotillaError
    ? { code: error.code, message: error.message }
    : error instanceof Error
    ? { code: error.name, message: error.message }
    : { code: "UNKNOWN", message: String(error) };
  return business === undefined ? base : { ...base, business };
}
