/**
 * Typed errors with stable codes, and their wire form (RFC 9457 problem+json).
 *
 * Every error that crosses a service boundary is a {@link FlotillaError}: a
 * machine-readable `code` that never changes (`OUT_OF_STOCK`,
 * `ORDER_NOT_FOUND`), a canonical `kind` shared with gRPC status codes that
 * decides the HTTP status, whether a retry may help, and optional `data` and
 * field `issues`.
 *
 * @module
 */

/**
 * The canonical error categories. They mirror gRPC status codes so that one
 * error maps cleanly onto HTTP statuses and gRPC codes alike.
 */
export type ErrorKind =
  | "INVALID_ARGUMENT"
  | "FAILED_PRECONDITION"
  | "OUT_OF_RANGE"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "ABORTED"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "CANCELLED"
  | "DEADLINE_EXCEEDED"
  | "UNAVAILABLE"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNKNOWN";

const HTTP_STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 422,
  OUT_OF_RANGE: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  ABORTED: 409,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  DEADLINE_EXCEEDED: 504,
  UNAVAILABLE: 503,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNKNOWN: 500,
};

const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set([
  "UNAVAILABLE",
  "DEADLINE_EXCEEDED",
  "RESOURCE_EXHAUSTED",
  "ABORTED",
]);

/** One problem with one field of an input, as reported to the caller. */
export interface FieldIssue {
  /** JSON Pointer (RFC 6901) to the offending value, e.g. `/items/0/quantity`. */
  pointer: string;
  /** Human-readable explanation. */
  message: string;
}

/** Options of {@link FlotillaError}. */
export interface FlotillaErrorOptions {
  /** Canonical category; decides HTTP status and gRPC code. @default {"INTERNAL"} */
  kind?: ErrorKind;
  /** Override of the HTTP status the kind implies (413, 415, 405…). */
  httpStatus?: number;
  /** Whether retrying the same call may succeed. @default {derived from kind} */
  retryable?: boolean;
  /** Machine-readable details for the caller. */
  data?: Record<string, unknown>;
  /** Field-level problems, for validation errors. */
  issues?: readonly FieldIssue[];
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The base of every error Flotilla sends over the wire.
 *
 * @example
 * ```ts
 * throw new FlotillaError("OUT_OF_STOCK", "Not enough TEA-01 in stock", {
 *   kind: "FAILED_PRECONDITION",
 *   data: { sku: "TEA-01", available: 2 },
 * });
 * ```
 */
export class FlotillaError extends Error {
  /** Stable machine-readable code, e.g. `ORDER_NOT_FOUND`. */
  readonly code: string;
  /** Canonical category shared with gRPC. */
  readonly kind: ErrorKind;
  /** HTTP status this error is sent with. */
  readonly httpStatus: number;
  /** Whether retrying the same call may succeed. */
  readonly retryable: boolean;
  /** Machine-readable details. */
  readonly data: Readonly<Record<string, unknown>> | undefined;
  /** Field-level problems. */
  readonly issues: readonly FieldIssue[];

  /** Creates an error with a stable `code` and a message for humans. */
  constructor(
    code: string,
    message: string,
    options: FlotillaErrorOptions = {},
  ) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "FlotillaError";
    this.code = code;
    this.kind = options.kind ?? "INTERNAL";
    this.httpStatus = options.httpStatus ?? HTTP_STATUS_BY_KIND[this.kind];
    this.retryable = options.retryable ?? RETRYABLE_KINDS.has(this.kind);
    this.data = options.data;
    this.issues = options.issues ?? [];
  }
}

/** The input of a call does not match its schema. HTTP 400. */
export class ValidationError extends FlotillaError {
  /** Creates a validation error listing every offending field. */
  constructor(
    issues: readonly FieldIssue[],
    options: { code?: string; cause?: unknown } = {},
  ) {
    super(options.code ?? "INVALID_ARGUMENT", describeIssues(issues), {
      kind: "INVALID_ARGUMENT",
      issues,
      cause: options.cause,
    });
    this.name = "ValidationError";
  }
}

/** A named resource does not exist. HTTP 404. */
export class NotFoundError extends FlotillaError {
  /** Creates a not-found error, e.g. `new NotFoundError("ORDER_NOT_FOUND", "…")`. */
  constructor(code: string, message: string, data?: Record<string, unknown>) {
    super(
      code,
      message,
      data === undefined ? { kind: "NOT_FOUND" } : { kind: "NOT_FOUND", data },
    );
    this.name = "NotFoundError";
  }
}

/** The call ran out of time before it completed. HTTP 504. */
export class DeadlineExceededError extends FlotillaError {
  /** Creates a deadline error. */
  constructor(
    message = "Deadline exceeded",
    options: { cause?: unknown } = {},
  ) {
    super("DEADLINE_EXCEEDED", message, {
      kind: "DEADLINE_EXCEEDED",
      cause: options.cause,
    });
    this.name = "DeadlineExceededError";
  }
}

/** The callee could not be reached or refused the work for now. HTTP 503. */
export class UnavailableError extends FlotillaError {
  /** Creates an unavailable error with an optional more specific code. */
  constructor(
    message: string,
    options: {
      code?: string;
      cause?: unknown;
      data?: Record<string, unknown>;
    } = {},
  ) {
    super(options.code ?? "UNAVAILABLE", message, {
      kind: "UNAVAILABLE",
      cause: options.cause,
      ...(options.data === undefined ? {} : { data: options.data }),
    });
    this.name = "UnavailableError";
  }
}

