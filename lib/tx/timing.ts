/**
 * How the orchestrator and the coordinator wait: an injectable
 * {@link Sleep} (real timers by default, {@link manualSleep} in tests, so no
 * test waits on wall time), retry options and exponential backoff with full
 * jitter.
 *
 * @module
 */

import type { ManualClock } from "@flotilla/core";

/**
 * Waits `ms` milliseconds; rejects with the signal's reason when it is
 * aborted. Backoff delays and step timeouts go through it.
 */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** A {@link Sleep} on real timers. */
export function systemSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer: ReturnType<typeof setTimeout> = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A {@link Sleep} for tests: it yields one macrotask (so work that settles
 * on microtasks — in-memory steps — always wins a race against a timeout),
 * then advances `clock` by `ms` and resolves. An aborted sleep rejects and
 * leaves the clock alone.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@flotilla/core";
 * import { manualSleep } from "@flotilla/tx";
 *
 * const clock = new ManualClock(0);
 * await manualSleep(clock)(1_000);
 * clock.now(); // 1000
 * ```
 */
export function manualSleep(clock: ManualClock): Sleep {
  return async (ms, signal) => {
    signal?.throwIfAborted();
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    signal?.throwIfAborted();
    clock.advance(Math.max(0, ms));
  };
}

/** How often and how soon an action, compensation, Try, Confirm or Cancel is tried again. */
export interface RetryOptions {
  /** Attempts in all, counting the first; `Infinity` retries until the deadline. @default {5} */
  maxAttempts?: number;
  /** Cap of the first retry's delay; each further retry doubles it (full jitter below the cap). @default {100} */
  initialDelayMs?: number;
  /** Largest cap of a delay. @default {10_000} */
  maxDelayMs?: number;
}

/** {@link RetryOptions} with every field set. */
export type ResolvedRetry = Required<RetryOptions>;

/** Fills in and checks retry options; `action` names what is configured, for the RangeError. */
export function resolveRetry(
  options: RetryOptions | undefined,
  fallback: ResolvedRetry,
  action: string,
): ResolvedRetry {
  const resolved = { ...fallback, ...options };
  const { maxAttempts, initialDelayMs, maxDelayMs } = resolved;
  if (!(maxAttempts === Infinity || (Number.isInteger(maxAttempts) && maxAttempts >= 1))) {
    throw new RangeError(
      `Cannot ${action} as 'maxAttempts' must be a positive integer or Infinity: current value is ${maxAttempts}`,
    );
  }
  if (!(initialDelayMs >= 0 && Number.isFinite(initialDelayMs))) {
    throw new RangeError(
      `Cannot ${action} as 'initialDelayMs' must be a finite number >= 0: current value is ${initialDelayMs}`,
    );
  }
  if (!(maxDelayMs >= initialDelayMs && Number.isFinite(maxDelayMs))) {
    throw new RangeError(
      `Cannot ${action} as 'maxDelayMs' must be finite and >= 'initialDelayMs': current value is ${maxDelayMs}`,
    );
  }
  return resolved;
}

/** The default retry of actions, compensations and TCC calls. */
export const DEFAULT_RETRY: ResolvedRetry = {
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
};

/**
 * The delay before the retry that follows attempt `attempt` (1-based):
 * exponential backoff with full jitter, `random() × min(maxDelayMs,
 * initialDelayMs × 2^(attempt−1))`.
 *
 * @example
 * ```ts
 * import { backoffDelay } from "@flotilla/tx";
 *
 * backoffDelay(3, { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 10_000 }, () => 0.5); // 200
 * ```
 */
export function backoffDelay(
  attempt: number,
  retry: ResolvedRetry,
  random: () => number = Math.random,
): number {
  const cap = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/** Checks an optional positive duration option. */
export function checkDuration(value: number | undefined, name: string, action: string): void {
  if (value === undefined) return;
  if (!(value > 0)) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be a positive number of milliseconds: current value is ${value}`,
    );
  }
}
