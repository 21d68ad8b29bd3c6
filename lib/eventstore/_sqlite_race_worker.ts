/**
 * A writer of the multi-connection race test, run as a Worker: its own
 * connection to the file, racing the other workers' on one stream. Private
 * to the tests.
 *
 * Messages in: a {@link RaceOrder} (it opens its store and answers
 * `"ready"`), then `"go"`; message out: its {@link RaceReport}.
 *
 * @module
 */

import { SqliteEventStore } from "./sqlite_event_store.ts";
import { WrongExpectedVersionError } from "./errors.ts";

/** What a worker is told. */
export interface RaceOrder {
  /** The database file. */
  readonly path: string;
  /** The stream to race on. */
  readonly stream: string;
  /** Attempts to make. */
  readonly attempts: number;
  /** Batch sizes, used in turn. */
  readonly sizes: readonly number[];
  /** This worker's number. */
  readonly worker: number;
}

/** What a worker reports. */
export interface RaceReport {
  /** The successful appends: the version of their first event and their ids. */
  readonly successes: { from: number; ids: string[] }[];
  /** Appends refused with a wrong expected version whose actual version was past the one read. */
  readonly conflicts: number;
  /** Anything else that went wrong. */
  readonly problems: string[];
}

/** The worker's global scope (the type checker sees a window). */
const scope = self as unknown as {
  onmessage: (message: MessageEvent<RaceOrder | "go">) => void;
  postMessage(report: RaceReport | "ready"): void;
};

let store: SqliteEventStore | undefined;
let order: RaceOrder | undefined;

scope.onmessage = async (message) => {
  if (message.data !== "go") {
    // Open first, then wait for every worker to be ready, so that they all race at once.
    order = message.data;
    store = new SqliteEventStore({ path: order.path, busyTimeoutMs: 30_000 });
    scope.postMessage("ready");
    return;
  }
  const report = {
    successes: [] as RaceReport["successes"],
    conflicts: 0,
    problems: [] as string[],
  };
  try {
    await race(store!, order!, report);
  } catch (error) {
    report.problems.push(String(error));
  } finally {
    await store?.[Symbol.asyncDispose]();
  }
  scope.postMessage(report);
};

async function race(
  store: SqliteEventStore,
  order: RaceOrder,
  report: { successes: RaceReport["successes"]; conflicts: number; problems: string[] },
): Promise<void> {
  for (let attempt = 0; attempt < order.attempts; attempt++) {
    const size = order.sizes[attempt % order.sizes.length]!;
    const version = await store.streamVersion(order.stream);
    const events = Array.from({ length: size }, (_, i) => ({
      id: crypto.randomUUID(),
      type: "raced",
      data: { worker: order.worker, attempt, i },
    }));
    try {
      const result = await store.append(order.stream, events, { expectedVersion: version });
      if (result.nextExpectedVersion !== version + size) {
        report.problems.push(`appended at ${version} but got ${result.nextExpectedVersion}`);
      }
      report.successes.push({ from: version + 1, ids: events.map((e) => e.id) });
    } catch (error) {
      if (error instanceof WrongExpectedVersionError && error.actual > version) {
        report.conflicts++;
      } else {
        report.problems.push(String(error));
      }
    }
  }
}
