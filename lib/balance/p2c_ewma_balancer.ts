/**
 * Power of two random choices over a peak-EWMA latency cost: the default
 * strategy.
 *
 * @module
 */

import { type Clock, systemClock } from "@flotilla/core";
import type { Balancer, CallOutcome, Endpoint, PickContext } from "./balancer.ts";
import { NoEndpointsError } from "./errors.ts";
import { checkOption, randomIndex } from "./_common.ts";

/** Options of {@link P2cEwmaBalancer}. */
export interface P2cEwmaBalancerOptions {
  /** Source of time for the decay of latency estimates. @default {systemClock} */
  clock?: Clock;
  /** Source of randomness in [0, 1), to sample the two candidates. @default {Math.random} */
  random?: () => number;
  /**
   * Time constant of the latency EWMA, in milliseconds: a sample `t` ms old
   * weighs `e^(−t/decayMs)` of a fresh one. Larger is smoother and slower to
   * forgive a latency spike. @default {10_000}
   */
  decayMs?: number;
  /**
   * A failed call counts as a call that took at least this long, so an
   * endpoint that fails fast does not look fast. Off by default, as in
   * Finagle, Linkerd and Envoy: failing endpoints are the business of the
   * circuit breaker and outlier ejection, which let a recovered instance back
   * at once — a latency penalty would keep starving it for tens of seconds.
   * @default {0}
   */
  failurePenaltyMs?: number;
  /**
   * An endpoint with no call in flight and none completed for this long is
   * forgotten (its estimate has decayed away by then anyway); it comes back
   * as a new endpoint. `Infinity` keeps every endpoint. @default {60_000}
   */
  forgetAfterMs?: number;
}

/** Cost of an endpoint that has a call in flight but no latency measured yet. */
const UNMEASURED_BUSY_COST = 1e12;
/** Floor of the latency in the cost, so that in-flight calls count even at ~0 ms. */
const MIN_LATENCY_MS = 1e-3;

interface Stats {
  /** Peak-EWMA latency as of `updatedAt`. */
  latencyMs: number;
  /** Clock time of the last completed call. */
  updatedAt: number;
  /** Whether any call has completed, i.e. `latencyMs` means something. */
  measured: boolean;
  /** Calls started and not yet completed. */
  outstanding: number;
}

/**
 * Power of two random choices (P2C) over a "peak EWMA" cost, as Finagle and
 * Linkerd balance: each pick samples two distinct eligible endpoints and
 * takes the cheaper, where
 *
 * ```text
 * cost = latencyEwma × (outstanding + 1)
 * ```
 *
 * `latencyEwma` is a time-decayed moving average of observed latencies that
 * jumps straight up to any higher sample ("peak": a slowing endpoint is
 * avoided at once) and comes down smoothly with time constant `decayMs`.
 * Between samples it decays towards zero, so an endpoint that lost traffic
 * because it was slow is probed again once its spike is old. With
 * `failurePenaltyMs`, failures count as calls of at least that long.
 *
 * A new endpoint costs 0, so it gets traffic at once, but while its first
 * call is in flight it costs more than any measured endpoint, so a cold
 * instance is not flooded before its latency is known.
 *
 * Per pick: two random draws, one clock read, two map lookups, no
 * allocation. Endpoint churn: state lives in a map keyed by `id`, created by
 * `start()`; an endpoint with no call in flight and none completed for
 * `forgetAfterMs` is dropped by a sweep that runs at most once per
 * `forgetAfterMs`, on a call's completion.
 *
 * @example
 * ```ts
 * import { P2cEwmaBalancer } from "@flotilla/balance";
 *
 * const balancer = new P2cEwmaBalancer();
 * const endpoints = [{ id: "a" }, { id: "b" }, { id: "c" }];
 * const endpoint = balancer.pick(endpoints);
 * const done = balancer.start(endpoint);
 * // … send the call …
 * done({ latencyMs: 12, ok: true });
 * ```
 */
export class P2cEwmaBalancer<E extends Endpoint = Endpoint> implements Balancer<E> {
  /** The strategy's name. */
  readonly name: "p2c_ewma" = "p2c_ewma";
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #decayMs: number;
  readonly #failurePenaltyMs: number;
  readonly #forgetAfterMs: number;
  readonly #stats = new Map<string, Stats>();
  #nextSweepAt: number;

