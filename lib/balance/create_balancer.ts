/**
 * The factory of the built-in strategies, for choosing one by name from
 * configuration.
 *
 * @module
 */

import type { Balancer, BalancerName, Endpoint } from "./balancer.ts";
import {
  ConsistentHashBalancer,
  type ConsistentHashBalancerOptions,
} from "./consistent_hash_balancer.ts";
import {
  LeastOutstandingBalancer,
  type LeastOutstandingBalancerOptions,
} from "./least_outstanding_balancer.ts";
import { P2cEwmaBalancer, type P2cEwmaBalancerOptions } from "./p2c_ewma_balancer.ts";
import { RandomBalancer, type RandomBalancerOptions } from "./random_balancer.ts";
import { RoundRobinBalancer, type RoundRobinBalancerOptions } from "./round_robin_balancer.ts";

/**
 * Options of {@link createBalancer}: the union of every strategy's options.
 * Options the chosen strategy does not use are ignored.
 */
export interface BalancerOptions
  extends
    RoundRobinBalancerOptions,
    RandomBalancerOptions,
    LeastOutstandingBalancerOptions,
    P2cEwmaBalancerOptions,
    ConsistentHashBalancerOptions {}

/** The strategy to use when none is configured: {@link P2cEwmaBalancer}. */
export const DEFAULT_BALANCER: BalancerName = "p2c_ewma";

/** Every built-in strategy name, in the order of {@link BalancerName}. */
export const BALANCER_NAMES: readonly BalancerName[] = Object.freeze([
  "round_robin",
  "random",
  "least_outstanding",
  "p2c_ewma",
  "consistent_hash",
]);

/**
 * Creates the built-in strategy called `name`.
 *
 * @example
 * ```ts
 * import { createBalancer } from "@flotilla/balance";
 *
 * const balancer = createBalancer("p2c_ewma", { decayMs: 5_000 });
 * balancer.name; // "p2c_ewma"
 * ```
 *
 * @throws {RangeError} when `name` is not a built-in strategy (say, a typo
 * in configuration) or an option is out of range.
 */
export function createBalancer<E extends Endpoint = Endpoint>(
  name: BalancerName,
  options: BalancerOptions = {},
): Balancer<E> {
  switch (name) {
    case "round_robin":
      return new RoundRobinBalancer<E>(options);
    case "random":
      return new RandomBalancer<E>(options);
    case "least_outstanding":
      return new LeastOutstandingBalancer<E>(options);
    case "p2c_ewma":
      return new P2cEwmaBalancer<E>(options);
    case "consistent_hash":
      return new ConsistentHashBalancer<E>(options);
    default:
      throw new RangeError(
        `Cannot create the balancer as 'name' must be one of ${
          BALANCER_NAMES.map((known) => `"${known}"`).join(", ")
        }: current value is ${JSON.stringify(name satisfies never)}`,
      );
  }
}
