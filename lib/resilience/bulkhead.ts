/**
 * A bulkhead: a bound on the calls in flight to one endpoint, with an
 * optional bounded FIFO queue, so that one slow endpoint cannot take every
 * connection and every pending promise of the caller.
 *
 * @module
 */

import { BULKHEAD_DEFAULTS } from "./_defaults.ts";
import { checkNonNegativeInteger, checkNumber, checkPositiveInteger } from "./_check.ts";
import { BulkheadFullError, type BulkheadRejection } from "./errors.ts";
import { systemTimers, type Timers } from "./timers.ts";

/** Options of {@link Bulkhead}. */
export interface BulkheadOptions {
  /** Calls allowed in flight at once. @default {64} */
  maxConcurrent?: number;
  /** Calls allowed to wait for a slot; 0 rejects at once when every slot is busy. @default {0} */
  maxQueue?: number;
  /** Longest wait in the queue, in milliseconds (`Infinity` for no limit). @default {1_000} */
  maxWaitMs?: number;
  /** The timers of the queue's wait limit. @default {systemTimers} */
  timers?: Timers;
  /** A name for errors, e.g. the endpoint the bulkhead guards. */
  name?: string;
}

/** Gives a slot back. Calling it again does nothing. */
export type Release = () => void;

interface Waiter {
  queued: boolean;
  prev: Waiter | undefined;
  next: Waiter | undefined;
  resolve: (release: Release) => void;
  reject: (error: unknown) => void;
  timer: number | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const ACTION = "create the bulkhead";

/**
 * Lets at most `maxConcurrent` calls run at once; up to `maxQueue` more wait
 * in FIFO order, each at most `maxWaitMs`. A slot that frees up goes straight
 * to the oldest waiter, so nobody jumps the queue. A waiter whose signal
 * aborts leaves the queue at once. O(1) per call.
 *
 * @example
 * ```ts
 * import { Bulkhead } from "@flotilla/resilience";
 *
 * const bulkhead = new Bulkhead({ maxConcurrent: 8, maxQueue: 16, maxWaitMs: 200 });
 * const release = await bulkhead.acquire();
 * try {
 *   await fetch("http://127.0.0.1:7102/health");
 * } finally {
 *   release();
 * }
 * ```
 */
export class Bulkhead implements AsyncDisposable {
  readonly #maxConcurrent: number;
  readonly #maxQueue: number;
  readonly #maxWaitMs: number;
  readonly #timers: Timers;
  readonly #name: string | undefined;
  #inFlight = 0;
  #queued = 0;
  #head: Waiter | undefined;
  #tail: Waiter | undefined;
  #disposed = false;

  /**
   * Creates an empty bulkhead.
   *
   * @throws {RangeError} when an option is out of range.
   */
  constructor(options: BulkheadOptions = {}) {
    const d = BULKHEAD_DEFAULTS;
    this.#maxConcurrent = checkPositiveInteger(
      ACTION,
      "maxConcurrent",
      options.maxConcurrent ?? d.maxConcurrent,
    );
    this.#maxQueue = checkNonNegativeInteger(ACTION, "maxQueue", options.maxQueue ?? d.maxQueue);
    this.#maxWaitMs = checkNumber(
      ACTION,
      "maxWaitMs",
      options.maxWaitMs ?? d.maxWaitMs,
      (v) => v >= 0,
      "a number >= 0",
    );
    this.#timers = options.timers ?? systemTimers;
    this.#name = options.name;
  }

  /** Calls in flight now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Calls waiting for a slot now. */
  get queued(): number {
    return this.#queued;
  }

  /** Takes a slot if one is free now, without queueing; `undefined` otherwise. */
  tryAcquire(): Release | undefined {
    if (this.#disposed || this.#inFlight >= this.#maxConcurrent) return undefined;
    this.#inFlight++;
    return this.#releaser();
  }

  /**
   * Takes a slot, waiting in the queue when every slot is busy.
   *
   * @throws {BulkheadFullError} when the queue is full, the wait times out or the bulkhead is disposed.
   * @throws the signal's reason when `signal` aborts first.
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const release = this.tryAcquire();
    if (release !== undefined) return Promise.resolve(release);
    if (this.#disposed) return Promise.reject(this.#error("disposed"));
    if (this.#queued >= this.#maxQueue) return Promise.reject(this.#error("full"));
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        queued: true,
        prev: this.#tail,
        next: undefined,
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      if (this.#tail === undefined) this.#head = waiter;
      else this.#tail.next = waiter;
      this.#tail = waiter;
      this.#queued++;
      if (Number.isFinite(this.#maxWaitMs)) {
        waiter.timer = this.#timers.setTimeout(() => {
          waiter.timer = undefined;
          this.#dequeue(waiter);
          reject(this.#error("wait_timeout"));
        }, this.#maxWaitMs);
      }
      if (signal !== undefined) {
        waiter.onAbort = () => {
          this.#dequeue(waiter);
          reject(signal.reason);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
    });
  }

  /**
   * Runs `fn` in a slot, waiting for one as {@link Bulkhead.acquire} does.
   *
   * @example
   * ```ts
   * import { Bulkhead } from "@flotilla/resilience";
   *
   * const bulkhead = new Bulkhead({ maxConcurrent: 2 });
   * const answer = await bulkhead.execute(() => Promise.resolve(42));
   * ```
   */
  async execute<T>(fn: () => T | Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Rejects every waiter and every later acquisition; calls in flight finish normally. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    while (this.#head !== undefined) {
      const waiter = this.#head;
      this.#dequeue(waiter);
      waiter.reject(this.#error("disposed"));
    }
    return Promise.resolve();
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release();
    };
  }

  #release(): void {
    const waiter = this.#head;
    if (waiter === undefined) {
      this.#inFlight--;
      return;
    }
    // Hand the slot straight to the oldest waiter: in-flight stays the same.
    this.#dequeue(waiter);
    waiter.resolve(this.#releaser());
  }

  #dequeue(waiter: Waiter): void {
    if (!waiter.queued) return;
    waiter.queued = false;
    if (waiter.timer !== undefined) {
      this.#timers.clearTimeout(waiter.timer);
      waiter.timer = undefined;
    }
    if (waiter.onAbort !== undefined) {
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.onAbort = undefined;
    }
    if (waiter.prev === undefined) this.#head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) this.#tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    this.#queued--;
  }

  #error(reason: BulkheadRejection): BulkheadFullError {
    return new BulkheadFullError(
      this.#name === undefined
        ? { reason, maxConcurrent: this.#maxConcurrent, maxQueue: this.#maxQueue }
        : {
          name: this.#name,
          reason,
          maxConcurrent: this.#maxConcurrent,
          maxQueue: this.#maxQueue,
        },
    );
  }
}
