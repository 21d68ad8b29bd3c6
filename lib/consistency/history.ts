/**
 * A history of operations, as Jepsen records one: every operation a client
 * attempts is logged when it is invoked and again when it completes, with
 * what is known of its outcome.
 *
 * @module
 */

import { type Clock, systemClock } from "@flotilla/core";

/**
 * What an entry of a history says:
 *
 * - `invoke`: the operation starts;
 * - `ok`: it completed and took effect;
 * - `fail`: it completed and certainly took no effect;
 * - `info`: its outcome is unknown (a timeout, a lost connection, a crash):
 *   it may or may not have taken effect. A process that logs `info` is
 *   done: its next operation is logged under a new process name.
 */
export type OperationType = "invoke" | "ok" | "fail" | "info";

/**
 * One entry of a {@link History}. A completion (`ok`, `fail`, `info`) belongs
 * to the last `invoke` of the same `process`.
 *
 * The queue checker knows `f: "enqueue"` (the value put in), `f: "dequeue"`
 * (on `ok`, the value taken out) and `f: "drain"` (on `ok`, an array of the
 * values taken out); other functions are kept and ignored.
 */
export interface Operation<V = unknown> {
  /** Who ran it: a client, a worker, `"order-1#2"` for a restarted process. */
  readonly process: string;
  /** Invocation or completion, and how it ended. */
  readonly type: OperationType;
  /** The function: `enqueue`, `dequeue`, `drain`, or any name of the caller's. */
  readonly f: string;
  /**
   * The argument (on `invoke`) or the result (on `ok`; an array of values
   * for a `drain`); absent when there is none.
   */
  readonly value?: V | readonly V[];
  /** When it was logged, in ms of the history's clock (epoch ms by default). */
  readonly time: number;
  /** Why it failed or is unknown, for the reader of a report. */
  readonly error?: string;
}

/** Options of {@link History}. */
export interface HistoryOptions<V = unknown> {
  /** Where `time` comes from. @default {systemClock} */
  clock?: Clock;
  /**
   * Called with each operation appended and its JSON line (newline
   * included), e.g. to append it to a file at once so that a process killed
   * with SIGKILL leaves a history behind.
   */
  sink?: (line: string, operation: Operation<V>) => void;
}

/** Options of {@link History.fromJsonLines}. */
export interface FromJsonLinesOptions {
  /**
   * Skip a last line that does not parse and has no newline after it: the
   * torn write of a process killed while logging. @default {true}
   */
  tolerateTornTail?: boolean;
}

/**
 * An append-only log of operations. Appending is synchronous, so one
 * process's log is ordered; several processes' logs (JSON lines files) are
 * combined with {@link History.merge}.
 *
 * @example
 * ```ts
 * import { checkTotalQueue, History } from "@flotilla/consistency";
 *
 * const history = new History<number>();
 * history.invoke("producer", "enqueue", 1);
 * history.ok("producer", "enqueue", 1);
 * history.invoke("consumer", "dequeue");
 * history.ok("consumer", "dequeue", 1);
 * checkTotalQueue(history).valid; // true
 * ```
 */
export class History<V = unknown> implements Iterable<Operation<V>> {
  readonly #operations: Operation<V>[] = [];
  readonly #clock: Clock;
  readonly #sink: ((line: string, operation: Operation<V>) => void) | undefined;

  /** Creates an empty history, or one holding `operations`. */
  constructor(options: HistoryOptions<V> = {}, operations: Iterable<Operation<V>> = []) {
    this.#clock = options.clock ?? systemClock;
    this.#sink = options.sink;
    for (const operation of operations) this.#operations.push(checkOperation(operation));
  }

  /** The operations, in the order they were appended. */
  get operations(): readonly Operation<V>[] {
    return this.#operations;
  }

  /** How many operations it holds. */
  get length(): number {
    return this.#operations.length;
  }

  /** Iterates the operations in order. */
  [Symbol.iterator](): Iterator<Operation<V>> {
    return this.#operations[Symbol.iterator]();
  }

  /** Appends an operation as it is (its `time` included) and returns it. */
  append(operation: Operation<V>): Operation<V> {
    const checked = checkOperation(operation);
    this.#operations.push(checked);
    this.#sink?.(JSON.stringify(checked) + "\n", checked);
    return checked;
  }

