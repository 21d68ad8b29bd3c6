/**
 * The engine that decides, call by call and message by message, which
 * faults to inject.
 *
 * @module
 */

import {
  DeadlineExceededError,
  FlotillaError,
  kindFromHttpStatus,
  type Logger,
  UnavailableError,
} from "@flotilla/core";
import { sleep, systemTimers, type Timers } from "@flotilla/resilience";
import {
  type ChaosConfig,
  type ChaosFault,
  type ChaosRule,
  type ChaosSide,
  KNOWN_CODE_KINDS,
  sidesOf,
} from "./rules.ts";
import { sampleLatency } from "./latency.ts";
import { deriveSeed, Prng } from "./prng.ts";
import { globMatch } from "./_glob.ts";

/** One call or message the engine is asked about. */
export interface ChaosPoint {
  /** Where: client, server, bus-publish, bus-consume. */
  readonly side: ChaosSide;
  /** The other party: callee (client), caller (server), stream (bus). */
  readonly peer?: string | undefined;
  /** The action, or the event type. */
  readonly action?: string | undefined;
  /** The endpoint id being called (client side). */
  readonly instance?: string | undefined;
}

/** A fault that ends the call or message: error, abort or drop. */
export type TerminalFault = Extract<ChaosFault, { type: "error" | "abort" | "drop" }>;

/** What to do with one call or message. */
export interface ChaosPlan {
  /** Milliseconds to wait first (the sum of the latency rules that fired). */
  readonly delayMs: number;
  /** The first error, abort or drop that fired, with its rule's id. */
  readonly terminal: { readonly rule: string; readonly fault: TerminalFault } | undefined;
  /** Extra copies to publish or deliver. */
  readonly duplicate: number;
  /** Hold the message this long out of band (reorder), when a reorder rule fired. */
  readonly reorderMs: number | undefined;
  /** The ids of the rules that fired, in rule order. */
  readonly fired: readonly string[];
}

/** The plan of a call or message no rule fired on. */
export const NO_FAULT: ChaosPlan = Object.freeze({
  delayMs: 0,
  terminal: undefined,
  duplicate: 0,
  reorderMs: undefined,
  fired: Object.freeze([]) as readonly string[],
});

/** Reported for every call or message some rule fired on. */
export interface ChaosInjection extends ChaosPlan {
  /** This process's service. */
  readonly service: string;
  /** Where. */
  readonly point: ChaosPoint;
}

/** Counters of one rule since it was loaded. */
export interface ChaosRuleStats {
  /** Calls or messages in its scope. */
  readonly matched: number;
  /** How many of them it fired on. */
  readonly fired: number;
}

/** Where rules come from at runtime: a `ConfigStore` of `@flotilla/config` fits. */
export interface ChaosConfigFeed<V> {
  /** Calls `listener` with the selected slice now (`immediate`) and whenever it changes. */
  subscribe<S>(
    select: (values: V) => S,
    listener: (slice: S) => void,
    options?: { immediate?: boolean },
  ): Disposable;
}

/** Options of {@link ChaosEngine}. */
export interface ChaosEngineOptions {
  /** This process's service: rules' `service` globs match it. */
  service: string;
  /** The initial rules (validated, e.g. by {@link parseChaosConfig}). @default {none: off} */
  config?: ChaosConfig | undefined;
  /** Timers of injected latencies. @default {systemTimers} */
  timers?: Timers;
  /** Where rule changes (and failures of out-of-band deliveries) are logged. */
  logger?: Logger;
  /** Told about every injection: for logs, metrics, and replay checks. */
  onInjection?: (injection: ChaosInjection) => void;
}

interface Entry {
  readonly key: string;
  readonly rule: ChaosRule;
  readonly sides: readonly ChaosSide[];
  readonly prng: Prng;
  matched: number;
  fired: number;
}

interface State {
  readonly config: ChaosConfig;
  readonly entries: readonly Entry[];
}

