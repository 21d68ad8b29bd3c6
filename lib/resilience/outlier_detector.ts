/**
 * Envoy-style outlier detection: an endpoint that fails too many calls in a
 * row leaves the rotation for a while, longer each time, but never so many
 * endpoints at once that the rest would be overwhelmed.
 *
 * @module
 */

import { type Clock, systemClock } from "@flotilla/core";
import { OUTLIER_DEFAULTS } from "./_defaults.ts";
import { checkNumber, checkPercent, checkPositive, checkPositiveInteger } from "./_check.ts";
import { classifyError, type ErrorClassifier } from "./classify.ts";

/** Options of {@link OutlierDetector}. */
export interface OutlierOptions {
  /** Failures in a row that eject an endpoint. @default {5} */
  consecutiveFailures?: number;
  /** Ejection time of a first ejection; the n-th lasts n times as long. @default {30_000} */
  baseEjectionMs?: number;
  /** Longest ejection time. @default {300_000} */
  maxEjectionMs?: number;
  /** Most endpoints ejected at once, in percent of the known endpoints. @default {50} */
  maxEjectionPercent?: number;
  /** Decides what an error says about the endpoint, for {@link OutlierDetector.recordError}. @default {classifyError} */
  classify?: ErrorClassifier;
  /** The clock ejections are timed with. @default {systemClock} */
  clock?: Clock;
}

/** Something that happened to an endpoint, discriminated on `type`. */
export type OutlierEvent =
  | {
    /** The endpoint left the rotation. */
    type: "ejected";
    /** The endpoint. */
    id: string;
    /** When. */
    at: number;
    /** When it comes back. */
    until: number;
    /** How many times it has been ejected, this time included (after decay). */
    ejections: number;
  }
  | {
    /** The endpoint's ejection ended (noticed lazily, when it was next looked at). */
    type: "returned";
    /** The endpoint. */
    id: string;
    /** When it was noticed. */
    at: number;
  };

interface EndpointState {
  consecutiveFailures: number;
  ejections: number;
  ejected: boolean;
  ejectedUntil: number;
  returnedAt: number;
}

const ACTION = "create the outlier detector";

/**
 * Tracks consecutive failures per endpoint and ejects outliers.
 *
 * - `consecutiveFailures` failures in a row (a success resets the count)
 *   eject an endpoint for `baseEjectionMs × n`, n being the number of times
 *   it has been ejected, capped at `maxEjectionMs`. The multiplier decays by
 *   one for every `baseEjectionMs` the endpoint spends back in rotation, so
 *   an endpoint that failed once last week starts from the base again.
 * - At most `maxEjectionPercent` of the known endpoints are ejected at once:
 *   an ejection that would exceed it does not happen (the failure count is
 *   kept, so the endpoint is ejected on its next failure once there is room).
 *   With the default 50 %, a lone endpoint is never ejected.
 * - The known endpoints are those given to
 *   {@link OutlierDetector.setEndpoints} — records of other ids are then
 *   ignored — or, until it is called, every id ever recorded.
 * - Ejections end lazily: {@link OutlierDetector.isEjected} returns `false`
 *   once the time is up. Records of an ejected endpoint (late completions)
 *   are ignored. Each record costs O(1).
 *
 * @example
 * ```ts
 * import { OutlierDetector } from "@flotilla/resilience";
 *
 * const outliers = new OutlierDetector({ consecutiveFailures: 3 });
 * outliers.setEndpoints(["a", "b", "c"]);
 * for (let i = 0; i < 3; i++) outliers.record("a", false);
 * outliers.isEjected("a"); // true, for 30 s
 * ```
 */
export class OutlierDetector {
  readonly #consecutiveFailures: number;
  readonly #baseEjectionMs: number;
  readonly #maxEjectionMs: number;
  readonly #maxEjectionPercent: number;
  readonly #classify: ErrorClassifier;
  readonly #clock: Clock;
  readonly #endpoints = new Map<string, EndpointState>();
  readonly #ejected = new Set<string>();
  #explicit = false;
  #listeners: Array<(event: OutlierEvent) => void> = [];

