/**
 * Uniformly random choice among the endpoints eligible now.
 *
 * @module
 */

import type { Balancer, CallOutcome, Endpoint, PickContext } from "./balancer.ts";
import { NoEndpointsError } from "./errors.ts";
import { ignoreOutcome, randomIndex } from "./_common.ts";

/** Options of {@link RandomBalancer}. */
export interface RandomBalancerOptions {
  /** Source of randomness in [0, 1). @default {Math.random} */
  random?: () => number;
}

/**
 * Picks an eligible endpoint uniformly at random. Stateless: O(1) per pick,
 * nothing to forget when endpoints come and go, and many clients never
 * synchronise on the same endpoint.
 *
 * @example
 * ```ts
 * import { RandomBalancer } from "@flotilla/balance";
 *
 * const balancer = new RandomBalancer({ random: () => 0.7 });
 * balancer.pick([{ id: "a" }, { id: "b" }]).id; // "b"
 * ```
 */
export class RandomBalancer<E extends Endpoint = Endpoint> implements Balancer<E> {
  /** The strategy's name. */
  readonly name: "random" = "random";
  readonly #random: () => number;

  /** Creates a balancer drawing from `options.random`. */
  constructor(options: RandomBalancerOptions = {}) {
    this.#random = options.random ?? Math.random;
  }

  /**
   * Picks one endpoint at random.
   *
   * @throws {NoEndpointsError} when `endpoints` is empty.
   */
  pick(endpoints: readonly E[], context?: PickContext): E {
    const n = endpoints.length;
    if (n === 0) throw new NoEndpointsError({ service: context?.service });
    return endpoints[n === 1 ? 0 : randomIndex(this.#random, n)]!;
  }

  /** Random choice learns nothing from calls; returns a shared no-op. */
  start(_endpoint: E): (outcome: CallOutcome) => void {
    return ignoreOutcome;
  }
}