  /** Logs that `process` invokes `f` with `value`. */
  invoke(process: string, f: string, value?: V | readonly V[]): Operation<V> {
    return this.#log(process, "invoke", f, value, undefined);
  }

  /** Logs that the operation `process` invoked completed and took effect, with result `value`. */
  ok(process: string, f: string, value?: V | readonly V[]): Operation<V> {
    return this.#log(process, "ok", f, value, undefined);
  }

  /** Logs that the operation `process` invoked certainly took no effect. */
  fail(process: string, f: string, value?: V | readonly V[], error?: unknown): Operation<V> {
    return this.#log(process, "fail", f, value, error);
  }

  /** Logs that the outcome of the operation `process` invoked is unknown. */
  info(process: string, f: string, value?: V | readonly V[], error?: unknown): Operation<V> {
    return this.#log(process, "info", f, value, error);
  }

  /** The history as JSON lines, one operation a line, each line ending with a newline. */
  toJsonLines(): string {
    let text = "";
    for (const operation of this.#operations) text += JSON.stringify(operation) + "\n";
    return text;
  }

  /**
   * Parses a JSON lines history (as written by {@link History.toJsonLines}
   * or a `sink`). Blank lines are skipped.
   *
   * @example
   * ```ts
   * import { History } from "@flotilla/consistency";
   *
   * const text = '{"process":"p","type":"invoke","f":"enqueue","value":1,"time":0}\n';
   * History.fromJsonLines(text).length; // 1
   * ```
   */
  static fromJsonLines<V = unknown>(
    text: string,
    options: FromJsonLinesOptions = {},
  ): History<V> {
    const tolerateTornTail = options.tolerateTornTail ?? true;
    const lines = text.split("\n");
    const operations: Operation<V>[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === "") continue;
      const last = i === lines.length - 1;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (error) {
        if (last && tolerateTornTail) break;
        throw new SyntaxError(`Cannot read the history as line ${i + 1} is not JSON: ${line}`, {
          cause: error,
        });
      }
      operations.push(checkOperation(parsed as Operation<V>, i + 1));
    }
    return new History<V>({}, operations);
  }

  /**
   * Combines the histories of several processes into one, ordered by
   * `time`; operations with equal times keep their order within their own
   * history, so each process's invocations and completions stay paired.
   * Processes should not share a name across the histories.
   */
  static merge<V = unknown>(...histories: readonly History<V>[]): History<V> {
    const all: Array<{ operation: Operation<V>; source: number; index: number }> = [];
    histories.forEach((history, source) => {
      history.operations.forEach((operation, index) => all.push({ operation, source, index }));
    });
    all.sort((a, b) =>
      a.operation.time - b.operation.time || a.source - b.source || a.index - b.index
    );
    return new History<V>({}, all.map((entry) => entry.operation));
  }

  #log(
    process: string,
    type: OperationType,
    f: string,
    value: V | readonly V[] | undefined,
    error: unknown,
  ): Operation<V> {
    const operation: { -readonly [K in keyof Operation<V>]: Operation<V>[K] } = {
      process,
      type,
      f,
      time: this.#clock.now(),
    };
    if (value !== undefined) operation.value = value;
    if (error !== undefined) {
      operation.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    return this.append(operation);
  }
}

const TYPES: ReadonlySet<string> = new Set(["invoke", "ok", "fail", "info"]);

function checkOperation<V>(operation: Operation<V>, line?: number): Operation<V> {
  const where = line === undefined ? "" : ` on line ${line}`;
  if (typeof operation !== "object" || operation === null) {
    throw new TypeError(`Cannot read the operation${where} as it is not an object`);
  }
  if (typeof operation.process !== "string") {
    throw new TypeError(
      `Cannot read the operation${where} as 'process' must be a string: current value is ${
        String(operation.process)
      }`,
    );
  }
  if (!TYPES.has(operation.type)) {
    throw new TypeError(
      `Cannot read the operation${where} as 'type' must be invoke, ok, fail or info: current value is ${
        String(operation.type)
      }`,
    );
  }
  if (typeof operation.f !== "string") {
    throw new TypeError(
      `Cannot read the operation${where} as 'f' must be a string: current value is ${
        String(operation.f)
      }`,
    );
  }
  if (typeof operation.time !== "number" || Number.isNaN(operation.time)) {
    throw new TypeError(
      `Cannot read the operation${where} as 'time' must be a number: current value is ${
        String(operation.time)
      }`,
    );
  }
  return operation;
}