/**
 * Decides which faults to inject, from rules that can be swapped at
 * runtime. Each rule draws from its own seeded random stream (derived from
 * the config's `seed` and the rule's id with {@link deriveSeed}): for one
 * sequence of calls, the same seed injects exactly the same faults, so a
 * failing run replays by re-running it with the seed. A rule draws exactly
 * once per call in its scope (plus its latency samples when it fires), and a
 * rule left unchanged by an update keeps its stream.
 *
 * The middlewares ({@link chaosCallHandler}, {@link chaosEndpointTransport},
 * {@link chaosInvoke}, {@link chaosService}, {@link chaosBus}) ask
 * {@link ChaosEngine.plan} and carry the plan out.
 *
 * @example
 * ```ts
 * import { ChaosEngine, parseChaosConfig } from "@flotilla/chaos";
 *
 * const engine = new ChaosEngine({
 *   service: "order",
 *   config: await parseChaosConfig({
 *     enabled: true,
 *     seed: 42,
 *     rules: [{ id: "flaky", peer: "payment", percentage: 10, fault: { type: "error", status: 503 } }],
 *   }),
 * });
 * engine.plan({ side: "client", peer: "payment", action: "charge" }).terminal; // 1 call in 10
 * ```
 */
export class ChaosEngine {
  /** This process's service. */
  readonly service: string;
  readonly #timers: Timers;
  readonly #logger: Logger | undefined;
  readonly #onInjection: ((injection: ChaosInjection) => void) | undefined;
  #state: State | undefined;

  /** Creates the engine, off unless `config` enables it. */
  constructor(options: ChaosEngineOptions) {
    if (typeof options.service !== "string" || options.service === "") {
      throw new RangeError(
        `Cannot create the chaos engine as 'service' must be a non-empty string: current value is ${
          JSON.stringify(options.service)
        }`,
      );
    }
    this.service = options.service;
    this.#timers = options.timers ?? systemTimers;
    this.#logger = options.logger;
    this.#onInjection = options.onInjection;
    this.update(options.config);
  }

  /** The rules in force, or `undefined` when none are loaded. */
  get config(): ChaosConfig | undefined {
    return this.#state?.config;
  }

  /** Whether rules are loaded and their master switch is on. */
  get enabled(): boolean {
    return this.#state?.config.enabled === true;
  }

  /**
   * Replaces the rules at once (`undefined` turns chaos off). A rule whose
   * definition and seed are unchanged keeps its random stream and counters.
   */
  update(config: ChaosConfig | undefined): void {
    const previous = new Map((this.#state?.entries ?? []).map((entry) => [entry.key, entry]));
    if (config === undefined) {
      this.#state = undefined;
      if (previous.size > 0) this.#logger?.info("chaos off: rules removed");
      return;
    }
    const entries = config.rules.map((rule): Entry => {
      const key = `${config.seed}:${JSON.stringify(rule)}`;
      const kept = previous.get(key);
      if (kept) return kept;
      return {
        key,
        rule,
        sides: rule.side ?? sidesOf(rule.fault.type),
        prng: new Prng(deriveSeed(config.seed, rule.id)),
        matched: 0,
        fired: 0,
      };
    });
    const wasEnabled = this.enabled;
    this.#state = { config, entries };
    if (config.enabled) {
      this.#logger?.warn("chaos rules in force", {
        seed: config.seed,
        rules: config.rules.filter((rule) => rule.enabled).map((rule) => rule.id),
      });
    } else if (wasEnabled) {
      this.#logger?.info("chaos off");
    }
  }

  /**
   * Follows the `chaos` slice of a configuration: the rules now, then after
   * every change. Dispose the result to stop following.
   *
   * @example
   * ```ts
   * import { z } from "zod";
   * import { ConfigStore } from "@flotilla/config";
   * import { ChaosEngine, chaosConfigSchema } from "@flotilla/chaos";
   *
   * const config = await ConfigStore.open(z.object({}), { sections: { chaos: chaosConfigSchema } });
   * const engine = new ChaosEngine({ service: "order" });
   * using _follow = engine.follow(config, (c) => c.chaos);
   * ```
   */
  follow<V>(feed: ChaosConfigFeed<V>, select: (values: V) => ChaosConfig | undefined): Disposable {
    return feed.subscribe(select, (config) => this.update(config), { immediate: true });
  }

