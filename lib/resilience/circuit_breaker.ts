/**
 * A per-endpoint circuit breaker in the manner of Resilience4j: failure and
 * slow-call rates over a sliding window (count or time based), a wait in the
 * open state, and a bounded number of probe calls in half-open — each with
 * its own timeout, so a hanging probe can never leave the breaker stuck.
 *
 * @module
 */

import { type Clock, systemClock } from "@flotilla/core";
import { BREAKER_DEFAULTS } from "./_defaults.ts";
import {
  checkNonNegative,
  checkNumber,
  checkPercent,
  checkPositive,
  checkPositiveInteger,
} from "./_check.ts";
import { CountWindow, type OutcomeWindow, TimeWindow } from "./_outcome_window.ts";
import { classifyError, type ErrorClassifier } from "./classify.ts";
import { CircuitOpenError } from "./errors.ts";

/** The states of a {@link CircuitBreaker}. */
export type CircuitState = "closed" | "open" | "half_open";

/**
 * The sliding window the failure and slow-call rates are computed over in
 * the closed state: the last `size` calls, or the calls of the last `sizeMs`
 * milliseconds counted in buckets of `bucketMs` (the window then spans
 * between `sizeMs − bucketMs` and `sizeMs` of history).
 */
export type SlidingWindow =
  | {
    /** Count-based window. */
    type: "count";
    /** Number of calls. @default {100} */
    size?: number;
  }
  | {
    /** Time-based window. */
    type: "time";
    /** Length of the window in milliseconds. @default {10_000} */
    sizeMs?: number;
    /** Length of one bucket in milliseconds. @default {1_000} */
    bucketMs?: number;
  };

/** Why a {@link CircuitBreaker} changed state. */
export type CircuitTransitionReason =
  | "failure_rate"
  | "slow_call_rate"
  | "wait_elapsed"
  | "probes_passed"
  | "reset";

/** Something that happened to a {@link CircuitBreaker}, discriminated on `type`. */
export type CircuitBreakerEvent = {
  /** The breaker changed state. */
  type: "state_change";
  /** The state it left. */
  from: CircuitState;
  /** The state it entered. */
  to: CircuitState;
  /** Why. */
  reason: CircuitTransitionReason;
  /** When, in the breaker's clock. */
  at: number;
  /** The breaker's endpoint, when it was named. */
  endpoint?: string;
};

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** The window rates are computed over in the closed state. @default {{ type: "count", size: 100 }} */
  slidingWindow?: SlidingWindow;
  /** Failure rate, in percent of the calls in the window, at or above which the breaker opens. @default {50} */
  failureRateThreshold?: number;
  /**
   * Slow-call rate, in percent, at or above which the breaker opens. 100
   * opens only when every call in the window is slow, which with the default
   * `slowCallDurationMs` amounts to off. @default {100}
   */
  slowCallRateThreshold?: number;
  /** A call lasting longer than this many milliseconds is slow. @default {60_000} */
  slowCallDurationMs?: number;
  /**
   * Calls the window must hold before rates are evaluated (at most the size
   * of a count window). @default {10}
   */
  minimumNumberOfCalls?: number;
  /** Time in the open state before the breaker lets probes through. @default {5_000} */
  waitDurationInOpenMs?: number;
  /** Probe calls let through in the half-open state. @default {3} */
  permittedCallsInHalfOpen?: number;
  /** A probe unresolved after this many milliseconds counts as a failure and frees its slot. @default {10_000} */
  halfOpenProbeTimeoutMs?: number;
  /** Decides what an error says about the endpoint. @default {classifyError} */
  classify?: ErrorClassifier;
  /** The clock the breaker measures time with. @default {systemClock} */
  clock?: Clock;
  /** The endpoint this breaker guards, reported in errors and events. */
  endpoint?: string;
}

/**
 * The permission to make one call, returned by
 * {@link CircuitBreaker.tryAcquire}. Call exactly one of its methods when
 * the call ends; later calls are ignored, and so is the completion of a
 * permit the breaker has given up on (a probe that timed out, or a call that
 * started before the breaker changed state).
 */
export interface BreakerPermit {
  /** Whether this call is one of the half-open state's probes. */
  readonly probe: boolean;
  /**
   * The call succeeded. `durationMs` decides whether it was slow.
   * @default {durationMs} the time since the permit was acquired, by the breaker's clock
   */
  onSuccess(durationMs?: number): void;
  /**
   * The call failed with `error`; the breaker's classification decides
   * whether it counts as a failure, a success (a caller's mistake) or not at
   * all (a cancellation).
   */
  onError(error: unknown, durationMs?: number): void;
  /** The call is not counted at all (e.g. it was cancelled before it was sent); frees a probe slot. */
  release(): void;
}

