/**
 * The errors of the supervisor that a caller may want to catch.
 *
 * @module
 */

/** Another live supervisor already runs on the data root. */
export class DataRootLockedError extends Error {
  /** Stable machine-readable code. */
  readonly code = "DATA_ROOT_LOCKED";
  /** Whether trying again later may succeed. */
  readonly retryable = true;
  /** The data root that is in use. */
  readonly dataRoot: string;
  /** The pid of the supervisor holding it, when it could be read. */
  readonly pid: number | undefined;

  /** Creates the error for `dataRoot`, held by the supervisor with `pid`. */
  constructor(dataRoot: string, pid: number | undefined, options: { cause?: unknown } = {}) {
    super(
      `Cannot start the supervisor as another supervisor${
        pid === undefined ? "" : ` (pid ${pid})`
      } is running on data folder "${dataRoot}": stop it first, or set FLOTILLA_DATA_DIR to another folder`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "DataRootLockedError";
    this.dataRoot = dataRoot;
    this.pid = pid;
  }
}

/** A service did not become ready within the start timeout. */
export class ServiceStartError extends Error {
  /** Stable machine-readable code. */
  readonly code = "SERVICE_NOT_READY";
  /** Whether trying again may succeed. */
  readonly retryable = false;
  /** The service that failed. */
  readonly service: string;
  /** The last lines of its log, to show what went wrong. */
  readonly logTail: readonly string[];

  /** Creates the error for `service`, with `reason` saying what happened. */
  constructor(
    service: string,
    reason: string,
    options: { logTail?: readonly string[]; cause?: unknown } = {},
  ) {
    super(
      `Cannot start "${service}" as ${reason}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "ServiceStartError";
    this.service = service;
    this.logTail = options.logTail ?? [];
  }
}