/** Formats issues as one readable line naming each field. */
export function describeIssues(issues: readonly FieldIssue[]): string {
  if (issues.length === 0) return "Invalid input";
  return issues.map((issue) => `${fieldName(issue.pointer)}: ${issue.message}`)
    .join("; ");
}

/** Turns a JSON Pointer into a familiar path: `/items/0/sku` → `items[0].sku`. */
export function fieldName(pointer: string): string {
  if (pointer === "" || pointer === "/") return "(body)";
  return pointer.slice(1).split("/").map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce(
      (path, part) => /^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part,
      "",
    );
}

/** Builds a JSON Pointer (RFC 6901) from a path of keys and indexes. */
export function toPointer(path: readonly PropertyKey[]): string {
  return path.map((part) => "/" + String(part).replaceAll("~", "~0").replaceAll("/", "~1")).join(
    "",
  );
}

/** An RFC 9457 problem details document, with Flotilla's extension members. */
export interface Problem {
  /** URI reference naming the problem type. */
  type: string;
  /** Short summary of the problem type. */
  title: string;
  /** HTTP status. */
  status: number;
  /** Explanation of this occurrence. */
  detail: string;
  /** The request path this occurrence is about. */
  instance?: string;
  /** Stable machine-readable code. */
  code: string;
  /** Canonical category. */
  kind: ErrorKind;
  /** Whether retrying may help. */
  retryable: boolean;
  /** Field-level problems, for validation errors. */
  errors?: Array<FieldIssue & { field: string }>;
  /** Machine-readable details. */
  data?: Record<string, unknown>;
  /** Trace id of the request that failed, to find its logs. */
  traceId?: string;
}

/** The media type of problem documents. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/**
 * Converts any thrown value into a problem document. Unknown errors become
 * `INTERNAL` with a generic detail, so no stack or secret leaks to a caller.
 */
export function toProblem(
  error: unknown,
  extra: { instance?: string; traceId?: string } = {},
): Problem {
  const known = asFlotillaError(error);
  const problem: Problem = {
    type: `urn:flotilla:problem:${known.code.toLowerCase().replaceAll("_", "-")}`,
    title: titleOf(known.code),
    status: known.httpStatus,
    detail: known.message,
    code: known.code,
    kind: known.kind,
    retryable: known.retryable,
  };
  if (extra.instance !== undefined) problem.instance = extra.instance;
  if (known.issues.length > 0) {
    problem.errors = known.issues.map((issue) => ({
      ...issue,
      field: fieldName(issue.pointer),
    }));
  }
  if (known.data !== undefined) problem.data = { ...known.data };
  if (extra.traceId !== undefined) problem.traceId = extra.traceId;
  return problem;
}

/** Rebuilds a {@link FlotillaError} from a problem document received from a peer. */
export function fromProblem(
  problem: unknown,
  fallbackStatus = 500,
): FlotillaError {
  const body = (typeof problem === "object" && problem !== null ? problem : {}) as Partial<
    Problem
  >;
  const kind = isErrorKind(body.kind) ? body.kind : kindFromHttpStatus(fallbackStatus);
  const code = typeof body.code === "string" ? body.code : kind;
  const message = typeof body.detail === "string" ? body.detail : `Remote error ${fallbackStatus}`;
  const issues = Array.isArray(body.errors)
    ? body.errors.filter((e) => typeof e?.pointer === "string").map((e) => ({
      pointer: e.pointer,
      message: String(e.message),
    }))
    : [];
  const options: FlotillaErrorOptions = {
    kind,
    httpStatus: typeof body.status === "number" ? body.status : fallbackStatus,
    issues,
  };
  if (typeof body.retryable === "boolean") options.retryable = body.retryable;
  if (typeof body.data === "object" && body.data !== null) {
    options.data = body.data;
  }
  return new FlotillaError(code, message, options);
}

/** Wraps anything thrown into a {@link FlotillaError}; unknown values become `INTERNAL`. */
export function asFlotillaError(error: unknown): FlotillaError {
  if (error instanceof FlotillaError) return error;
  return new FlotillaError("INTERNAL", "Internal error", {
    kind: "INTERNAL",
    cause: error,
  });
}

/** The HTTP status a kind implies. */
export function httpStatusOf(kind: ErrorKind): number {
  return HTTP_STATUS_BY_KIND[kind];
}

/** The kind an HTTP status implies, for responses that carry no problem document. */
export function kindFromHttpStatus(status: number): ErrorKind {
  switch (status) {
    case 400:
    case 413:
    case 415:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 408:
      return "DEADLINE_EXCEEDED";
    case 409:
      return "ABORTED";
    case 422:
      return "FAILED_PRECONDITION";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 499:
      return "CANCELLED";
    case 501:
      return "UNIMPLEMENTED";
    case 502:
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT";
  }
}

function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === "string" && value in HTTP_STATUS_BY_KIND;
}

function titleOf(code: string): string {
  const words = code.toLowerCase().split("_").filter(Boolean).join(" ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
