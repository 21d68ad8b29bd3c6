/**
 * Load balancing: the strategies that choose which endpoint of a service a
 * call goes to. The client pipeline passes each pick only the endpoints
 * eligible right now (healthy, not ejected, breaker not open), calls
 * `start(endpoint)` before sending and the returned callback with
 * `{ latencyMs, ok }` after.
 *
 * | name                | strategy                                              | pick cost   |
 * | ------------------- | ----------------------------------------------------- | ----------- |
 * | `p2c_ewma`          | {@link P2cEwmaBalancer}: 2 random choices, peak EWMA  | O(1)        |
 * | `least_outstanding` | {@link LeastOutstandingBalancer}: fewest in flight    | O(n)        |
 * | `round_robin`       | {@link RoundRobinBalancer}                            | O(1)        |
 * | `random`            | {@link RandomBalancer}                                | O(1)        |
 * | `consistent_hash`   | {@link ConsistentHashBalancer}: sticky by `key`       | O(log(n·v)) |
 *
 * `p2c_ewma` is the default ({@link DEFAULT_BALANCER}). `consistent_hash` is
 * O(log(n·v)) when given the same array as its last pick, O(n) for a new
 * array holding the same ids, and rebuilds its ring when the set changes.
 *
 * Time comes from an injectable {@link Clock} and randomness from an
 * injectable `random`, so every strategy is tested without sleeping. An empty
 * list throws {@link NoEndpointsError}.
 *
 * @example
 * ```ts
 * import { createBalancer, DEFAULT_BALANCER } from "@flotilla/balance";
 *
 * const balancer = createBalancer(DEFAULT_BALANCER);
 * const eligible = [{ id: "payment-1" }, { id: "payment-2" }];
 *
 * const endpoint = balancer.pick(eligible, { service: "payment" });
 * const done = balancer.start(endpoint);
 * const startedAt = performance.now();
 * let ok = false;
 * try {
 *   // … send the call to `endpoint` …
 *   ok = true;
 * } finally {
 *   done({ latencyMs: performance.now() - startedAt, ok });
 * }
 * ```
 *
 * @module
 */

export type { Balancer, BalancerName, CallOutcome, Endpoint, PickContext } from "./balancer.ts";
export { NoEndpointsError, type NoEndpointsErrorOptions } from "./errors.ts";
export { RoundRobinBalancer, type RoundRobinBalancerOptions } from "./round_robin_balancer.ts";
export { RandomBalancer, type RandomBalancerOptions } from "./random_balancer.ts";
export {
  LeastOutstandingBalancer,
  type LeastOutstandingBalancerOptions,
} from "./least_outstanding_balancer.ts";
export { P2cEwmaBalancer, type P2cEwmaBalancerOptions } from "./p2c_ewma_balancer.ts";
export {
  ConsistentHashBalancer,
  type ConsistentHashBalancerOptions,
} from "./consistent_hash_balancer.ts";
export {
  BALANCER_NAMES,
  type BalancerOptions,
  createBalancer,
  DEFAULT_BALANCER,
} from "./create_balancer.ts";
// Types of @flotilla/core that this package's public API refers to.
export type { Clock, ErrorKind, FieldIssue, FlotillaError } from "@flotilla/core";
