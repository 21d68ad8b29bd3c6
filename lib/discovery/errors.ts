/**
 * The errors of `@flotilla/discovery`.
 *
 * @module
 */

import { type ErrorKind, FlotillaError } from "@flotilla/core";

/** The stable codes of {@link DiscoveryError}. */
export type DiscoveryErrorCode =
  | "REGISTRY_UNAVAILABLE"
  | "REGISTRATION_UNSUPPORTED"
  | "INVALID_REGISTRY_URL";

const KIND_BY_CODE: Readonly<Record<DiscoveryErrorCode, ErrorKind>> = {
  REGISTRY_UNAVAILABLE: "UNAVAILABLE",
  REGISTRATION_UNSUPPORTED: "UNIMPLEMENTED",
  INVALID_REGISTRY_URL: "INVALID_ARGUMENT",
};

/** Options of {@link DiscoveryError}. */
export interface DiscoveryErrorOptions {
  /** Machine-readable details, e.g. `{ registry: "etcd", endpoint }`. */
  data?: Record<string, unknown>;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * A service registry failed or refused an operation.
 *
 * The `kind` follows the code: `REGISTRY_UNAVAILABLE` is `UNAVAILABLE` and
 * retryable, `REGISTRATION_UNSUPPORTED` is `UNIMPLEMENTED`,
 * `INVALID_REGISTRY_URL` is `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * import { DiscoveryError } from "@flotilla/discovery";
 *
 * try {
 *   // await registry.instances("payment");
 * } catch (error) {
 *   if (error instanceof DiscoveryError && error.code === "REGISTRY_UNAVAILABLE") {
 *     // fall back to the last known list
 *   }
 * }
 * ```
 */
export class DiscoveryError extends FlotillaError {
  /** The stable code of this error. */
  declare readonly code: DiscoveryErrorCode;

  /** Creates a discovery error; the kind (and so `retryable`) follows from `code`. */
  constructor(
    code: DiscoveryErrorCode,
    message: string,
    options: DiscoveryErrorOptions = {},
  ) {
    super(code, message, {
      kind: KIND_BY_CODE[code],
      ...(options.data === undefined ? {} : { data: options.data }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = "DiscoveryError";
  }
}

/**
 * Builds a `REGISTRY_UNAVAILABLE` error: the registry `registry` (an adapter
 * kind such as `etcd`, or an endpoint) could not be reached or answered with
 * an error. Retryable.
 *
 * @example
 * ```ts
 * import { registryUnavailable } from "@flotilla/discovery";
 *
 * const error = registryUnavailable("etcd", "Cannot reach http://127.0.0.1:2379", {
 *   cause: new TypeError("connection refused"),
 * });
 * error.retryable; // true
 * ```
 */
export function registryUnavailable(
  registry: string,
  message: string,
  options: DiscoveryErrorOptions = {},
): DiscoveryError {
  return new DiscoveryError("REGISTRY_UNAVAILABLE", message, {
    ...options,
    data: { registry, ...options.data },
  });
}

/**
 * Builds a `REGISTRATION_UNSUPPORTED` error for a read-only registry
 * (`static`, `dns`).
 *
 * @example
 * ```ts
 * import { registrationUnsupported } from "@flotilla/discovery";
 *
 * registrationUnsupported("static").message;
 * // "Cannot register an instance with the 'static' registry: it is read-only"
 * ```
 */
export function registrationUnsupported(
  registry: string,
  options: DiscoveryErrorOptions = {},
): DiscoveryError {
  return new DiscoveryError(
    "REGISTRATION_UNSUPPORTED",
    `Cannot register an instance with the '${registry}' registry: it is read-only`,
    { ...options, data: { registry, ...options.data } },
  );
}

/**
 * Builds an `INVALID_REGISTRY_URL` error naming the rejected `value` (e.g. of
 * `FLOTILLA_REGISTRY`) and, optionally, why it was rejected.
 *
 * @example
 * ```ts
 * import { invalidRegistryUrl } from "@flotilla/discovery";
 *
 * invalidRegistryUrl("zookeeper://h:1", "unknown scheme 'zookeeper:'").message;
 * // "Cannot open a registry as 'zookeeper://h:1' is not a valid registry URL: unknown scheme 'zookeeper:'"
 * ```
 */
export function invalidRegistryUrl(
  value: string,
  reason?: string,
  options: DiscoveryErrorOptions = {},
): DiscoveryError {
  return new DiscoveryError(
    "INVALID_REGISTRY_URL",
    `Cannot open a registry as '${value}' is not a valid registry URL` +
      (reason === undefined ? "" : `: ${reason}`),
    { ...options, data: { value, ...options.data } },
  );
}
