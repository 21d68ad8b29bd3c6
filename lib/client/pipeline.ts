/**
 * The call pipeline every service-to-service call goes through:
 *
 * ```text
 * deadline → observer (tracing hook) → discovery → outlier filter → load balancer
 *   → per-endpoint circuit breaker → per-endpoint bulkhead → transport
 *   ↺ retry (backoff with full jitter, within the retry budget and the deadline)
 * ```
 *
 * @module
 */

import {
  type CallHandler,
  type Clock,
  DeadlineExceededError,
  deadlineSignal,
  FlotillaError,
  type Logger,
  type OutboundCall,
  systemClock,
  UnavailableError,
} from "@flotilla/core";
import { type Balancer, createBalancer, NoEndpointsError } from "@flotilla/balance";
import {
  Bulkhead,
  CircuitBreaker,
  CircuitOpenError,
  isFailure,
  OutlierDetector,
  type ResolvedPolicy,
  RetryBudget,
  RetryPolicy,
  sleep,
  systemTimers,
  type Timers,
} from "@flotilla/resilience";
import type { PeerEndpoint } from "./endpoints.ts";
import { HeldClock } from "./_held_clock.ts";
import type { CallObserver } from "./observer.ts";
import type { PipelineEvent } from "./events.ts";

/** Where the pipeline gets the peer's endpoints from (a {@link PeerEndpoints} fits). */
export interface EndpointSource {
  /** The endpoints known now; may wait for the first answer of discovery. */
  current(signal?: AbortSignal): readonly PeerEndpoint[] | Promise<readonly PeerEndpoint[]>;
}

/** Sends one attempt of a call to one endpoint. */
export type EndpointTransport = (endpoint: PeerEndpoint, call: OutboundCall) => Promise<unknown>;

/** Options of {@link callPipeline}. */
export interface PipelineOptions {
  /** The peer's service name. */
  service: string;
  /** The peer's endpoints. */
  endpoints: EndpointSource;
  /** The transport of one attempt. */
  transport: EndpointTransport;
  /** The policy of an action of this peer (timeouts, retries, breaker, bulkhead, outlier, balancer). */
  policy: (action: string) => ResolvedPolicy;
  /** Clock for deadlines, breakers and budgets. @default {systemClock} */
  clock?: Clock;
  /** Timers for backoff. @default {systemTimers} */
  timers?: Timers;
  /** Random source for jitter and balancing. @default {Math.random} */
  random?: () => number;
  /** Tracing and metrics hook. */
  observer?: CallObserver;
  /** Receives breaker transitions, ejections, retries and rejections. */
  onEvent?: (event: PipelineEvent) => void;
  /** Where unexpected problems are logged. */
  logger?: Logger;
}

interface EndpointState {
  breaker: CircuitBreaker | undefined;
  bulkhead: Bulkhead | undefined;
}

/** A call handler running the full pipeline, with a view of its per-endpoint state. */
export interface Pipeline extends CallHandler {
  /** The breaker state of each endpoint seen so far. */
  breakers(): Record<string, string>;
}

/**
 * Builds the pipeline for calls to one peer. Per-endpoint state (breaker,
 * bulkhead) and per-peer state (balancer, outlier detector, retry budget)
 * live as long as the pipeline.
 *
 * Retries happen only for idempotent actions or calls with an idempotency
 * key — or when the failure proves the request never left (connection
 * refused, breaker open, bulkhead full) — only for failures worth retrying,
 * only while the retry budget allows (so retries cannot amplify an outage),
 * and only when the deadline leaves room for the backoff. A retry prefers an
 * endpoint other than the ones that just failed.
 */
