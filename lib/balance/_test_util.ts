// Test helpers; not exported by mod.ts.

import type { Balancer, Endpoint } from "./balancer.ts";

/** A deterministic source of randomness in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Endpoints `e0`, `e1`, … */
export function makeEndpoints(n: number, prefix = "e"): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}` }));
}

/** How many picks each id got. */
export function countById(picked: readonly Endpoint[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const endpoint of picked) counts.set(endpoint.id, (counts.get(endpoint.id) ?? 0) + 1);
  return counts;
}

/** A clock a simulation can move to a given time. */
export interface SettableClock {
  now(): number;
  advance(ms: number): void;
}

/** Options of {@link simulate}. */
export interface SimulateOptions<E extends Endpoint> {
  /** Calls to send. */
  calls: number;
  /** Calls in flight at most. */
  concurrency: number;
  /** Latency of the `call`-th call, sent to `endpoint`. */
  latencyOf: (endpoint: E, call: number) => number;
  /** Whether the `call`-th call, sent to `endpoint`, succeeds. @default {always} */
  okOf?: (endpoint: E, call: number) => boolean;
  /** The eligible endpoints at the `call`-th call. @default {the given list} */
  endpointsOf?: (call: number) => readonly E[];
}

/**
 * A discrete-event simulation on a fake clock: keeps up to `concurrency`
 * calls in flight, each completing `latencyOf(…)` ms after it started, and
 * returns the endpoint picked for each call, in order. No real time passes.
 */
export function simulate<E extends Endpoint>(
  balancer: Balancer<E>,
  clock: SettableClock,
  endpoints: readonly E[],
  options: SimulateOptions<E>,
): E[] {
  const picked: E[] = [];
  const inFlight: {
    endAt: number;
    latencyMs: number;
    ok: boolean;
    done: (o: {
      latencyMs: number;
      ok: boolean;
    }) => void;
  }[] = [];
  while (picked.length < options.calls || inFlight.length > 0) {
    if (picked.length < options.calls && inFlight.length < options.concurrency) {
      const call = picked.length;
      const endpoint = balancer.pick(options.endpointsOf?.(call) ?? endpoints);
      picked.push(endpoint);
      const latencyMs = options.latencyOf(endpoint, call);
      const ok = options.okOf?.(endpoint, call) ?? true;
      inFlight.push({
        endAt: clock.now() + latencyMs,
        latencyMs,
        ok,
        done: balancer.start(endpoint),
      });
      continue;
    }
    let first = 0;
    for (let i = 1; i < inFlight.length; i++) {
      if (inFlight[i]!.endAt < inFlight[first]!.endAt) first = i;
    }
    const [call] = inFlight.splice(first, 1);
    clock.advance(Math.max(0, call!.endAt - clock.now()));
    call!.done({ latencyMs: call!.latencyMs, ok: call!.ok });
  }
  return picked;
}