  /**
   * Creates a balancer that knows no endpoint yet.
   *
   * @throws {RangeError} when an option is out of range.
   */
  constructor(options: P2cEwmaBalancerOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#decayMs = checkOption(
      "p2c_ewma balancer",
      "decayMs",
      options.decayMs ?? 10_000,
      (v) => v > 0 && Number.isFinite(v),
      "a positive number",
    );
    this.#failurePenaltyMs = checkOption(
      "p2c_ewma balancer",
      "failurePenaltyMs",
      options.failurePenaltyMs ?? 0,
      (v) => v >= 0 && Number.isFinite(v),
      "a number >= 0",
    );
    this.#forgetAfterMs = checkOption(
      "p2c_ewma balancer",
      "forgetAfterMs",
      options.forgetAfterMs ?? 60_000,
      (v) => v > 0,
      "a positive number or Infinity",
    );
    this.#nextSweepAt = this.#clock.now() + this.#forgetAfterMs;
  }

  /**
   * Samples two distinct endpoints and picks the one with the lower cost
   * (the first sampled on a tie).
   *
   * @throws {NoEndpointsError} when `endpoints` is empty.
   */
  pick(endpoints: readonly E[], context?: PickContext): E {
    const n = endpoints.length;
    if (n < 2) {
      if (n === 1) return endpoints[0]!;
      throw new NoEndpointsError({ service: context?.service });
    }
    const i = randomIndex(this.#random, n);
    let j = randomIndex(this.#random, n - 1);
    if (j >= i) j++;
    const first = endpoints[i]!;
    const second = endpoints[j]!;
    const now = this.#clock.now();
    return this.#costAt(second.id, now) < this.#costAt(first.id, now) ? second : first;
  }

  /**
   * Counts a call to `endpoint` as in flight; the returned callback records
   * its latency and outcome. Call it exactly once; later calls are ignored.
   */
  start(endpoint: E): (outcome: CallOutcome) => void {
    let stats = this.#stats.get(endpoint.id);
    if (stats === undefined) {
      stats = { latencyMs: 0, updatedAt: 0, measured: false, outstanding: 0 };
      this.#stats.set(endpoint.id, stats);
    }
    stats.outstanding++;
    let pending = true;
    const target = stats;
    return (outcome) => {
      if (!pending) return;
      pending = false;
      target.outstanding--;
      this.#observe(target, outcome);
    };
  }

  /**
   * The current cost of `endpoint`: its decayed latency estimate in
   * milliseconds times its calls in flight plus one. 0 for an endpoint
   * never called (or forgotten).
   */
  cost(endpoint: E): number {
    return this.#costAt(endpoint.id, this.#clock.now());
  }

  /** The calls to `endpoint` in flight now. */
  outstanding(endpoint: E): number {
    return this.#stats.get(endpoint.id)?.outstanding ?? 0;
  }

  /** Drops the latency estimate of endpoint `id` (calls in flight still complete harmlessly). */
  forget(id: string): void {
    this.#stats.delete(id);
  }

  /** How many endpoints the balancer holds state for. */
  get trackedEndpoints(): number {
    return this.#stats.size;
  }

  #costAt(id: string, now: number): number {
    const stats = this.#stats.get(id);
    if (stats === undefined) return 0;
    if (!stats.measured) {
      return stats.outstanding === 0 ? 0 : UNMEASURED_BUSY_COST + stats.outstanding;
    }
    const elapsed = now - stats.updatedAt;
    const latency = elapsed > 0
      ? stats.latencyMs * Math.exp(-elapsed / this.#decayMs)
      : stats.latencyMs;
    return (latency > MIN_LATENCY_MS ? latency : MIN_LATENCY_MS) * (stats.outstanding + 1);
  }

  #observe(stats: Stats, outcome: CallOutcome): void {
    const now = this.#clock.now();
    let sample = Number.isFinite(outcome.latencyMs) && outcome.latencyMs > 0
      ? outcome.latencyMs
      : 0;
    if (!outcome.ok && sample < this.#failurePenaltyMs) sample = this.#failurePenaltyMs;
    if (!stats.measured) {
      stats.latencyMs = sample;
      stats.measured = true;
    } else {
      const elapsed = now - stats.updatedAt;
      const weight = elapsed > 0 ? Math.exp(-elapsed / this.#decayMs) : 1;
      const decayed = stats.latencyMs * weight;
      stats.latencyMs = sample > decayed ? sample : decayed + sample * (1 - weight);
    }
    if (now > stats.updatedAt) stats.updatedAt = now;
    if (now >= this.#nextSweepAt) this.#sweep(now);
  }

  #sweep(now: number): void {
    this.#nextSweepAt = now + this.#forgetAfterMs;
    for (const [id, stats] of this.#stats) {
      if (stats.outstanding === 0 && now - stats.updatedAt >= this.#forgetAfterMs) {
        this.#stats.delete(id);
      }
    }
  }
}
