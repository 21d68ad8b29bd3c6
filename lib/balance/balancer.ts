/**
 * The port every load-balancing strategy implements.
 *
 * @module
 */

/** Something calls can be sent to. Strategies key their state by `id`. */
export interface Endpoint {
  /** Stable identity, e.g. the discovered instance id. */
  readonly id: string;
}

/** What a pick may depend on. */
export interface PickContext {
  /** Routing key for sticky strategies (consistent hashing), e.g. an order id. */
  readonly key?: string | undefined;
  /** The service being called; only named in the `NoEndpointsError` a pick may throw. */
  readonly service?: string | undefined;
}

/** How a call to an endpoint ended, reported back to the strategy. */
export interface CallOutcome {
  /** Wall time of the call in milliseconds. */
  readonly latencyMs: number;
  /** Whether it succeeded (a caller's mistake counts as success for balancing). */
  readonly ok: boolean;
}

/** The names of the built-in strategies. */
export type BalancerName =
  | "round_robin"
  | "random"
  | "least_outstanding"
  | "p2c_ewma"
  | "consistent_hash";

/**
 * A load-balancing strategy. The caller passes the endpoints that are
 * eligible right now (healthy, not ejected, breaker not open); the strategy
 * picks one and learns from `start()`/its completion callback.
 */
export interface Balancer<E extends Endpoint = Endpoint> {
  /** The strategy's name. */
  readonly name: BalancerName;
  /**
   * Picks one of `endpoints`.
   *
   * @throws {NoEndpointsError} when `endpoints` is empty.
   */
  pick(endpoints: readonly E[], context?: PickContext): E;
  /** Marks a call to `endpoint` as started; call the returned function once it ends. */
  start(endpoint: E): (outcome: CallOutcome) => void;
  /**
   * Drops what the strategy learned about endpoint `id`: it left discovery,
   * and if it comes back it is a new process that deserves a fresh start.
   */
  forget?(id: string): void;
}