export function callPipeline(options: PipelineOptions): Pipeline {
  // Shared with the breakers, budget, balancer and outlier detector, so that one reading
  // can serve them all where they are updated together (see HeldClock).
  const clock = new HeldClock(options.clock ?? systemClock);
  const timers = options.timers ?? systemTimers;
  const random = options.random ?? Math.random;
  const service = options.service;
  const peerPolicy = options.policy("*");
  const balancer: Balancer<PeerEndpoint> = createBalancer(peerPolicy.balancer, { clock, random });
  const outliers = peerPolicy.outlier
    ? new OutlierDetector({ ...peerPolicy.outlier, clock })
    : undefined;
  const budget = peerPolicy.retry ? new RetryBudget({ clock }) : undefined;
  const states = new Map<string, EndpointState>();
  let knownEndpoints: readonly PeerEndpoint[] | undefined;
  const retryPolicies = new Map<string, RetryPolicy | undefined>();
  const emit = options.onEvent ?? (() => {});

  const stateOf = (endpoint: PeerEndpoint): EndpointState => {
    let state = states.get(endpoint.id);
    if (!state) {
      const breaker = peerPolicy.breaker
        ? new CircuitBreaker({ ...peerPolicy.breaker, clock, endpoint: endpoint.id })
        : undefined;
      breaker?.onStateChange((event) =>
        emit({ type: "breaker", service, endpoint: endpoint.id, from: event.from, to: event.to })
      );
      state = {
        breaker,
        bulkhead: peerPolicy.bulkhead
          ? new Bulkhead({ ...peerPolicy.bulkhead, timers, name: endpoint.id })
          : undefined,
      };
      states.set(endpoint.id, state);
    }
    return state;
  };

  const retryPolicyOf = (action: string, policy: ResolvedPolicy): RetryPolicy | undefined => {
    if (!retryPolicies.has(action)) {
      retryPolicies.set(
        action,
        policy.retry ? new RetryPolicy({ ...policy.retry, random }) : undefined,
      );
    }
    return retryPolicies.get(action);
  };

  const pipeline = async (call: OutboundCall): Promise<unknown> => {
    const policy = options.policy(call.action);
    const now = clock.now();
    const deadline = Math.min(call.deadline, now + policy.timeoutMs);
    if (deadline <= now) {
      throw new DeadlineExceededError(`No time left to call ${service}.${call.action}`);
    }
    const timer = deadline < call.deadline ? deadlineSignal(deadline - now) : undefined;
    const signal = timer ? AbortSignal.any([call.signal, timer.signal]) : call.signal;
    let scoped: OutboundCall = timer ? { ...call, deadline, signal } : call;
    const observation = options.observer?.start(scoped);
    // A root call's sampling is decided by the observer's tracer: the callee must hear that
    // decision, or it records spans of a trace whose root nobody keeps.
    const observed = observation?.trace;
    if (observed !== undefined && observed !== scoped.trace) {
      scoped = { ...scoped, trace: observed };
    }
    if (budget) {
      clock.hold(now);
      try {
        budget.recordRequest();
      } finally {
        clock.release();
      }
    }
    const retry = retryPolicyOf(call.action, policy);
    // When our timeout did not narrow the deadline, the caller's own deadline is the binding one.
    const callerBound = timer === undefined;
    const tried: string[] = [];
    try {
      for (let attempt = 1;; attempt++) {
        try {
          const result = await attemptOnce(scoped, attempt, tried, callerBound, policy);
          observation?.end(undefined);
          return result;
        } catch (error) {
          if (!retry || signal.aborted) throw error;
          const decision = retry.decide(error, {
            attempt,
            idempotent: call.idempotent,
            hasIdempotencyKey: call.idempotencyKey !== undefined,
            remainingMs: deadline - clock.now(),
          }, budget);
          if (!decision.retry) {
            if (decision.reason === "budget_exhausted") {
              emit({ type: "retry_budget_exhausted", service, action: call.action });
            }
            throw error;
          }
          const delayMs = decision.delayMs;
          emit({
            type: "retry",
            service,
            action: call.action,
            attempt: attempt + 1,
            delayMs,
            error,
          });
          await sleep(delayMs, timers, signal);
          if (signal.aborted) throw abortError(signal, service, call.action);
        }
      }
    } catch (error) {
      observation?.end(error);
      throw error;
    } finally {
      timer?.cancel();
    }
  };

  const attemptOnce = async (
    call: OutboundCall,
    attempt: number,
    tried: string[],
    callerBound: boolean,
    policy: ResolvedPolicy,
  ) => {
    const found = options.endpoints.current(call.signal);
    // Discovery answers from its cache nearly always: awaiting a plain array would still
    // cost a microtask turn on every call.
    const all = found instanceof Promise ? await found : found as readonly PeerEndpoint[];
    if (all.length === 0) throw new NoEndpointsError({ service });
    if (all !== knownEndpoints) {
      // Discovery hands out a new array only when the set changed.
      knownEndpoints = all;
      const ids = all.map((e) => e.id);
      outliers?.setEndpoints(ids);
      // An instance that left discovery and came back is a new process: it starts with a fresh breaker.
      const live = new Set(ids);
      for (const id of states.keys()) {
        if (!live.has(id)) {
          states.delete(id);
          balancer.forget?.(id);
          emit({ type: "endpoint_removed", service, endpoint: id });
        }
      }
    }
    let candidates = outliers ? withoutEjected(all, outliers) : all;
    // Every endpoint ejected: the rotation must not go empty, so use them all.
    if (candidates.length === 0) candidates = all;
    if (tried.length > 0 && candidates.length > tried.length) {
      candidates = candidates.filter((e) => !tried.includes(e.id));
    }
    let rejection: CircuitOpenError | undefined;
    for (let pickTries = candidates.length; pickTries > 0; pickTries--) {
      const endpoint = balancer.pick(candidates, { key: call.idempotencyKey, service });
      const state = stateOf(endpoint);
      const permit = state.breaker?.tryAcquire();
      if (state.breaker && !permit) {
        rejection = new CircuitOpenError(state.breaker.retryAfterMs(), { endpoint: endpoint.id });
        candidates = candidates.filter((e) => e !== endpoint);
        if (candidates.length === 0) break;
        continue;
      }
      let release: (() => void) | undefined;
      if (state.bulkhead) {
        try {
          release = state.bulkhead.tryAcquire() ?? await state.bulkhead.acquire(call.signal);
        } catch (error) {
          permit?.release();
          if (error instanceof FlotillaError && error.code === "BULKHEAD_FULL") {
            emit({ type: "bulkhead_full", service, endpoint: endpoint.id });
          }
          throw error;
        }
      }
      tried.push(endpoint.id);
      const started = clock.now();
      const finish = balancer.start(endpoint);
      if (options.observer?.attempt) options.observer.attempt(call, { endpoint, attempt });
      // A per-try timeout shorter than what is left of the call bounds this attempt alone.
      const perTry = policy.attemptTimeoutMs;
      const tryTimer = perTry !== false && started + perTry < call.deadline
        ? deadlineSignal(perTry)
        : undefined;
      const attemptCall: OutboundCall = tryTimer === undefined ? call : {
        ...call,
        deadline: started + (perTry as number),
        signal: AbortSignal.any([call.signal, tryTimer.signal]),
      };
      try {
        let result: unknown;
        try {
          result = await options.transport(endpoint, attemptCall);
        } catch (error) {
          if (tryTimer?.signal.aborted && !call.signal.aborted) {
            throw new UnavailableError(
              `${service}.${call.action} got no answer from ${endpoint.id} within ${perTry} ms`,
              { code: "ATTEMPT_TIMEOUT", cause: error, data: { endpoint: endpoint.id } },
            );
          }
          throw error;
        }
        const ended = clock.now();
        const latencyMs = ended - started;
        clock.hold(ended);
        try {
          permit?.onSuccess(latencyMs);
          finish({ latencyMs, ok: true });
          outliers?.record(endpoint.id, true);
        } finally {
          clock.release();
        }
        return result;
      } catch (error) {
        const latencyMs = clock.now() - started;
        // A deadline the caller brought in, shorter than our own timeout, says nothing about the callee.
        const callersDeadline = callerBound && error instanceof FlotillaError &&
          error.kind === "DEADLINE_EXCEEDED";
        if (callersDeadline || (error instanceof FlotillaError && error.kind === "CANCELLED")) {
          permit?.release();
          finish({ latencyMs, ok: true });
        } else {
          permit?.onError(error, latencyMs);
          finish({ latencyMs, ok: !isFailure(error) });
          if (outliers) {
            const wasEjected = outliers.isEjected(endpoint.id);
            outliers.recordError(endpoint.id, error);
            if (!wasEjected && outliers.isEjected(endpoint.id)) {
              emit({ type: "ejected", service, endpoint: endpoint.id });
            }
          }
        }
        throw error;
      } finally {
        tryTimer?.cancel();
        release?.();
      }
    }
    emit({ type: "circuit_open", service });
    throw rejection ?? new CircuitOpenError(0);
  };

  return Object.assign(pipeline, {
    breakers(): Record<string, string> {
      const out: Record<string, string> = {};
      for (const [id, state] of states) out[id] = state.breaker?.state ?? "disabled";
      return out;
    },
  });
}

/** `all` but the ejected endpoints: `all` itself, not a copy, when none is (nearly always). */
function withoutEjected(
  all: readonly PeerEndpoint[],
  outliers: OutlierDetector,
): readonly PeerEndpoint[] {
  for (const endpoint of all) {
    if (outliers.isEjected(endpoint.id)) return all.filter((e) => !outliers.isEjected(e.id));
  }
  return all;
}

function abortError(signal: AbortSignal, service: string, action: string): unknown {
  const reason = signal.reason;
  if (reason instanceof FlotillaError) return reason;
  return new DeadlineExceededError(`${service}.${action} ran out of time`);
}
