/**
 * Consistent hashing on a ring with virtual nodes, for sticky routing by key.
 *
 * @module
 */

import type { Balancer, CallOutcome, Endpoint, PickContext } from "./balancer.ts";
import { NoEndpointsError } from "./errors.ts";
import { RoundRobinBalancer } from "./round_robin_balancer.ts";
import { checkOption, ignoreOutcome } from "./_common.ts";
import { hashString } from "./_hash.ts";

/** Options of {@link ConsistentHashBalancer}. */
export interface ConsistentHashBalancerOptions {
  /**
   * Points each endpoint gets on the ring. More points spread keys more
   * evenly (about ±1/√n of the fair share) at the cost of a larger ring.
   * @default {100}
   */
  virtualNodes?: number;
  /**
   * Source of randomness in [0, 1), for where the round robin of key-less
   * picks starts. @default {Math.random}
   */
  random?: () => number;
}

/** Ranks of endpoints are packed beside 32-bit hashes in one float64: 2^32 × 2^21 ≤ 2^53. */
const RANK_SPACE = 2 ** 21;

/**
 * Routes each call by its {@link PickContext.key} to the endpoint that owns
 * the key's position on a hash ring, so the same key keeps going to the same
 * endpoint while that endpoint stays eligible (for caches, sessions, per-key
 * ordering). When an endpoint leaves the eligible set only the keys it owned
 * move, spread over the others; keys never move between two endpoints that
 * stay; when it comes back its keys return to it.
 *
 * Each endpoint gets `virtualNodes` points, placed by hashing `"<id>#<i>"`
 * with FNV-1a 32 followed by the murmur3 finalizer; a key is hashed the same
 * way and owned by the first point clockwise. Point order is decided by hash
 * and then by id, so the mapping depends only on the set of ids, never on
 * the order of the list or on the balancer instance: every client computes
 * the same mapping.
 *
 * A pick without a key falls back to round robin over the eligible list.
 *
 * Cost and churn: the ring is built from the eligible list when its set of
 * ids changes, in O(n·v·log(n·v)). A pick given the same array as the last
 * one is O(log(n·v)); given a new array holding the same ids, O(n) to check
 * it. So keep passing the same array while the eligible set is unchanged.
 * The ring only ever holds the current eligible set, so departed endpoints
 * leave nothing behind.
 *
 * @example
 * ```ts
 * import { ConsistentHashBalancer } from "@flotilla/balance";
 *
 * const balancer = new ConsistentHashBalancer();
 * const endpoints = [{ id: "a" }, { id: "b" }, { id: "c" }];
 * const owner = balancer.pick(endpoints, { key: "order-42" });
 * balancer.pick(endpoints, { key: "order-42" }) === owner; // true
 * ```
 */
export class ConsistentHashBalancer<E extends Endpoint = Endpoint> implements Balancer<E> {
  /** The strategy's name. */
  readonly name: "consistent_hash" = "consistent_hash";
  readonly #virtualNodes: number;
  readonly #fallback: RoundRobinBalancer<E>;
  /** The array the ring was last built or checked against. */
  #source: readonly E[] | undefined;
  /** Sorted ring positions. */
  #points = new Uint32Array(0);
  /** Owner rank of each point (rank = index of the id in sorted order). */
  #owners = new Uint32Array(0);
  #rankById = new Map<string, number>();
  /** The endpoint of each rank, from the latest list. */
  #byRank: E[] = [];
  /** Scratch for checking a new list against the ring without allocating. */
  #seen: number[] = [];
  #generation = 0;

  /**
   * Creates a balancer with an empty ring.
   *
   * @throws {RangeError} when `virtualNodes` is not a positive integer.
   */
  constructor(options: ConsistentHashBalancerOptions = {}) {
    this.#virtualNodes = checkOption(
      "consistent_hash balancer",
      "virtualNodes",
      options.virtualNodes ?? 100,
      (v) => Number.isInteger(v) && v > 0 && v <= 65_536,
      "an integer between 1 and 65536",
    );
    this.#fallback = new RoundRobinBalancer<E>(
      options.random === undefined ? {} : { random: options.random },
    );
  }

  /**
   * Picks the owner of `context.key` on the ring, or the next endpoint in
   * turn when there is no key.
   *
   * @throws {NoEndpointsError} when `endpoints` is empty.
   */
  pick(endpoints: readonly E[], context?: PickContext): E {
    const key = context?.key;
    if (key === undefined) return this.#fallback.pick(endpoints, context);
    const n = endpoints.length;
    if (n < 2) {
      if (n === 1) return endpoints[0]!;
      throw new NoEndpointsError({ service: context?.service });
    }
    if (endpoints !== this.#source && !this.#rebind(endpoints)) this.#build(endpoints);
    return this.#byRank[this.#owners[this.#locate(hashString(key))]!]!;
  }

  /** Consistent hashing learns nothing from calls; returns a shared no-op. */
  start(_endpoint: E): (outcome: CallOutcome) => void {
    return ignoreOutcome;
  }

  /** Index of the first point at or after `hash`, wrapping to 0. */
  #locate(hash: number): number {
    const points = this.#points;
    let low = 0;
    let high = points.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (points[mid]! < hash) low = mid + 1;
      else high = mid;
    }
    return low === points.length ? 0 : low;
  }

  /** Adopts `endpoints` if it holds exactly the ids of the ring; false if the set changed. */
  #rebind(endpoints: readonly E[]): boolean {
    const rankById = this.#rankById;
    const seen = this.#seen;
    const generation = ++this.#generation;
    let distinct = 0;
    for (const endpoint of endpoints) {
      const rank = rankById.get(endpoint.id);
      if (rank === undefined) return false;
      if (seen[rank] !== generation) {
        seen[rank] = generation;
        this.#byRank[rank] = endpoint;
        distinct++;
      }
    }
    if (distinct !== rankById.size) return false;
    this.#source = endpoints;
    return true;
  }

  #build(endpoints: readonly E[]): void {
    const byId = new Map<string, E>();
    for (const endpoint of endpoints) {
      if (!byId.has(endpoint.id)) byId.set(endpoint.id, endpoint);
    }
    const ids = [...byId.keys()].sort();
    if (ids.length >= RANK_SPACE) {
      throw new RangeError(
        `Cannot build the hash ring as the endpoints must be fewer than ${RANK_SPACE}: current value is ${ids.length}`,
      );
    }
    const virtualNodes = this.#virtualNodes;
    const packed = new Float64Array(ids.length * virtualNodes);
    for (let rank = 0; rank < ids.length; rank++) {
      const prefix = `${ids[rank]!}#`;
      for (let v = 0; v < virtualNodes; v++) {
        packed[rank * virtualNodes + v] = hashString(prefix + v) * RANK_SPACE + rank;
      }
    }
    packed.sort();
    const points = new Uint32Array(packed.length);
    const owners = new Uint32Array(packed.length);
    for (let k = 0; k < packed.length; k++) {
      const value = packed[k]!;
      const rank = value % RANK_SPACE;
      points[k] = (value - rank) / RANK_SPACE;
      owners[k] = rank;
    }
    this.#points = points;
    this.#owners = owners;
    this.#rankById = new Map(ids.map((id, rank) => [id, rank]));
    this.#byRank = ids.map((id) => byId.get(id)!);
    this.#seen = new Array<number>(ids.length).fill(0);
    this.#generation = 0;
    this.#source = endpoints;
  }
}
