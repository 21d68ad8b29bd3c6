/**
 * The bus's errors.
 *
 * @module
 */

import { FlotillaError } from "@flotilla/core";

/** Codes of {@link BusError}. */
export type BusErrorCode =
  | "BUS_UNAVAILABLE"
  | "INVALID_EVENT"
  | "INVALID_BUS_URL"
  | "SUBSCRIPTION_CLOSED";

/** A bus operation failed. `BUS_UNAVAILABLE` is retryable. */
export class BusError extends FlotillaError {
  /** The stable code. */
  declare readonly code: BusErrorCode;

  /** Creates a bus error. */
  constructor(
    code: BusErrorCode,
    message: string,
    options: { cause?: unknown; data?: Record<string, unknown> } = {},
  ) {
    super(code, message, {
      kind: code === "BUS_UNAVAILABLE"
        ? "UNAVAILABLE"
        : code === "SUBSCRIPTION_CLOSED"
        ? "FAILED_PRECONDITION"
        : "INVALID_ARGUMENT",
      cause: options.cause,
      ...(options.data === undefined ? {} : { data: options.data }),
    });
    this.name = "BusError";
  }
}

/**
 * Thrown by a handler (or by the bus itself) for an event that can never be
 * processed — a payload that breaks its schema, say. Adapters dead-letter it
 * at once with this error's message as the reason, without redelivering.
 */
export class PoisonMessageError extends FlotillaError {
  /** Creates the error; `reason` becomes the dead letter's reason. */
  constructor(reason: string, options: { cause?: unknown } = {}) {
    super("POISON_MESSAGE", reason, {
      kind: "INVALID_ARGUMENT",
      retryable: false,
      cause: options.cause,
    });
    this.name = "PoisonMessageError";
  }
}
