/**
 * Round robin over the endpoints eligible now.
 *
 * @module
 */

import type { Balancer, CallOutcome, Endpoint, PickContext } from "./balancer.ts";
import { NoEndpointsError } from "./errors.ts";
import { ignoreOutcome, randomIndex } from "./_common.ts";

/** Options of {@link RoundRobinBalancer}. */
export interface RoundRobinBalancerOptions {
  /**
   * Source of randomness in [0, 1), used once to choose where the rotation
   * starts. @default {Math.random}
   */
  random?: () => number;
}

/**
 * Hands out the eligible endpoints in turn. The rotation is a cursor taken
 * modulo the length of the list passed to each pick, so it keeps rotating as
 * the eligible set changes (an endpoint whose breaker opens is simply not in
 * the list) and is exactly fair over a stable set: `k × n` picks over `n`
 * endpoints give each one `k`. The first pick starts at a random position, so
 * clients started together do not all hit the first endpoint first.
 *
 * Keeps no per-endpoint state, so endpoint churn needs no care. Pick is O(1)
 * and `start()` returns a shared no-op callback.
 *
 * @example
 * ```ts
 * import { RoundRobinBalancer } from "@flotilla/balance";
 *
 * const balancer = new RoundRobinBalancer({ random: () => 0 });
 * const endpoints = [{ id: "a" }, { id: "b" }];
 * balancer.pick(endpoints).id; // "a"
 * balancer.pick(endpoints).id; // "b"
 * balancer.pick(endpoints).id; // "a"
 * ```
 */
export class RoundRobinBalancer<E extends Endpoint = Endpoint> implements Balancer<E> {
  /** The strategy's name. */
  readonly name: "round_robin" = "round_robin";
  readonly #random: () => number;
  #cursor = -1;

  /** Creates a balancer whose rotation starts at a random position. */
  constructor(options: RoundRobinBalancerOptions = {}) {
    this.#random = options.random ?? Math.random;
  }

  /**
   * Picks the next endpoint in turn.
   *
   * @throws {NoEndpointsError} when `endpoints` is empty.
   */
  pick(endpoints: readonly E[], context?: PickContext): E {
    const n = endpoints.length;
    if (n === 0) throw new NoEndpointsError({ service: context?.service });
    const i = this.#cursor < 0 ? randomIndex(this.#random, n) : this.#cursor % n;
    this.#cursor = i + 1;
    return endpoints[i]!;
  }

  /** Round robin learns nothing from calls; returns a shared no-op. */
  start(_endpoint: E): (outcome: CallOutcome) => void {
    return ignoreOutcome;
  }
}
