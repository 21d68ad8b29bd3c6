/**
 * The errors of the balancers that a caller may want to catch.
 *
 * @module
 */

import { FlotillaError } from "@flotilla/core";

/** Options of {@link NoEndpointsError}. */
export interface NoEndpointsErrorOptions {
  /** The service that has no eligible endpoint; named in the message and in `data`. */
  service?: string | undefined;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * There is no eligible endpoint to send a call to: none is registered, or
 * every one is unhealthy, ejected or behind an open breaker. Not retryable:
 * there is nowhere to go. Code `NO_ENDPOINTS`, kind `UNAVAILABLE` (HTTP 503).
 *
 * @example
 * ```ts
 * import { NoEndpointsError, RoundRobinBalancer } from "@flotilla/balance";
 *
 * try {
 *   new RoundRobinBalancer().pick([], { service: "payment" });
 * } catch (error) {
 *   if (error instanceof NoEndpointsError) console.log(error.data); // { service: "payment" }
 * }
 * ```
 */
export class NoEndpointsError extends FlotillaError {
  /** The service that has no eligible endpoint, when known. */
  readonly service: string | undefined;

  /** Creates the error, naming `options.service` when given. */
  constructor(options: NoEndpointsErrorOptions = {}) {
    const { service } = options;
    super(
      "NO_ENDPOINTS",
      service === undefined
        ? "Cannot pick an endpoint as none is eligible"
        : `Cannot pick an endpoint of "${service}" as none is eligible`,
      {
        kind: "UNAVAILABLE",
        retryable: false,
        data: service === undefined ? {} : { service },
        cause: options.cause,
      },
    );
    this.name = "NoEndpointsError";
    this.service = service;
  }
}