  /**
   * Decides what to inject on one call or message: evaluates every enabled
   * rule in scope, in order. Latencies add up; the first error, abort or
   * drop wins; the largest duplicate count and the first reorder apply.
   */
  plan(point: ChaosPoint): ChaosPlan {
    const state = this.#state;
    if (state === undefined || !state.config.enabled) return NO_FAULT;
    let delayMs = 0;
    let terminal: ChaosPlan["terminal"];
    let duplicate = 0;
    let reorderMs: number | undefined;
    let fired: string[] | undefined;
    for (const entry of state.entries) {
      const rule = entry.rule;
      if (
        !rule.enabled || !entry.sides.includes(point.side) ||
        !globMatch(rule.service, this.service) ||
        !globMatch(rule.peer, point.peer ?? "") ||
        !globMatch(rule.action, point.action ?? "") ||
        !globMatch(rule.instance, point.instance ?? "")
      ) continue;
      entry.matched++;
      if (entry.prng.next() * 100 >= rule.percentage) continue;
      entry.fired++;
      (fired ??= []).push(rule.id);
      const fault = rule.fault;
      const random = () => entry.prng.next();
      switch (fault.type) {
        case "latency":
          delayMs += sampleLatency(fault.latency, random);
          break;
        case "reorder": {
          const held = sampleLatency(fault.latency, random);
          reorderMs ??= held;
          break;
        }
        case "duplicate":
          duplicate = Math.max(duplicate, fault.copies);
          break;
        default:
          terminal ??= { rule: rule.id, fault };
      }
    }
    if (fired === undefined) return NO_FAULT;
    const plan: ChaosPlan = { delayMs, terminal, duplicate, reorderMs, fired };
    if (this.#onInjection) {
      try {
        this.#onInjection({ ...plan, service: this.service, point });
      } catch (error) {
        this.#logger?.error("chaos onInjection listener failed", { error });
      }
    }
    return plan;
  }

  /** Counters of each rule in force, by id. */
  stats(): Record<string, ChaosRuleStats> {
    const out: Record<string, ChaosRuleStats> = {};
    for (const entry of this.#state?.entries ?? []) {
      out[entry.rule.id] = { matched: entry.matched, fired: entry.fired };
    }
    return out;
  }

  /**
   * Waits `ms` on the engine's timers; rejects as soon as `signal` aborts,
   * with its reason as a {@link FlotillaError} (`DEADLINE_EXCEEDED` for a
   * timeout, `CANCELLED` otherwise).
   */
  async delay(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0) {
      if (signal?.aborted) throw abortReason(signal.reason);
      return;
    }
    try {
      await sleep(ms, this.#timers, signal);
    } catch (reason) {
      throw abortReason(reason);
    }
  }

  /**
   * The {@link FlotillaError} an `error` fault of rule `rule` throws: its
   * kind from `kind`, else `status`, else the code; `data.chaos` names the
   * rule. An `UNAVAILABLE` one is an {@link UnavailableError}, so an
   * injected `CONNECTION_REFUSED` counts as never sent, as a real one does.
   */
  error(
    fault: Extract<ChaosFault, { type: "error" }>,
    rule: string,
    point: ChaosPoint,
  ): FlotillaError {
    const kind = fault.kind ??
      (fault.status !== undefined
        ? kindFromHttpStatus(fault.status)
        : KNOWN_CODE_KINDS[fault.code ?? ""] ?? "INTERNAL");
    const code = fault.code ?? kind;
    const message = fault.message ??
      `Injected ${code} on ${point.side} ${point.peer ?? ""}${
        point.action ? `.${point.action}` : ""
      } (chaos rule "${rule}")`;
    const data = {
      chaos: { rule, side: point.side },
      ...(point.peer ? { service: point.peer } : {}),
    };
    if (kind === "UNAVAILABLE" && fault.status === undefined && fault.retryable === undefined) {
      return new UnavailableError(message, { code, data });
    }
    return new FlotillaError(code, message, {
      kind,
      data,
      ...(fault.status === undefined ? {} : { httpStatus: fault.status }),
      ...(fault.retryable === undefined ? {} : { retryable: fault.retryable }),
    });
  }

  /** Logs a failure of work the engine moved out of band (a reordered message). */
  reportLate(what: string, error: unknown): void {
    this.#logger?.warn(`chaos: a reordered ${what} failed`, { error });
  }
}

function abortReason(reason: unknown): FlotillaError {
  if (reason instanceof FlotillaError) return reason;
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return new DeadlineExceededError("Ran out of time during an injected delay", { cause: reason });
  }
  return new FlotillaError("CANCELLED", "Cancelled during an injected delay", {
    kind: "CANCELLED",
    cause: reason,
  });
}
