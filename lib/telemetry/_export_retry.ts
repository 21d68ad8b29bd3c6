// Internal helper; not exported by mod.ts. The retry loop the OTLP exporters share.

import type { OtlpExportError } from "./errors.ts";

/** One request's failure: why, and how long the collector asked to wait (if it did). */
export interface SendFailure {
  readonly error: OtlpExportError;
  readonly retryAfterMs?: number | undefined;
}

/** Resolved retry settings of an exporter. */
export interface RetryPlan {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly random: () => number;
}

/**
 * The retry settings of `options`, checked.
 *
 * @throws {RangeError} for a `maxAttempts` below 1 or a negative delay.
 */
export function retryPlan(
  options: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number } | undefined,
  random: (() => number) | undefined,
): RetryPlan {
  const plan = {
    maxAttempts: options?.maxAttempts ?? 5,
    initialDelayMs: options?.initialDelayMs ?? 1_000,
    maxDelayMs: options?.maxDelayMs ?? 5_000,
    random: random ?? Math.random,
  };
  if (!(Number.isInteger(plan.maxAttempts) && plan.maxAttempts >= 1)) {
    throw new RangeError(
      `Cannot create the OTLP exporter as 'retry.maxAttempts' must be an integer >= 1: current value is ${plan.maxAttempts}`,
    );
  }
  for (const name of ["initialDelayMs", "maxDelayMs"] as const) {
    if (!(Number.isFinite(plan[name]) && plan[name] >= 0)) {
      throw new RangeError(
        `Cannot create the OTLP exporter as 'retry.${name}' must be a number >= 0: current value is ${
          plan[name]
        }`,
      );
    }
  }
  return plan;
}

/**
 * Calls `send` until it succeeds (resolves `undefined`), a failure is not
 * retryable, `plan.maxAttempts` requests were sent, or `stop` aborts; between
 * two requests waits as the collector asked, else an exponential backoff with
 * full jitter. Rejects with the last failure's error.
 */
export async function sendWithRetry(
  send: (stop: AbortSignal) => Promise<SendFailure | undefined>,
  plan: RetryPlan,
  stop: AbortSignal,
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const failure = await send(stop);
    if (failure === undefined) return;
    if (!failure.error.retryable || attempt >= plan.maxAttempts || stop.aborted) {
      throw failure.error;
    }
    const backoff = Math.min(plan.maxDelayMs, plan.initialDelayMs * 2 ** (attempt - 1)) *
      plan.random();
    try {
      await pause(failure.retryAfterMs ?? backoff, stop);
    } catch {
      throw failure.error; // the export's time is up: the last failure says why
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const abort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal.addEventListener("abort", abort, { once: true });
  });
}
