/**
 * The relay of the transactional outbox: publishes what services wrote to
 * their outbox, in order, and marks it sent once the broker has it.
 *
 * @module
 */

import { type Clock, FlotillaError, type Logger, systemClock } from "@flotilla/core";
import { systemTimers, type Timers } from "@flotilla/resilience";
import type { Bus, PublishReceipt } from "./bus.ts";
import { BusError } from "./errors.ts";
import type { Outbox, OutboxLease, OutboxRow } from "./outbox.ts";

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** The outbox to drain. */
  outbox: Outbox;
  /** The bus to publish to. */
  bus: Bus;
  /**
   * Where the lease's and `sent_at`'s time comes from; every relay of one
   * outbox must read comparable clocks.
   * @default {`timers` when they are also a clock (ManualTimers), else systemClock}
   */
  clock?: Clock;
  /** Schedules polls and backoff. @default {systemTimers} */
  timers?: Timers;
  /** Rows read and published per pass. @default {100} */
  batchSize?: number;
  /**
   * Pause between passes when the outbox is empty (a {@link OutboxRelay.notify}
   * cuts it short); also how often a standby relay checks the lease.
   * @default {1_000}
   */
  pollIntervalMs?: number;
  /**
   * How long the relay lease lasts unless renewed; a standby takes over this
   * long after the holder stops renewing it. @default {30_000}
   */
  leaseMs?: number;
  /** This relay's name in the lease. @default {`relay-` and a random UUID} */
  owner?: string;
  /** Pause after the first failed pass; doubles with each failure in a row. @default {100} */
  minBackoffMs?: number;
  /** Longest pause after failed passes. @default {30_000} */
  maxBackoffMs?: number;
  /**
   * How long one `bus.publish` may take before it counts as failed (its
   * events are published again later). At most half of `leaseMs`, so a
   * publish never outlives the lease it started under. @default {10_000}
   */
  publishTimeoutMs?: number;
  /** How long sent rows are kept before they are deleted (`Infinity`: kept). @default {86_400_000} */
  retentionMs?: number;
  /** How often the lease holder deletes sent rows older than `retentionMs`. @default {60_000} */
  purgeIntervalMs?: number;
  /** Where failures and changes of leadership are reported. */
  logger?: Logger;
  /** Stops the relay, like disposing it. */
  signal?: AbortSignal;
}

/** What an {@link OutboxRelay} is doing. */
export interface OutboxRelayStatus {
  /** Whether this relay holds the lease (it is the one publishing). */
  readonly leader: boolean;
  /** The lease as last seen, whoever holds it. */
  readonly lease: OutboxLease | undefined;
  /** Events this relay published and marked sent. */
  readonly published: number;
  /** Of those, how many the broker reported as already published (a republish after a crash). */
  readonly duplicates: number;
  /** Failed passes in a row (0 once a pass succeeds). */
  readonly failures: number;
  /** The last failure's message, until a pass succeeds. */
  readonly lastError: string | undefined;
  /** Whether the relay has stopped. */
  readonly closed: boolean;
}

interface FlushWaiter {
  readonly after: number;
  resolve(): void;
  reject(error: unknown): void;
}

interface PassOutcome {
  /** A full batch was published: more may wait. */
  readonly more: boolean;
  /** The outbox was seen empty of what was there when the pass began. */
  readonly drained: boolean;
}

const ACTION = "create the outbox relay";

