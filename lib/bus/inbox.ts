/**
 * The idempotent inbox: a consumer records the ids of the events it has
 * processed in the same transaction as the state change they cause, so a
 * redelivered event has no second effect.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type Clock, type Logger, systemClock } from "@flotilla/core";
import { immediate, integer } from "@flotilla/sqlite";
import type { Delivery, DeliveryHandler } from "./bus.ts";
import type { CloudEvent } from "./cloud_event.ts";
import { BusError } from "./errors.ts";

/**
 * The redelivery settings of a subscription (as given to `bus.subscribe`),
 * with the same defaults, and how long an inbox keeps ids.
 */
export interface InboxRetentionOptions {
  /** How long a processed event's id is remembered, in ms (`Infinity`: forever). */
  retentionMs: number;
  /** The subscription's ack wait. @default {30_000} */
  ackWaitMs?: number;
  /** The subscription's deliveries before dead-lettering (`Infinity`: no limit). @default {5} */
  maxDeliver?: number;
  /** The subscription's redelivery backoff, by attempt (the last entry repeats). @default {[1_000, 5_000, 30_000]} */
  backoffMs?: readonly number[];
  /**
   * Slack on top of the redelivery window, for clock skew between
   * processes and the broker's own scheduling delays. @default {60_000}
   */
  marginMs?: number;
}

const RETENTION_ACTION = "keep the inbox's ids";

/**
 * The shortest retention that remembers an id for as long as the broker may
 * still redeliver its event: every delivery may hold it for the ack wait,
 * and each redelivery waits its backoff first, so
 * `ackWaitMs × maxDeliver + Σ backoff (of the maxDeliver − 1 redeliveries) + marginMs`.
 *
 * @example
 * ```ts
 * import { minimumInboxRetention } from "@flotilla/bus";
 *
 * // 30 s × 5 + (1 s + 5 s + 30 s + 30 s) + 60 s
 * minimumInboxRetention({}); // 276_000
 * ```
 */
export function minimumInboxRetention(
  settings: Omit<InboxRetentionOptions, "retentionMs">,
): number {
  return retentionBreakdown(settings).minimum;
}

/**
 * Throws unless `retentionMs` is at least {@link minimumInboxRetention} of
 * the subscription's settings: with less, an id may be forgotten while its
 * event can still be redelivered, and the redelivery would take effect
 * twice. A service calls it (through {@link SqliteInbox}'s constructor) at
 * startup, so it refuses to start with such a configuration.
 *
 * The window assumes the consumer group is being served: an event the
 * broker holds while every consumer is down, or a dead letter replayed by
 * hand, can come back after any retention.
 *
 * @throws {RangeError} when the retention is too short, saying what the minimum is made of.
 *
 * @example
 * ```ts
 * import { checkInboxRetention } from "@flotilla/bus";
 *
 * checkInboxRetention({ retentionMs: 86_400_000, ackWaitMs: 30_000, maxDeliver: 5 });
 * ```
 */
export function checkInboxRetention(settings: InboxRetentionOptions): void {
  const { retentionMs } = settings;
  if (!(typeof retentionMs === "number" && retentionMs > 0)) {
    throw new RangeError(
      `Cannot ${RETENTION_ACTION} as 'retentionMs' must be a positive number: current value is ${retentionMs}`,
    );
  }
  const { minimum, explanation } = retentionBreakdown(settings);
  if (retentionMs < minimum) {
    throw new RangeError(
      `Cannot ${RETENTION_ACTION} as 'retentionMs' must be at least ${minimum} (${explanation}), ` +
        `or a redelivered event could take effect twice: current value is ${retentionMs}`,
    );
  }
}

function retentionBreakdown(
  settings: Omit<InboxRetentionOptions, "retentionMs">,
): { minimum: number; explanation: string } {
  const ackWaitMs = settings.ackWaitMs ?? 30_000;
  const maxDeliver = settings.maxDeliver ?? 5;
  const backoffMs = settings.backoffMs ?? [1_000, 5_000, 30_000];
  const marginMs = settings.marginMs ?? 60_000;
  if (!(Number.isFinite(ackWaitMs) && ackWaitMs > 0)) {
    throw new RangeError(
      `Cannot ${RETENTION_ACTION} as 'ackWaitMs' must be a positive number: current value is ${ackWaitMs}`,
    );
  }
  if (!((Number.isInteger(maxDeliver) || maxDeliver === Infinity) && maxDeliver >= 1)) {
    throw new RangeError(
      `Cannot ${RETENTION_ACTION} as 'maxDeliver' must be a positive integer or Infinity: current value is ${maxDeliver}`,
    );
  }
  if (!backoffMs.every((ms) => Number.isFinite(ms) && ms >= 0)) {
    throw new RangeError(
      `Cannot ${RETENTION_ACTION} as 'backoffMs' must hold non-negative numbers: current value is [${
        backoffMs.join(", ")
      }]`,
    );
  }
  if (!(Number.isFinite(marginMs) && marginMs >= 0)) {
    throw new RangeError(
      `Cannot ${RETENTION_ACTION} as 'marginMs' must be a non-negative number: current value is ${marginMs}`,
    );
  }
  if (maxDeliver === Infinity) {
    return { minimum: Infinity, explanation: "maxDeliver is Infinity: redeliveries never end" };
  }
  const delays: number[] = [];
  for (let redelivery = 1; redelivery < maxDeliver; redelivery++) {
    delays.push(
      backoffMs.length === 0 ? 0 : backoffMs[Math.min(redelivery, backoffMs.length) - 1]!,
    );
  }
  const backoffTotal = delays.reduce((sum, ms) => sum + ms, 0);
  const minimum = ackWaitMs * maxDeliver + backoffTotal + marginMs;
  const backoffText = delays.length === 0 ? "0" : delays.join(" + ");
  return {
    minimum,
    explanation:
      `ackWaitMs ${ackWaitMs} × maxDeliver ${maxDeliver} + backoff ${backoffText} + margin ${marginMs}`,
  };
}