/** A snapshot of a {@link CircuitBreaker}'s window. */
export interface CircuitBreakerMetrics {
  /** The current state. */
  state: CircuitState;
  /** Calls in the sliding window, or probes completed in the half-open state. */
  calls: number;
  /** Failed calls among them. */
  failedCalls: number;
  /** Slow calls among them. */
  slowCalls: number;
  /** `failedCalls` in percent of `calls` (0 when there are none). */
  failureRate: number;
  /** `slowCalls` in percent of `calls` (0 when there are none). */
  slowCallRate: number;
  /** Probes running now (half-open only). */
  probesInFlight: number;
  /** Calls rejected since the breaker was created. */
  rejectedCalls: number;
}

const SUCCESS = 0;
const ERROR = 1;
const RELEASE = 2;
type Outcome = typeof SUCCESS | typeof ERROR | typeof RELEASE;

let complete: (
  breaker: CircuitBreaker,
  permit: Permit,
  outcome: Outcome,
  durationMs: number | undefined,
  error: unknown,
) => void;

class Permit implements BreakerPermit {
  readonly #breaker: CircuitBreaker;
  readonly generation: number;
  readonly startedAt: number;
  readonly probe: boolean;
  settled = false;

  constructor(breaker: CircuitBreaker, generation: number, startedAt: number, probe: boolean) {
    this.#breaker = breaker;
    this.generation = generation;
    this.startedAt = startedAt;
    this.probe = probe;
  }

