/**
 * The event store's errors.
 *
 * @module
 */

import { FlotillaError } from "@flotilla/core";
import type { ExpectedVersion } from "./event_store.ts";

/** Another writer appended to the stream first; reload and decide again. */
export class WrongExpectedVersionError extends FlotillaError {
  /** The stream. */
  readonly stream: string;
  /** What the append expected. */
  readonly expected: ExpectedVersion;
  /** The stream's actual version (−1 when it has no event). */
  readonly actual: number;

  /** Creates the error. */
  constructor(stream: string, expected: ExpectedVersion, actual: number) {
    super(
      "WRONG_EXPECTED_VERSION",
      `Cannot append to "${stream}": expected version ${String(expected)}, but it is at ${actual}`,
      { kind: "ABORTED", retryable: true, data: { stream, expected, actual } },
    );
    this.name = "WrongExpectedVersionError";
    this.stream = stream;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Codes of {@link EventStoreError}. */
export type EventStoreErrorCode =
  | "IDEMPOTENCY_CONFLICT"
  | "EVENTSTORE_UNAVAILABLE"
  | "INVALID_EVENT"
  | "INVALID_EVENTSTORE_URL"
  | "EVENTSTORE_CLOSED"
  | "PROJECTION_SUPERSEDED";

/**
 * An event store operation failed. `EVENTSTORE_UNAVAILABLE` is retryable.
 * `PROJECTION_SUPERSEDED`: a running projector found its read model taken
 * over by another version of its projection (the one started last wins).
 */
export class EventStoreError extends FlotillaError {
  /** The stable code. */
  declare readonly code: EventStoreErrorCode;

  /** Creates an event store error. */
  constructor(
    code: EventStoreErrorCode,
    message: string,
    options: { cause?: unknown; data?: Record<string, unknown> } = {},
  ) {
    super(code, message, {
      kind: code === "EVENTSTORE_UNAVAILABLE"
        ? "UNAVAILABLE"
        : code === "IDEMPOTENCY_CONFLICT"
        ? "ALREADY_EXISTS"
        : code === "EVENTSTORE_CLOSED" || code === "PROJECTION_SUPERSEDED"
        ? "FAILED_PRECONDITION"
        : "INVALID_ARGUMENT",
      cause: options.cause,
      ...(options.data === undefined ? {} : { data: options.data }),
    });
    this.name = "EventStoreError";
  }
}