/** Options of {@link SqliteInbox}: the consumer group, and its subscription's redelivery settings. */
export interface SqliteInboxOptions extends InboxRetentionOptions {
  /** The consumer group whose processed ids this inbox remembers. */
  group: string;
  /** Where `processed_at` comes from. @default {systemClock} */
  clock?: Clock;
  /**
   * How often {@link SqliteInbox.process} deletes ids older than
   * `retentionMs` (0: never on its own; call {@link SqliteInbox.purge}).
   * @default {60_000}
   */
  purgeIntervalMs?: number;
  /** Where a failed automatic purge is reported (it is retried at the next interval). */
  logger?: Logger;
}

/** What {@link SqliteInbox.process} did, discriminated on `processed`. */
export type InboxResult<T> =
  | {
    /** The event was new: `work` ran and its effects committed with the id. */
    readonly processed: true;
    /** What `work` returned. */
    readonly result: T;
  }
  | {
    /** The event was processed before: `work` did not run. */
    readonly processed: false;
  };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS inbox (
  consumer_group TEXT NOT NULL,
  event_id TEXT NOT NULL,
  processed_at INTEGER NOT NULL,
  PRIMARY KEY (consumer_group, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inbox_processed_at ON inbox (consumer_group, processed_at);
`;

const PURGE_CHUNK = 1_000;

/**
 * The inbox of one consumer group, in the table `inbox` of the SQLite
 * database that holds the consumer's state (created if missing).
 *
 * {@link SqliteInbox.process} records the event id and runs the consumer's
 * synchronous state change in one transaction: either both commit or
 * neither does, and an id already recorded makes it skip the work. A
 * consumer killed after committing but before acknowledging gets the event
 * again and does nothing the second time.
 *
 * Ids are kept for `retentionMs` — at least as long as the subscription may
 * redeliver (see {@link checkInboxRetention}; the constructor refuses a
 * shorter one). An event is known by its `id` alone within the group, so
 * ids must be unique across the sources a group consumes (`createEvent`
 * makes UUIDv7s).
 *
 * @example
 * ```ts
 * import { openDatabase } from "@flotilla/sqlite";
 * import { type Bus, SqliteInbox } from "@flotilla/bus";
 *
 * declare const bus: Bus;
 * const db = openDatabase("billing.db", {
 *   schema: "CREATE TABLE IF NOT EXISTS invoices (order_id TEXT PRIMARY KEY)",
 * });
 * const subscription = { group: "billing", ackWaitMs: 30_000, maxDeliver: 5 };
 * const inbox = new SqliteInbox(db, { ...subscription, retentionMs: 7 * 86_400_000 });
 * await bus.subscribe(
 *   "shop.order",
 *   inbox.handler<{ orderId: string }>(({ event }) => {
 *     db.prepare("INSERT INTO invoices (order_id) VALUES (?)").run(event.data.orderId);
 *   }),
 *   subscription,
 * );
 * ```
 */
export class SqliteInbox {
  /** The database the inbox lives in, with the consumer's state. */
  readonly db: DatabaseSync;
  /** The consumer group. */
  readonly group: string;
  /** How long processed ids are kept, in ms. */
  readonly retentionMs: number;
  readonly #clock: Clock;
  readonly #purgeIntervalMs: number;
  readonly #logger: Logger | undefined;
  readonly #record: StatementSync;
  readonly #has: StatementSync;
  readonly #purge: StatementSync;
  readonly #count: StatementSync;
  #nextPurgeAt: number;

  /**
   * Opens the inbox of `options.group` in `db`, creating its table if
   * missing.
   *
   * @throws {RangeError} when `retentionMs` is shorter than the
   * subscription's redelivery window ({@link checkInboxRetention}).
   */
  constructor(db: DatabaseSync, options: SqliteInboxOptions) {
    if (typeof options.group !== "string" || options.group === "") {
      throw new RangeError(
        `Cannot create the inbox as 'group' must be a non-empty string: current value is ${
          JSON.stringify(options.group)
        }`,
      );
    }
    checkInboxRetention(options);
    const purgeIntervalMs = options.purgeIntervalMs ?? 60_000;
    if (!(Number.isFinite(purgeIntervalMs) && purgeIntervalMs >= 0)) {
      throw new RangeError(
        `Cannot create the inbox as 'purgeIntervalMs' must be a non-negative number: current value is ${purgeIntervalMs}`,
      );
    }
    this.db = db;
    this.group = options.group;
    this.retentionMs = options.retentionMs;
    this.#clock = options.clock ?? systemClock;
    this.#purgeIntervalMs = purgeIntervalMs;
    this.#logger = options.logger;
    this.#nextPurgeAt = this.#clock.now() + purgeIntervalMs;
    if (db.isTransaction) db.exec(SCHEMA);
    else immediate(db, () => db.exec(SCHEMA));
    this.#record = db.prepare(
      "INSERT INTO inbox (consumer_group, event_id, processed_at) VALUES (?, ?, ?) " +
        "ON CONFLICT (consumer_group, event_id) DO NOTHING",
    );
    this.#has = db.prepare(
      "SELECT 1 AS found FROM inbox WHERE consumer_group = ? AND event_id = ?",
    );
    this.#purge = db.prepare(
      "DELETE FROM inbox WHERE consumer_group = ?1 AND event_id IN (SELECT event_id FROM inbox " +
        "WHERE consumer_group = ?1 AND processed_at < ?2 LIMIT ?3)",
    );
    this.#count = db.prepare("SELECT count(*) AS n FROM inbox WHERE consumer_group = ?");
  }

  /**
   * Processes `event` once: in one transaction, records its id and runs
   * `work` — the consumer's synchronous state change on the inbox's
   * database — unless the id is already recorded, in which case `work` does
   * not run. If `work` throws, nothing is recorded and the error propagates
   * (the bus redelivers). Opens its own `BEGIN IMMEDIATE` transaction, or,
   * called inside one, a savepoint of it (then the caller's commit decides).
   *
   * @throws {TypeError} when `work` returns a promise: it must be synchronous.
   */
  process<T>(event: Pick<CloudEvent, "id"> | string, work: () => T): InboxResult<T> {
    const id = typeof event === "string" ? event : event?.id;
    if (typeof id !== "string" || id === "") {
      throw new BusError(
        "INVALID_EVENT",
        `Cannot process the event as its 'id' must be a non-empty string: current value is ${
          JSON.stringify(id)
        }`,
      );
    }
    const body = (): InboxResult<T> => {
      const { changes } = this.#record.run(this.group, id, this.#clock.now());
      if (Number(changes) === 0) return { processed: false };
      const result = work();
      if (result instanceof Promise) {
        throw new TypeError("Cannot run an async function inside the inbox's transaction");
      }
      return { processed: true, result };
    };
    if (!this.db.isTransaction) {
      const outcome = immediate(this.db, body);
      this.#purgeIfDue();
      return outcome;
    }
    this.db.exec("SAVEPOINT flotilla_inbox");
    try {
      const outcome = body();
      this.db.exec("RELEASE flotilla_inbox");
      return outcome;
    } catch (error) {
      this.db.exec("ROLLBACK TO flotilla_inbox");
      this.db.exec("RELEASE flotilla_inbox");
      throw error;
    }
  }

  /**
   * A bus handler that processes each delivery once with `work` (see
   * {@link SqliteInbox.process}); a delivery already processed is
   * acknowledged without running `work` again. `T` is the payload type
   * `work` expects: an assertion, not a check (validate events with the
   * catalog upstream).
   */
  handler<T = unknown>(work: (delivery: Delivery<T>) => void): DeliveryHandler {
    return (delivery) => {
      this.process(delivery.event, () => work(delivery as Delivery<T>));
    };
  }

  /** Whether the event with `id` is recorded as processed. */
  has(id: string): boolean {
    return this.#has.get(this.group, id) !== undefined;
  }

  /** How many ids the inbox holds. */
  get size(): number {
    return integer(this.#count.get(this.group)!, "n");
  }

  /**
   * Forgets the ids processed more than `retentionMs` before now; returns
   * how many. {@link SqliteInbox.process} calls it every `purgeIntervalMs`.
   */
  purge(): number {
    if (this.retentionMs === Infinity) return 0;
    const before = this.#clock.now() - this.retentionMs;
    let purged = 0;
    for (;;) {
      const chunk = () => Number(this.#purge.run(this.group, before, PURGE_CHUNK).changes);
      const count = this.db.isTransaction ? chunk() : immediate(this.db, chunk);
      purged += count;
      if (count < PURGE_CHUNK) return purged;
    }
  }

  #purgeIfDue(): void {
    if (this.#purgeIntervalMs === 0) return;
    const now = this.#clock.now();
    if (now < this.#nextPurgeAt) return;
    this.#nextPurgeAt = now + this.#purgeIntervalMs;
    try {
      this.purge();
    } catch (error) {
      this.#logger?.warn("inbox could not purge old ids", { error, group: this.group });
    }
  }
}
