/**
 * Structured JSON logs: one line per event, with the service name and, inside
 * a request, its `trace_id` and `span_id`.
 *
 * @module
 */

/** Log severities, from the most verbose. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const SEVERITY: Readonly<Record<LogLevel, number>> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
};

/** One log event, before serialisation. */
export interface LogRecord {
  /** ISO-8601 timestamp. */
  time: string;
  /** Severity. */
  level: LogLevel;
  /** The message. */
  msg: string;
  /** Structured fields: `service`, `trace_id`, `span_id` and anything else. */
  [field: string]: unknown;
}

/** Where log records go. */
export interface LogSink {
  /** Writes one record. Must not throw. */
  write(record: LogRecord): void;
}

/** Writes each record as one JSON line on stdout (warnings and errors on stderr). */
export const jsonLineSink: LogSink = {
  write(record) {
    const line = encoder.encode(safeStringify(record) + "\n");
    const stream = SEVERITY[record.level] >= SEVERITY.warn ? Deno.stderr : Deno.stdout;
    try {
      writeAll(stream, line);
    } catch {
      // A closed stdout must never take the service down.
    }
  },
};

/** Keeps records in memory, for tests. */
export class MemorySink implements LogSink {
  /** Every record written so far. */
  readonly records: LogRecord[] = [];

  /** Stores the record. */
  write(record: LogRecord): void {
    this.records.push(record);
  }
}

/** Options of {@link Logger}. */
export interface LoggerOptions {
  /** Records below this level are dropped. @default {"info"} */
  level?: LogLevel;
  /** Where records go. @default {jsonLineSink} */
  sink?: LogSink;
  /** Fields added to every record, e.g. `{ service: "order" }`. */
  fields?: Record<string, unknown>;
}

/**
 * A structured logger. `child()` adds fields (a trace id, an action) without
 * copying the sink or level: a logger and its children share one level, so
 * {@link Logger.setLevel} changes it for all of them at once.
 *
 * @example
 * ```ts
 * const log = new Logger({ fields: { service: "order" } });
 * log.child({ trace_id: "4bf9…" }).info("order placed", { orderId: "o-1" });
 * ```
 */
export class Logger {
  #level: { name: LogLevel; severity: number };
  readonly #sink: LogSink;
  readonly #fields: Record<string, unknown>;

  /** Creates a logger. */
  constructor(options: LoggerOptions = {}) {
    const name = options.level ?? "info";
    this.#level = { name, severity: SEVERITY[name] };
    this.#sink = options.sink ?? jsonLineSink;
    this.#fields = options.fields ?? {};
  }

  /** The lowest level this logger writes. */
  get level(): LogLevel {
    return this.#level.name;
  }

  /**
   * Changes the lowest level written, for this logger, the logger it was
   * made from and every child of either (a hot-reloaded `logLevel`).
   *
   * @throws {RangeError} when `level` is not debug, info, warn or error.
   */
  setLevel(level: LogLevel): void {
    const severity = SEVERITY[level];
    if (severity === undefined) parseLogLevel(level);
    this.#level.name = level;
    this.#level.severity = severity;
  }

  /** A logger that adds `fields` to every record. */
  child(fields: Record<string, unknown>): Logger {
    const child = new Logger({ sink: this.#sink, fields: { ...this.#fields, ...fields } });
    child.#level = this.#level;
    return child;
  }

  /** Whether a record at `level` would be written. */
  enabled(level: LogLevel): boolean {
    return SEVERITY[level] >= this.#level.severity;
  }

  /** Logs at debug level. */
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log("debug", msg, fields);
  }

  /** Logs at info level. */
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log("info", msg, fields);
  }

  /** Logs at warn level. */
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log("warn", msg, fields);
  }

  /** Logs at error level. */
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log("error", msg, fields);
  }

  /** Logs at `level`; an `error` field that holds an Error is serialised with its code and stack. */
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (SEVERITY[level] < this.#level.severity) return;
    const record: LogRecord = {
      time: new Date().toISOString(),
      level,
      msg,
      ...this.#fields,
    };
    if (fields) {
      for (const [key, value] of Object.entries(fields)) {
        record[key] = value instanceof Error ? serializeError(value) : value;
      }
    }
    this.#sink.write(record);
  }
}

/** Parses a level name, as read from `FLOTILLA_LOG_LEVEL`. */
export function parseLogLevel(
  value: string | undefined,
  fallback: LogLevel = "info",
): LogLevel {
  if (value === undefined || value === "") return fallback;
  const level = value.toLowerCase();
  if (level in SEVERITY) return level as LogLevel;
  throw new RangeError(
    `Cannot set the log level as it must be debug, info, warn or error: current value is "${value}"`,
  );
}

/** A plain object describing an error, safe to log as JSON. */
export function serializeError(error: Error): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: error.name,
    message: error.message,
  };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (error.stack) out.stack = error.stack;
  if (error.cause instanceof Error) out.cause = serializeError(error.cause);
  else if (error.cause !== undefined) out.cause = String(error.cause);
  return out;
}

const encoder = new TextEncoder();

function writeAll(
  stream: { writeSync(p: Uint8Array): number },
  bytes: Uint8Array,
): void {
  let offset = 0;
  while (offset < bytes.length) {
    offset += stream.writeSync(bytes.subarray(offset));
  }
}

function safeStringify(record: LogRecord): string {
  try {
    return JSON.stringify(
      record,
      (_key, value) => typeof value === "bigint" ? value.toString() : value,
    );
  } catch {
    return JSON.stringify({
      time: record.time,
      level: record.level,
      msg: record.msg,
      unserializable: true,
    });
  }
}