/**
 * Publishes the events of an {@link Outbox} to a {@link Bus}: at least
 * once, in `seq` order, never skipping one.
 *
 * Each pass takes (or renews) the relay lease — only its holder publishes,
 * so several relays may run for availability and a standby takes over when
 * the holder stops renewing — reads the oldest unsent rows, publishes them
 * grouped by stream in `seq` order (`bus.publish` resolves once the broker
 * has them durably), and marks exactly those rows sent. A failed publish is
 * retried with backoff from the same row: nothing after it is published
 * first. A crash between publish and mark republishes the same event ids:
 * a broker that deduplicates reports `duplicate`, and consumers rely on
 * their inbox (`SqliteInbox`) for the rest.
 *
 * Ordering: a relay publishes each stream's rows in `seq` (commit) order
 * and stops at the first failure, so the first copy of every event reaches
 * its stream after the first copies of all earlier events of that stream —
 * through failures, crashes and handovers alike. What can arrive late is a
 * duplicate: a relay frozen mid-publish beyond its lease (a long pause, a
 * partitioned host) may land its stale copies after the new holder's; the
 * broker's dedupe or the consumers' inbox drops them.
 *
 * Passes run every `pollIntervalMs`, at once after a full batch, and at once
 * after {@link OutboxRelay.notify} (call it after committing a transaction
 * that wrote to the outbox). Disposing it finishes the batch in flight and
 * gives the lease up.
 *
 * @example
 * ```ts
 * import { immediate, openDatabase } from "@flotilla/sqlite";
 * import { type Bus, OutboxRelay, SqliteOutbox } from "@flotilla/bus";
 *
 * declare const bus: Bus;
 * const db = openDatabase("order.db");
 * const outbox = new SqliteOutbox(db);
 * await using relay = new OutboxRelay({ outbox, bus });
 * immediate(db, () => {
 *   // …the state change, then outbox.add("shop.order", event)
 * });
 * relay.notify();
 * ```
 */
export class OutboxRelay implements AsyncDisposable {
  /** This relay's name in the lease. */
  readonly owner: string;
  /** Resolves once the relay has stopped. */
  readonly closed: Promise<void>;
  readonly #outbox: Outbox;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #leaseMs: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #publishTimeoutMs: number;
  readonly #retentionMs: number;
  readonly #purgeIntervalMs: number;
  readonly #logger: Logger | undefined;
  #stopping = false;
  #nudged = false;
  #wake: (() => void) | undefined;
  #waitingFor: "poll" | "backoff" | undefined;
  #passes = 0;
  #flushes: FlushWaiter[] = [];
  #lease: OutboxLease | undefined;
  #leader = false;
  #nextPurgeAt = -Infinity;
  #published = 0;
  #duplicates = 0;
  #failures = 0;
  #lastError: string | undefined;