  /**
   * Creates a detector that knows no endpoint yet.
   *
   * @throws {RangeError} when an option is out of range.
   */
  constructor(options: OutlierOptions = {}) {
    const d = OUTLIER_DEFAULTS;
    this.#consecutiveFailures = checkPositiveInteger(
      ACTION,
      "consecutiveFailures",
      options.consecutiveFailures ?? d.consecutiveFailures,
    );
    this.#baseEjectionMs = checkPositive(
      ACTION,
      "baseEjectionMs",
      options.baseEjectionMs ?? d.baseEjectionMs,
    );
    this.#maxEjectionMs = checkNumber(
      ACTION,
      "maxEjectionMs",
      options.maxEjectionMs ?? Math.max(d.maxEjectionMs, this.#baseEjectionMs),
      (v) => Number.isFinite(v) && v >= this.#baseEjectionMs,
      "a number >= 'baseEjectionMs'",
    );
    this.#maxEjectionPercent = checkPercent(
      ACTION,
      "maxEjectionPercent",
      options.maxEjectionPercent ?? d.maxEjectionPercent,
    );
    this.#classify = options.classify ?? classifyError;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Sets the known endpoints, e.g. after each discovery update: new ids
   * start with a clean record, ids no longer listed are forgotten.
   */
  setEndpoints(ids: Iterable<string>): void {
    this.#explicit = true;
    const keep = new Set(ids);
    for (const id of this.#endpoints.keys()) {
      if (!keep.has(id)) {
        this.#endpoints.delete(id);
        this.#ejected.delete(id);
      }
    }
    for (const id of keep) {
      if (!this.#endpoints.has(id)) this.#endpoints.set(id, newState());
    }
  }

  /** Records the outcome of one call to endpoint `id`. */
  record(id: string, ok: boolean): void {
    let state = this.#endpoints.get(id);
    if (state === undefined) {
      if (this.#explicit) return;
      state = newState();
      this.#endpoints.set(id, state);
    }
    const now = this.#clock.now();
    if (state.ejected) {
      if (now < state.ejectedUntil) return;
      this.#return(id, state, now);
    }
    if (ok) {
      state.consecutiveFailures = 0;
      return;
    }
    if (++state.consecutiveFailures >= this.#consecutiveFailures) this.#tryEject(id, state, now);
  }

  /**
   * Records a call to endpoint `id` that failed with `error`, as the
   * classification says: a failure, a success (a caller's mistake), or
   * nothing (a cancellation).
   */
  recordError(id: string, error: unknown): void {
    const verdict = this.#classify(error);
    if (verdict !== "ignore") this.record(id, verdict === "success");
  }

  /** Whether endpoint `id` is ejected now; ends its ejection if the time is up. */
  isEjected(id: string): boolean {
    const state = this.#endpoints.get(id);
    if (state === undefined || !state.ejected) return false;
    const now = this.#clock.now();
    if (now < state.ejectedUntil) return true;
    this.#return(id, state, now);
    return false;
  }

  /** The endpoints ejected now. */
  ejected(): string[] {
    this.#sweep(this.#clock.now());
    return [...this.#ejected];
  }

  /**
   * Calls `listener` on every ejection and return; returns a function that
   * stops it. What a listener throws is swallowed.
   */
  onEvent(listener: (event: OutlierEvent) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  #tryEject(id: string, state: EndpointState, now: number): void {
    this.#sweep(now);
    if ((this.#ejected.size + 1) * 100 > this.#endpoints.size * this.#maxEjectionPercent) return;
    const healthyMs = now - state.returnedAt;
    if (state.ejections > 0 && healthyMs > 0) {
      state.ejections = Math.max(0, state.ejections - Math.floor(healthyMs / this.#baseEjectionMs));
    }
    state.ejections++;
    state.ejected = true;
    state.ejectedUntil = now +
      Math.min(this.#maxEjectionMs, this.#baseEjectionMs * state.ejections);
    state.consecutiveFailures = 0;
    this.#ejected.add(id);
    this.#emit({
      type: "ejected",
      id,
      at: now,
      until: state.ejectedUntil,
      ejections: state.ejections,
    });
  }

  #sweep(now: number): void {
    for (const id of this.#ejected) {
      const state = this.#endpoints.get(id);
      if (state !== undefined && now >= state.ejectedUntil) this.#return(id, state, now);
    }
  }

  #return(id: string, state: EndpointState, now: number): void {
    state.ejected = false;
    state.returnedAt = state.ejectedUntil;
    state.consecutiveFailures = 0;
    this.#ejected.delete(id);
    this.#emit({ type: "returned", id, at: now });
  }

  #emit(event: OutlierEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener must not fail the call that triggered the event.
      }
    }
  }
}

function newState(): EndpointState {
  return { consecutiveFailures: 0, ejections: 0, ejected: false, ejectedUntil: 0, returnedAt: 0 };
}
