/**
 * Resumes orders left `PENDING` — by a crash, or by a peer that failed while
 * no caller retried — in the background.
 *
 * @module
 */

import { type Clock, createContext, type Logger, systemClock } from "@flotilla/core";
import type { OrderSaga } from "./order_saga.ts";
import type { OrderViews } from "./ports.ts";

/** What an {@link OrderRecovery} needs. */
export interface OrderRecoveryDeps {
  /** The orders projection, where pending orders are found. */
  views: OrderViews;
  /** Drives each pending order (shared with the request path, so drives never overlap). */
  saga: OrderSaga;
  /** Where outcomes are logged. */
  logger: Logger;
  /** The clock for ages. @default {systemClock} */
  clock?: Clock;
}

/** Options of {@link OrderRecovery.resumePending}. */
export interface ResumeOptions {
  /** Skip orders that changed less than this many ms ago. @default {0} */
  minAgeMs?: number;
}

/** What one pass of {@link OrderRecovery.resumePending} did. */
export interface ResumeSummary {
  /** Pending orders found old enough to resume. */
  found: number;
  /** Of those, now confirmed. */
  confirmed: number;
  /** Of those, now cancelled. */
  cancelled: number;
  /** Of those, still pending because a drive failed. */
  failed: number;
}

/** Options of {@link OrderRecovery.start}. */
export interface RecoveryOptions {
  /** Time between passes after the first, in ms. @default {30_000} */
  intervalMs?: number;
  /** Orders younger than this are left to their caller, in ms (not applied to the first pass). @default {10_000} */
  minAgeMs?: number;
}

/**
 * Re-drives pending orders one by one, each in its own context (own trace),
 * and logs each outcome. {@link start} runs a first pass at once, then one
 * pass per interval; {@link stop} ends the passes and aborts a running one.
 *
 * @example
 * ```ts
 * const recovery = new OrderRecovery({ views, saga, logger });
 * recovery.start();          // at startup: every PENDING order, then every 30 s
 * await recovery.stop();     // on shutdown, before the store closes
 * ```
 */
export class OrderRecovery {
  readonly #views: OrderViews;
  readonly #saga: OrderSaga;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #abort = new AbortController();
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<unknown> | undefined;

  /** Creates a recovery that does nothing until asked. */
  constructor(deps: OrderRecoveryDeps) {
    this.#views = deps.views;
    this.#saga = deps.saga;
    this.#logger = deps.logger;
    this.#clock = deps.clock ?? systemClock;
  }

  /** Drives every pending order old enough; resolves once each drive has settled. */
  async resumePending(options: ResumeOptions = {}): Promise<ResumeSummary> {
    const minAgeMs = options.minAgeMs ?? 0;
    const cutoff = new Date(this.#clock.now() - minAgeMs).toISOString();
    const pending = this.#views.listPending().filter((order) =>
      minAgeMs === 0 || order.updatedAt <= cutoff
    );
    const summary: ResumeSummary = { found: pending.length, confirmed: 0, cancelled: 0, failed: 0 };
    try {
      // Checkouts whose order is no longer listed as pending (a compensation cut short) and
      // undecided TCC transactions; the pending orders below resume their own checkouts.
      await this.#saga.resume();
    } catch (error) {
      this.#logger.warn("could not resume checkouts; will retry", { error });
    }
    if (pending.length > 0) this.#logger.info("resuming pending orders", { count: pending.length });
    for (const { orderId } of pending) {
      if (this.#abort.signal.aborted) {
        summary.failed++;
        continue;
      }
      using ctx = createContext({
        service: "order",
        action: "resumePending",
        logger: this.#logger,
        signal: this.#abort.signal,
        clock: this.#clock,
      });
      try {
        const order = await this.#saga.drive(orderId, ctx);
        if (order.status === "CONFIRMED") summary.confirmed++;
        else if (order.status === "CANCELLED") summary.cancelled++;
        else summary.failed++;
        ctx.logger.info("resumed order", { orderId, status: order.status, reason: order.reason });
      } catch (error) {
        summary.failed++;
        ctx.logger.warn("could not resume order; will retry", { orderId, error });
      }
    }
    return summary;
  }

  /** Runs a pass now over every pending order, then one per interval. Idempotent. */
  start(options: RecoveryOptions = {}): void {
    if (this.#timer !== undefined || this.#abort.signal.aborted) return;
    const intervalMs = options.intervalMs ?? 30_000;
    const minAgeMs = options.minAgeMs ?? 10_000;
    if (!(Number.isFinite(intervalMs) && intervalMs > 0)) {
      throw new RangeError(
        `Cannot start the recovery as 'intervalMs' must be a positive number: current value is ${intervalMs}`,
      );
    }
    this.#pass(0);
    this.#timer = setInterval(() => this.#pass(minAgeMs), intervalMs);
  }

  /** Stops the passes, aborts the running one and waits for it to settle. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#running;
  }

  #pass(minAgeMs: number): void {
    if (this.#running || this.#abort.signal.aborted) return;
    this.#running = this.resumePending({ minAgeMs })
      .catch((error) => this.#logger.error("order recovery failed", { error }))
      .finally(() => this.#running = undefined);
  }
}
