/**
 * The errors of `@flotilla/config`.
 *
 * @module
 */

import { type ErrorKind, type FieldIssue, FlotillaError } from "@flotilla/core";

/** The stable codes of {@link ConfigError}. */
export type ConfigErrorCode =
  | "INVALID_CONFIG"
  | "CONFIG_VETOED"
  | "CONFIG_SOURCE_UNAVAILABLE"
  | "INVALID_CONFIG_URL";

const KIND_BY_CODE: Readonly<Record<ConfigErrorCode, ErrorKind>> = {
  INVALID_CONFIG: "INVALID_ARGUMENT",
  CONFIG_VETOED: "FAILED_PRECONDITION",
  CONFIG_SOURCE_UNAVAILABLE: "UNAVAILABLE",
  INVALID_CONFIG_URL: "INVALID_ARGUMENT",
};

/** Options of {@link ConfigError}. */
export interface ConfigErrorOptions {
  /** Field-level problems (`INVALID_CONFIG`), JSON Pointers into the merged configuration. */
  issues?: readonly FieldIssue[];
  /** Machine-readable details, e.g. `{ source: "etcd://…", key }`. */
  data?: Record<string, unknown>;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * A configuration could not be loaded or a new version was refused.
 *
 * - `INVALID_CONFIG`: the merged layers break the schema (or a layer is not
 *   valid JSON); `issues` names each field.
 * - `CONFIG_VETOED`: a subscriber's `onReload` hook refused the new version.
 * - `CONFIG_SOURCE_UNAVAILABLE`: the dynamic source (etcd, a file) could not
 *   be read; retryable.
 * - `INVALID_CONFIG_URL`: `FLOTILLA_CONFIG` names no known source.
 *
 * @example
 * ```ts
 * import { ConfigError } from "@flotilla/config";
 *
 * const error = new ConfigError("CONFIG_VETOED", "pool cannot shrink below 2");
 * error.kind; // "FAILED_PRECONDITION"
 * ```
 */
export class ConfigError extends FlotillaError {
  /** The stable code of this error. */
  declare readonly code: ConfigErrorCode;

  /** Creates a configuration error; the kind (and so `retryable`) follows from `code`. */
  constructor(code: ConfigErrorCode, message: string, options: ConfigErrorOptions = {}) {
    super(code, message, {
      kind: KIND_BY_CODE[code],
      ...(options.issues === undefined ? {} : { issues: options.issues }),
      ...(options.data === undefined ? {} : { data: options.data }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = "ConfigError";
  }
}
