/**
 * Least outstanding requests: the endpoint with the fewest calls in flight.
 *
 * @module
 */

import type { Balancer, CallOutcome, Endpoint, PickContext } from "./balancer.ts";
import { NoEndpointsError } from "./errors.ts";
import { randomIndex } from "./_common.ts";

/** Options of {@link LeastOutstandingBalancer}. */
export interface LeastOutstandingBalancerOptions {
  /** Source of randomness in [0, 1), to break ties. @default {Math.random} */
  random?: () => number;
}

/**
 * Picks the eligible endpoint with the fewest calls in flight (started and
 * not yet completed through this balancer); ties are broken uniformly at
 * random, so an idle set is not always served by its first endpoint.
 *
 * A pick scans the eligible list: O(n), with one map lookup per endpoint
 * (and O(1) while nothing is in flight). For large sets prefer
 * {@link P2cEwmaBalancer}, which samples two.
 *
 * Endpoint churn: the balancer holds an entry only for an endpoint with calls
 * in flight and drops it when its count returns to zero, so endpoints that
 * leave discovery leave nothing behind once their calls end.
 *
 * @example
 * ```ts
 * import { LeastOutstandingBalancer } from "@flotilla/balance";
 *
 * const balancer = new LeastOutstandingBalancer();
 * const [a, b] = [{ id: "a" }, { id: "b" }];
 * const done = balancer.start(a);
 * balancer.pick([a, b]).id; // "b": "a" has a call in flight
 * done({ latencyMs: 12, ok: true });
 * ```
 */
export class LeastOutstandingBalancer<E extends Endpoint = Endpoint> implements Balancer<E> {
  /** The strategy's name. */
  readonly name: "least_outstanding" = "least_outstanding";
  readonly #random: () => number;
  readonly #outstanding = new Map<string, number>();

  /** Creates a balancer with no call in flight. */
  constructor(options: LeastOutstandingBalancerOptions = {}) {
    this.#random = options.random ?? Math.random;
  }

  /**
   * Picks an endpoint with the fewest calls in flight.
   *
   * @throws {NoEndpointsError} when `endpoints` is empty.
   */
  pick(endpoints: readonly E[], context?: PickContext): E {
    const n = endpoints.length;
    if (n === 0) throw new NoEndpointsError({ service: context?.service });
    if (n === 1) return endpoints[0]!;
    const outstanding = this.#outstanding;
    if (outstanding.size === 0) return endpoints[randomIndex(this.#random, n)]!;
    let best = endpoints[0]!;
    let least = outstanding.get(best.id) ?? 0;
    let ties = 1;
    for (let i = 1; i < n; i++) {
      const endpoint = endpoints[i]!;
      const count = outstanding.get(endpoint.id) ?? 0;
      if (count < least) {
        best = endpoint;
        least = count;
        ties = 1;
      } else if (count === least) {
        // Reservoir sampling: each of the tied endpoints wins with probability 1/ties.
        ties++;
        if (this.#random() * ties < 1) best = endpoint;
      }
    }
    return best;
  }

  /**
   * Counts a call to `endpoint` as in flight until the returned callback is
   * called; later calls of the callback are ignored.
   */
  start(endpoint: E): (outcome: CallOutcome) => void {
    const id = endpoint.id;
    const outstanding = this.#outstanding;
    outstanding.set(id, (outstanding.get(id) ?? 0) + 1);
    let pending = true;
    return () => {
      if (!pending) return;
      pending = false;
      const count = (outstanding.get(id) ?? 1) - 1;
      if (count > 0) outstanding.set(id, count);
      else outstanding.delete(id);
    };
  }

  /** The calls to `endpoint` in flight now. */
  outstanding(endpoint: E): number {
    return this.#outstanding.get(endpoint.id) ?? 0;
  }
}