  onSuccess(durationMs?: number): void {
    complete(this.#breaker, this, SUCCESS, durationMs, undefined);
  }

  onError(error: unknown, durationMs?: number): void {
    complete(this.#breaker, this, ERROR, durationMs, error);
  }

  release(): void {
    complete(this.#breaker, this, RELEASE, undefined, undefined);
  }
}

const ACTION = "create the circuit breaker";

/**
 * A circuit breaker for one endpoint.
 *
 * - **closed**: every call is let through; outcomes go into the sliding
 *   window. Once the window holds `minimumNumberOfCalls`, a failure rate at
 *   or above `failureRateThreshold` (or a slow-call rate at or above
 *   `slowCallRateThreshold`) opens the breaker.
 * - **open**: every call is rejected until `waitDurationInOpenMs` has
 *   passed; the first {@link CircuitBreaker.tryAcquire} after that moves
 *   the breaker to half-open (lazily — no timer).
 * - **half_open**: exactly `permittedCallsInHalfOpen` probes are let
 *   through, every other call is rejected. A released probe frees its slot
 *   for another; a probe unresolved after `halfOpenProbeTimeoutMs` counts as
 *   a failed probe (its late completion is ignored). The rates are those of
 *   the probes, as in Resilience4j, over exactly `permittedCallsInHalfOpen`
 *   probes: the breaker reopens as soon as the failed (or slow) probes alone
 *   reach the threshold — with the defaults, 2 failures out of 3 — and
 *   closes, with an empty window, once every probe has completed below it.
 *
 * Every transition is driven by the injected clock and checked lazily when
 * the breaker is used; each call costs O(1).
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@flotilla/resilience";
 *
 * const breaker = new CircuitBreaker({ endpoint: "inventory-1" });
 * const permit = breaker.tryAcquire();
 * if (permit === undefined) {
 *   // rejected: try another endpoint, or throw a CircuitOpenError
 * } else {
 *   const started = performance.now();
 *   try {
 *     await fetch("http://127.0.0.1:7102/rpc/getProducts", { method: "POST" });
 *     permit.onSuccess(performance.now() - started);
 *   } catch (error) {
 *     permit.onError(error, performance.now() - started);
 *   }
 * }
 * ```
 */
export class CircuitBreaker {
  readonly #window: OutcomeWindow;
  readonly #minimumNumberOfCalls: number;
  readonly #failureRateThreshold: number;
  readonly #slowCallRateThreshold: number;
  readonly #slowCallDurationMs: number;
  readonly #waitDurationInOpenMs: number;
  readonly #permittedCallsInHalfOpen: number;
  readonly #halfOpenProbeTimeoutMs: number;
  readonly #classify: ErrorClassifier;
  readonly #clock: Clock;
  readonly #endpoint: string | undefined;
  #state: CircuitState = "closed";
  #generation = 0;
  #openedAt = 0;
  #probes: Permit[] = [];
  #probeCalls = 0;
  #probeFailures = 0;
  #probeSlowCalls = 0;
  #rejectedCalls = 0;
  #listeners: Array<(event: CircuitBreakerEvent) => void> = [];

  static {
    complete = (breaker, permit, outcome, durationMs, error) =>
      breaker.#complete(permit, outcome, durationMs, error);
  }

  /**
   * Creates a closed breaker.
   *
   * @throws {RangeError} when an option is out of range.
   */
  constructor(options: CircuitBreakerOptions = {}) {
    const d = BREAKER_DEFAULTS;
    const window = options.slidingWindow ?? { type: "count" };
    if (window.type === "count") {
      const size = checkPositiveInteger(
        ACTION,
        "slidingWindow.size",
        window.size ?? d.countWindowSize,
      );
      this.#window = new CountWindow(size);
      this.#minimumNumberOfCalls = Math.min(
        size,
        checkPositiveInteger(
          ACTION,
          "minimumNumberOfCalls",
          options.minimumNumberOfCalls ?? d.minimumNumberOfCalls,
        ),
      );
    } else if (window.type === "time") {
      const sizeMs = checkPositive(
        ACTION,
        "slidingWindow.sizeMs",
        window.sizeMs ?? d.timeWindowSizeMs,
      );
      const bucketMs = checkNumber(
        ACTION,
        "slidingWindow.bucketMs",
        window.bucketMs ?? Math.min(d.timeWindowBucketMs, sizeMs),
        (v) => v > 0 && v <= sizeMs && sizeMs / v <= 10_000,
        "a number in (0, 'sizeMs'] that splits the window in at most 10 000 buckets",
      );
      this.#window = new TimeWindow(sizeMs, bucketMs);
      this.#minimumNumberOfCalls = checkPositiveInteger(
        ACTION,
        "minimumNumberOfCalls",
        options.minimumNumberOfCalls ?? d.minimumNumberOfCalls,
      );
    } else {
      throw new RangeError(
        `Cannot ${ACTION} as 'slidingWindow.type' must be "count" or "time": current value is ${
          String((window as { type: unknown }).type)
        }`,
      );
    }
    this.#failureRateThreshold = checkPercent(
      ACTION,
      "failureRateThreshold",
      options.failureRateThreshold ?? d.failureRateThreshold,
    );
    this.#slowCallRateThreshold = checkPercent(
      ACTION,
      "slowCallRateThreshold",
      options.slowCallRateThreshold ?? d.slowCallRateThreshold,
    );
    this.#slowCallDurationMs = checkNumber(
      ACTION,
      "slowCallDurationMs",
      options.slowCallDurationMs ?? d.slowCallDurationMs,
      (v) => v >= 0,
      "a number >= 0",
    );
    this.#waitDurationInOpenMs = checkNonNegative(
      ACTION,
      "waitDurationInOpenMs",
      options.waitDurationInOpenMs ?? d.waitDurationInOpenMs,
    );
    this.#permittedCallsInHalfOpen = checkPositiveInteger(
      ACTION,
      "permittedCallsInHalfOpen",
      options.permittedCallsInHalfOpen ?? d.permittedCallsInHalfOpen,
    );
    this.#halfOpenProbeTimeoutMs = checkPositive(
      ACTION,
      "halfOpenProbeTimeoutMs",
      options.halfOpenProbeTimeoutMs ?? d.halfOpenProbeTimeoutMs,
    );
    this.#classify = options.classify ?? classifyError;
    this.#clock = options.clock ?? systemClock;
    this.#endpoint = options.endpoint;
  }

  /** The endpoint this breaker guards, if it was named. */
  get endpoint(): string | undefined {
    return this.#endpoint;
  }

  /** The current state, after applying any transition that is due by the clock. */
  get state(): CircuitState {
    if (this.#state !== "closed") this.#refresh(this.#clock.now());
    return this.#state;
  }

  /**
   * Asks to make one call, without waiting: a permit, or `undefined` when
   * the breaker rejects the call (open, or half-open with every probe slot
   * taken).
   *
   * @example
   * ```ts
   * import { CircuitBreaker } from "@flotilla/resilience";
   *
   * const breaker = new CircuitBreaker();
   * const permit = breaker.tryAcquire();
   * permit?.onSuccess(12);
   * ```
   */
  tryAcquire(): BreakerPermit | undefined {
    const now = this.#clock.now();
    if (this.#state === "closed") return new Permit(this, this.#generation, now, false);
    const state = this.#refreshed(now);
    if (state === "closed") return new Permit(this, this.#generation, now, false);
    if (state === "half_open" && this.#hasFreeProbeSlot()) {
      const probe = new Permit(this, this.#generation, now, true);
      this.#probes.push(probe);
      return probe;
    }
    this.#rejectedCalls++;
    return undefined;
  }

  /**
   * Like {@link CircuitBreaker.tryAcquire}, but throws when the call is
   * rejected.
   *
   * @throws {CircuitOpenError} when the breaker rejects the call.
   */
  acquire(): BreakerPermit {
    const permit = this.tryAcquire();
    if (permit !== undefined) return permit;
    throw this.#rejection();
  }

  /**
   * Whether {@link CircuitBreaker.tryAcquire} would let a call through now,
   * without taking a permit: the test to filter endpoints with before a
   * load balancer picks one (checking `state !== "open"` instead would never
   * move an idle open breaker to half-open, nor skip a half-open one whose
   * probe slots are all taken).
   */
  isCallPermitted(): boolean {
    if (this.#state === "closed") return true;
    const state = this.#refreshed(this.#clock.now());
    return state === "closed" || (state === "half_open" && this.#hasFreeProbeSlot());
  }

  /**
   * Runs `fn` under a permit, counting its outcome with the time it took by
   * the breaker's clock.
   *
   * @throws {CircuitOpenError} when the breaker rejects the call.
   *
   * @example
   * ```ts
   * import { CircuitBreaker } from "@flotilla/resilience";
   *
   * const breaker = new CircuitBreaker();
   * const answer = await breaker.execute(() => Promise.resolve(42));
   * ```
   */
  async execute<T>(fn: () => T | Promise<T>): Promise<T> {
    const permit = this.acquire();
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      permit.onError(error);
      throw error;
    }
    permit.onSuccess();
    return result;
  }

  /**
   * How long, in milliseconds, until the breaker may let a call through: 0
   * when it would now; the rest of the wait when open; when half-open with
   * every slot taken, the time until the oldest probe times out.
   */
  retryAfterMs(): number {
    const now = this.#clock.now();
    if (this.#state !== "closed") this.#refresh(now);
    switch (this.#state) {
      case "closed":
        return 0;
      case "open":
        return Math.max(0, this.#openedAt + this.#waitDurationInOpenMs - now);
      case "half_open": {
        if (this.#hasFreeProbeSlot()) return 0;
        let soonest = Infinity;
        for (const probe of this.#probes) {
          soonest = Math.min(soonest, probe.startedAt + this.#halfOpenProbeTimeoutMs - now);
        }
        return soonest === Infinity ? 0 : Math.max(0, soonest);
      }
    }
  }

  /** A snapshot of the window (or of the probes, when half-open). */
  metrics(): CircuitBreakerMetrics {
    const now = this.#clock.now();
    if (this.#state !== "closed") this.#refresh(now);
    let calls: number, failedCalls: number, slowCalls: number;
    if (this.#state === "half_open") {
      calls = this.#probeCalls;
      failedCalls = this.#probeFailures;
      slowCalls = this.#probeSlowCalls;
    } else {
      this.#window.roll(now);
      calls = this.#window.calls;
      failedCalls = this.#window.failures;
      slowCalls = this.#window.slowCalls;
    }
    return {
      state: this.#state,
      calls,
      failedCalls,
      slowCalls,
      failureRate: calls === 0 ? 0 : (failedCalls * 100) / calls,
      slowCallRate: calls === 0 ? 0 : (slowCalls * 100) / calls,
      probesInFlight: this.#state === "half_open" ? this.#probes.length : 0,
      rejectedCalls: this.#rejectedCalls,
    };
  }

  /**
   * Calls `listener` on every state change; returns a function that stops
   * it. Listeners run synchronously after the change and must not throw
   * (what they throw is swallowed, so that it never fails a call).
   *
   * @example
   * ```ts
   * import { CircuitBreaker } from "@flotilla/resilience";
   *
   * const breaker = new CircuitBreaker({ endpoint: "inventory-1" });
   * const stop = breaker.onStateChange((event) => {
   *   console.log(`${event.endpoint}: ${event.from} -> ${event.to} (${event.reason})`);
   * });
   * stop();
   * ```
   */
  onStateChange(listener: (event: CircuitBreakerEvent) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Closes the breaker and forgets the window; permits taken before are ignored. */
  reset(): void {
    if (this.#state === "closed") {
      this.#window.reset();
      this.#generation++;
    } else {
      this.#transition("closed", this.#clock.now(), "reset");
    }
  }

  #hasFreeProbeSlot(): boolean {
    return this.#probes.length + this.#probeCalls < this.#permittedCallsInHalfOpen;
  }

  #rejection(): CircuitOpenError {
    const retryAfterMs = this.retryAfterMs();
    return this.#endpoint === undefined
      ? new CircuitOpenError(retryAfterMs)
      : new CircuitOpenError(retryAfterMs, { endpoint: this.#endpoint });
  }

  #refreshed(now: number): CircuitState {
    this.#refresh(now);
    return this.#state;
  }

  /** Applies the transitions that are due at `now` (open → half-open, probe timeouts). */
  #refresh(now: number): void {
    if (this.#state === "open") {
      if (now - this.#openedAt < this.#waitDurationInOpenMs) return;
      this.#transition("half_open", now, "wait_elapsed");
    }
    if (this.#state !== "half_open" || this.#probes.length === 0) return;
    let timedOut = 0;
    const probes = this.#probes;
    let kept = 0;
    for (let i = 0; i < probes.length; i++) {
      const probe = probes[i]!;
      if (now - probe.startedAt >= this.#halfOpenProbeTimeoutMs) {
        probe.settled = true;
        timedOut++;
      } else {
        probes[kept++] = probe;
      }
    }
    if (timedOut === 0) return;
    probes.length = kept;
    this.#probeCalls += timedOut;
    this.#probeFailures += timedOut;
    if (this.#halfOpenProbeTimeoutMs > this.#slowCallDurationMs) this.#probeSlowCalls += timedOut;
    this.#evaluateProbes(now);
  }

  #complete(
    permit: Permit,
    outcome: Outcome,
    durationMs: number | undefined,
    error: unknown,
  ): void {
    if (permit.settled) return;
    const now = this.#clock.now();
    if (this.#state !== "closed") this.#refresh(now);
    if (permit.settled || permit.generation !== this.#generation) {
      permit.settled = true;
      return;
    }
    let failed = false;
    if (outcome === ERROR) {
      const verdict = this.#classify(error);
      if (verdict === "ignore") outcome = RELEASE;
      failed = verdict === "failure";
    }
    permit.settled = true;
    const slow = outcome !== RELEASE &&
      (durationMs ?? now - permit.startedAt) > this.#slowCallDurationMs;
    if (permit.probe) {
      const index = this.#probes.indexOf(permit);
      if (index >= 0) this.#probes.splice(index, 1);
      if (outcome === RELEASE) return;
      this.#probeCalls++;
      if (failed) this.#probeFailures++;
      if (slow) this.#probeSlowCalls++;
      this.#evaluateProbes(now);
      return;
    }
    if (outcome === RELEASE) return;
    this.#window.record(now, failed, slow);
    const calls = this.#window.calls;
    if (calls < this.#minimumNumberOfCalls) return;
    if (this.#window.failures * 100 >= this.#failureRateThreshold * calls) {
      this.#transition("open", now, "failure_rate");
    } else if (this.#window.slowCalls * 100 >= this.#slowCallRateThreshold * calls) {
      this.#transition("open", now, "slow_call_rate");
    }
  }

  /**
   * Decides the half-open state over exactly `permittedCallsInHalfOpen`
   * probes: reopens as soon as the failed (or slow) probes alone reach the
   * threshold — whatever the probes still running do, the rate could not
   * fall back under it — and closes once every probe has completed.
   */
  #evaluateProbes(now: number): void {
    const permitted = this.#permittedCallsInHalfOpen;
    if (this.#probeFailures * 100 >= this.#failureRateThreshold * permitted) {
      this.#transition("open", now, "failure_rate");
    } else if (this.#probeSlowCalls * 100 >= this.#slowCallRateThreshold * permitted) {
      this.#transition("open", now, "slow_call_rate");
    } else if (this.#probeCalls >= permitted) {
      this.#transition("closed", now, "probes_passed");
    }
  }

  #transition(to: CircuitState, now: number, reason: CircuitTransitionReason): void {
    const from = this.#state;
    this.#state = to;
    this.#generation++;
    for (const probe of this.#probes) probe.settled = true;
    this.#probes = [];
    this.#probeCalls = 0;
    this.#probeFailures = 0;
    this.#probeSlowCalls = 0;
    if (to === "open") this.#openedAt = now;
    if (to === "closed") this.#window.reset();
    const listeners = this.#listeners;
    if (listeners.length === 0) return;
    const event: CircuitBreakerEvent = this.#endpoint === undefined
      ? { type: "state_change", from, to, reason, at: now }
      : { type: "state_change", from, to, reason, at: now, endpoint: this.#endpoint };
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A listener must not fail the call that triggered the transition.
      }
    }
  }
}
