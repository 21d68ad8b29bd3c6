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

/**
 * A setting the supervisor reads from its environment is invalid, e.g.
 * `FLOTILLA_REGISTRY=zookeeper://h:1` or `FLOTILLA_REPLICAS_PAYMENT=0`. A
 * `RangeError`, as any bad option of the supervisor, with the variable named.
 */
export class InvalidSettingError extends RangeError {
  /** Stable machine-readable code. */
  readonly code = "INVALID_SETTING";
  /** Whether trying again may succeed. */
  readonly retryable = false;
  /** The environment variable that holds the bad value. */
  readonly variable: string;

  /** Creates the error for `variable`, with a message saying what is wrong. */
  constructor(variable: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "InvalidSettingError";
    this.variable = variable;
  }
}

/** A control request named a service (or replica) the supervisor does not run. */
export class UnknownServiceError extends Error {
  /** Stable machine-readable code. */
  readonly code = "SERVICE_NOT_FOUND";
  /** Whether trying again may succeed. */
  readonly retryable = false;
  /** The name asked for. */
  readonly service: string;

  /** Creates the error for `service`; `known` lists the names that exist. */
  constructor(service: string, known: readonly string[], options: { cause?: unknown } = {}) {
    super(
      `Cannot find service "${service}"${
        known.length === 0 ? "" : `: the supervisor runs ${known.join(", ")}`
      }`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "UnknownServiceError";
    this.service = service;
  }
}

/**
 * No supervisor runs to take a control request: none runs on the data root,
 * or it is still starting, or already stopping.
 */
export class SupervisorNotRunningError extends Error {
  /** Stable machine-readable code. */
  readonly code = "SUPERVISOR_NOT_RUNNING";
  /** Whether trying again later may succeed. */
  readonly retryable = true;

  /** Creates the error with `message` saying why. */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SupervisorNotRunningError";
  }
}
