/**
 * The errors of `@flotilla/chaos` itself (injected faults are ordinary
 * {@link FlotillaError}s with the codes the rules name).
 *
 * @module
 */

import { FlotillaError } from "@flotilla/core";

/** The stable codes of {@link ChaosError}. */
export type ChaosErrorCode = "CHAOS_COMMAND_FAILED" | "CHAOS_UNSUPPORTED";

/**
 * A chaos harness could not do what it was asked: a command (`ip …`) failed
 * (`CHAOS_COMMAND_FAILED`, with the command and its stderr in `data`), or
 * the machine cannot run it (`CHAOS_UNSUPPORTED`: not root, no `ip`).
 *
 * @example
 * ```ts
 * import { ChaosError } from "@flotilla/chaos";
 *
 * new ChaosError("CHAOS_UNSUPPORTED", "network namespaces need root").kind; // "FAILED_PRECONDITION"
 * ```
 */
export class ChaosError extends FlotillaError {
  /** The stable code of this error. */
  declare readonly code: ChaosErrorCode;

  /** Creates a chaos harness error. */
  constructor(
    code: ChaosErrorCode,
    message: string,
    options: { data?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, message, {
      kind: code === "CHAOS_UNSUPPORTED" ? "FAILED_PRECONDITION" : "INTERNAL",
      ...(options.data === undefined ? {} : { data: options.data }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = "ChaosError";
  }
}