  /** Validates the options and starts relaying. */
  constructor(options: OutboxRelayOptions) {
    this.#outbox = options.outbox;
    this.#bus = options.bus;
    this.#timers = options.timers ?? systemTimers;
    this.#clock = options.clock ?? (isClock(this.#timers) ? this.#timers : systemClock);
    this.#batchSize = positiveInteger("batchSize", options.batchSize ?? 100);
    this.#pollIntervalMs = positive("pollIntervalMs", options.pollIntervalMs ?? 1_000);
    this.#leaseMs = positive("leaseMs", options.leaseMs ?? 30_000);
    this.#minBackoffMs = positive("minBackoffMs", options.minBackoffMs ?? 100);
    this.#maxBackoffMs = positive("maxBackoffMs", options.maxBackoffMs ?? 30_000);
    if (this.#maxBackoffMs < this.#minBackoffMs) {
      throw new RangeError(
        `Cannot ${ACTION} as 'maxBackoffMs' must be at least 'minBackoffMs' (${this.#minBackoffMs}): current value is ${this.#maxBackoffMs}`,
      );
    }
    this.#publishTimeoutMs = positive("publishTimeoutMs", options.publishTimeoutMs ?? 10_000);
    if (this.#publishTimeoutMs > this.#leaseMs / 2) {
      throw new RangeError(
        `Cannot ${ACTION} as 'publishTimeoutMs' must be at most half of 'leaseMs' (${
          this.#leaseMs / 2
        }): current value is ${this.#publishTimeoutMs}`,
      );
    }
    this.#retentionMs = positive("retentionMs", options.retentionMs ?? 86_400_000, true);
    this.#purgeIntervalMs = positive("purgeIntervalMs", options.purgeIntervalMs ?? 60_000);
    const owner = options.owner ?? `relay-${crypto.randomUUID()}`;
    if (typeof owner !== "string" || owner === "") {
      throw new RangeError(
        `Cannot ${ACTION} as 'owner' must be a non-empty string: current value is ${
          JSON.stringify(owner)
        }`,
      );
    }
    this.owner = owner;
    this.#logger = options.logger?.child({ component: "outbox-relay", owner });
    const signal = options.signal;
    if (signal?.aborted) this.#stopping = true;
    else signal?.addEventListener("abort", () => this.#stop(), { once: true });
    this.closed = this.#run();
  }

  /** What the relay is doing. */
  get status(): OutboxRelayStatus {
    return {
      leader: this.#leader,
      lease: this.#lease,
      published: this.#published,
      duplicates: this.#duplicates,
      failures: this.#failures,
      lastError: this.#lastError,
      closed: this.#stopping,
    };
  }

  /**
   * Asks for a pass as soon as possible: call it after committing a
   * transaction that wrote to the outbox. Cheap, and a no-op while the relay
   * backs off after failures.
   */
  notify(): void {
    this.#nudged = true;
    if (this.#waitingFor === "poll") this.#wake?.();
  }

  /**
   * Resolves once a pass that started after this call found nothing left
   * to publish of what the outbox held when it started — every event
   * committed before the call is published (by this relay or, when it is a
   * standby, by the lease holder). Rejects when the relay stops first, or
   * with `signal`'s reason.
   */
  flush(options: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = options.signal;
    if (this.#stopping) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#flushes = this.#flushes.filter((waiter) => waiter !== entry);
        reject(signal?.reason);
      };
      const entry: FlushWaiter = {
        after: this.#passes,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      this.#flushes.push(entry);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.notify();
    });
  }

  /** Stops the relay: the batch in flight is published and marked, then the lease is given up. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop();
    await this.closed;
  }

  #stop(): void {
    this.#stopping = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    await null;
    while (!this.#stopping) {
      let delay: number;
      let waitFor: "poll" | "backoff" = "poll";
      const pass = ++this.#passes;
      try {
        const outcome = await this.#pass();
        this.#failures = 0;
        this.#lastError = undefined;
        if (outcome.drained) this.#settleFlushes(pass);
        delay = outcome.more
          ? 0
          : this.#leader
          ? Math.min(this.#pollIntervalMs, this.#leaseMs / 3)
          : this.#pollIntervalMs;
      } catch (error) {
        this.#failures++;
        this.#lastError = error instanceof Error ? error.message : String(error);
        delay = Math.min(this.#maxBackoffMs, this.#minBackoffMs * 2 ** (this.#failures - 1));
        waitFor = "backoff";
        this.#logger?.warn("outbox relay pass failed", {
          error,
          failures: this.#failures,
          retryInMs: delay,
        });
      }
      if (this.#stopping) break;
      if (delay === 0) await macrotask();
      else await this.#wait(delay, waitFor);
    }
    if (this.#leader) {
      try {
        await this.#outbox.releaseLease(this.owner);
      } catch (error) {
        this.#logger?.warn("outbox relay could not give the lease up", { error });
      }
      this.#leader = false;
    }
    const error = closedError();
    for (const waiter of this.#flushes.splice(0)) waiter.reject(error);
  }

  async #pass(): Promise<PassOutcome> {
    this.#nudged = false;
    if (!(await this.#holdLease(true))) {
      const rows = await this.#outbox.pending(1);
      return { more: false, drained: rows.length === 0 };
    }
    await this.#purgeIfDue();
    const rows = await this.#outbox.pending(this.#batchSize);
    for (const [stream, group] of groupByStream(rows)) {
      if (!(await this.#holdLease(false))) return { more: false, drained: false };
      await this.#publish(stream, group);
    }
    return { more: rows.length >= this.#batchSize, drained: rows.length < this.#batchSize };
  }

  /** Takes or renews the lease (always when `force`, else only when half of it is gone). */
  async #holdLease(force: boolean): Promise<boolean> {
    const now = this.#clock.now();
    if (
      !force && this.#leader && this.#lease !== undefined &&
      now < this.#lease.expiresAt - this.#leaseMs / 2
    ) {
      return true;
    }
    const lease = await this.#outbox.acquireLease(this.owner, now, this.#leaseMs);
    const leader = lease.owner === this.owner;
    if (leader !== this.#leader) {
      this.#logger?.info(leader ? "outbox relay took the lease" : "outbox relay lost the lease", {
        fence: lease.fence,
        holder: lease.owner,
      });
    }
    this.#lease = lease;
    this.#leader = leader;
    return leader;
  }

  async #publish(stream: string, rows: readonly OutboxRow[]): Promise<void> {
    const seqs = rows.map((row) => row.seq);
    let receipts: PublishReceipt[];
    try {
      receipts = await this.#publishWithTimeout(stream, rows);
    } catch (error) {
      try {
        await this.#outbox.markFailed(
          seqs,
          error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        );
      } catch (markError) {
        this.#logger?.warn("outbox relay could not record a failed publish", { error: markError });
      }
      throw error;
    }
    await this.#outbox.markSent(seqs, this.#clock.now());
    this.#published += rows.length;
    for (const receipt of receipts) if (receipt.duplicate) this.#duplicates++;
  }

  #publishWithTimeout(stream: string, rows: readonly OutboxRow[]): Promise<PublishReceipt[]> {
    const abort = new AbortController();
    return new Promise<PublishReceipt[]>((resolve, reject) => {
      const timer = this.#timers.setTimeout(() => {
        const error = new BusError(
          "BUS_UNAVAILABLE",
          `Cannot publish to '${stream}' as the broker did not confirm within ${this.#publishTimeoutMs} ms`,
        );
        abort.abort(error);
        reject(error);
      }, this.#publishTimeoutMs);
      let published: Promise<PublishReceipt[]>;
      try {
        published = Promise.resolve(
          this.#bus.publish(stream, rows.map((row) => row.event), { signal: abort.signal }),
        );
      } catch (error) {
        published = Promise.reject(error);
      }
      published.then(
        (receipts) => {
          this.#timers.clearTimeout(timer);
          resolve(receipts);
        },
        (error) => {
          this.#timers.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  async #purgeIfDue(): Promise<void> {
    if (this.#retentionMs === Infinity) return;
    const now = this.#clock.now();
    if (now < this.#nextPurgeAt) return;
    this.#nextPurgeAt = now + this.#purgeIntervalMs;
    try {
      let purged = 0;
      for (let round = 0; round < 10; round++) {
        const count = await this.#outbox.purgeSent(now - this.#retentionMs, 1_000);
        purged += count;
        if (count < 1_000) break;
      }
      if (purged > 0) this.#logger?.debug("outbox relay purged sent rows", { purged });
    } catch (error) {
      this.#logger?.warn("outbox relay could not purge sent rows", { error });
    }
  }

  #settleFlushes(pass: number): void {
    if (this.#flushes.length === 0) return;
    const done = this.#flushes.filter((waiter) => waiter.after < pass);
    this.#flushes = this.#flushes.filter((waiter) => waiter.after >= pass);
    for (const waiter of done) waiter.resolve();
  }

  #wait(ms: number, kind: "poll" | "backoff"): Promise<void> {
    if (kind === "poll" && this.#nudged) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.#timers.clearTimeout(timer);
        this.#wake = undefined;
        this.#waitingFor = undefined;
        resolve();
      };
      const timer = this.#timers.setTimeout(done, ms);
      this.#wake = done;
      this.#waitingFor = kind;
    });
  }
}

/** The rows grouped by stream, streams in the order of their oldest row, rows in `seq` order. */
function groupByStream(rows: readonly OutboxRow[]): Map<string, OutboxRow[]> {
  const groups = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const group = groups.get(row.stream);
    if (group === undefined) groups.set(row.stream, [row]);
    else group.push(row);
  }
  return groups;
}

function closedError(): FlotillaError {
  return new FlotillaError("OUTBOX_RELAY_CLOSED", "Cannot flush the outbox relay as it is closed", {
    kind: "FAILED_PRECONDITION",
  });
}

function isClock(value: unknown): value is Clock {
  return typeof (value as { now?: unknown }).now === "function";
}

/** Lets I/O and timers run between back-to-back passes (scheduling, not time). */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function positive(name: string, value: number, infinite = false): number {
  if (!(typeof value === "number" && value > 0 && (infinite || Number.isFinite(value)))) {
    throw new RangeError(
      `Cannot ${ACTION} as '${name}' must be a positive ${
        infinite ? "number" : "finite number"
      }: current value is ${value}`,
    );
  }
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new RangeError(
      `Cannot ${ACTION} as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
  return value;
}
