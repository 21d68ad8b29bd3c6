// Internal helper; not exported by mod.ts. The settings and the retry loop the OTLP exporters share.

import { sleep, systemTimers } from "@flotilla/resilience";
import type { PartialSuccess } from "./_otlp.ts";
import type { OtlpExportError } from "./errors.ts";

/** One request's failure: why, and how long the collector asked to wait (if it did). */
export interface SendFailure {
  readonly error: OtlpExportError;
  readonly retryAfterMs?: number | undefined;
}

/** An exporter's checked settings: its time per export, compression and retries. */
export interface ExportPlan {
  /** How long one export may take, retries included. */
  readonly timeoutMs: number;
  readonly gzip: boolean;
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly random: () => number;
}

/**
 * The settings of an exporter's options, checked, with the OTLP defaults:
 * 10 s per export, no compression, 5 requests at most.
 *
 * @throws {RangeError} for a `timeoutMs` not above 0, an unknown
 * compression, a `retry.maxAttempts` below 1 or a negative delay.
 */
export function exportPlan(options: {
  timeoutMs?: number;
  compression?: string;
  retry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number };
  random?: () => number;
}): ExportPlan {
  const plan = {
    timeoutMs: options.timeoutMs ?? 10_000,
    gzip: options.compression === "gzip",
    maxAttempts: options.retry?.maxAttempts ?? 5,
    initialDelayMs: options.retry?.initialDelayMs ?? 1_000,
    maxDelayMs: options.retry?.maxDelayMs ?? 5_000,
    random: options.random ?? Math.random,
  };
  const refuse = (name: string, rule: string, value: unknown) => {
    throw new RangeError(
      `Cannot create the OTLP exporter as '${name}' must be ${rule}: current value is ${value}`,
    );
  };
  if (!(Number.isFinite(plan.timeoutMs) && plan.timeoutMs > 0)) {
    refuse("timeoutMs", "a positive number", plan.timeoutMs);
  }
  const compression = options.compression ?? "none";
  if (compression !== "gzip" && compression !== "none") {
    refuse("compression", '"gzip" or "none"', `"${compression}"`);
  }
  if (!(Number.isInteger(plan.maxAttempts) && plan.maxAttempts >= 1)) {
    refuse("retry.maxAttempts", "an integer >= 1", plan.maxAttempts);
  }
  for (const name of ["initialDelayMs", "maxDelayMs"] as const) {
    if (!(Number.isFinite(plan[name]) && plan[name] >= 0)) {
      refuse(`retry.${name}`, "a number >= 0", plan[name]);
    }
  }
  return plan;
}

/**
 * Calls `send` until the collector takes the request — resolving with its
 * partial success, if any — a failure is not retryable, `plan.maxAttempts`
 * requests were sent, `plan.timeoutMs` passed, or `signal` aborts; between
 * two requests waits as the collector asked, else an exponential backoff
 * with full jitter. Rejects with the last failure's error.
 */
export async function sendWithRetry(
  send: (stop: AbortSignal) => Promise<SendFailure | PartialSuccess | undefined>,
  plan: ExportPlan,
  signal: AbortSignal | undefined,
): Promise<PartialSuccess | undefined> {
  // `timeoutMs` bounds the whole export, retries included, as OTEL_EXPORTER_OTLP_TIMEOUT says.
  const deadline = AbortSignal.timeout(plan.timeoutMs);
  const stop = signal ? AbortSignal.any([signal, deadline]) : deadline;
  for (let attempt = 1;; attempt++) {
    const outcome = await send(stop);
    if (outcome === undefined || !("error" in outcome)) return outcome;
    if (!outcome.error.retryable || attempt >= plan.maxAttempts || stop.aborted) {
      throw outcome.error;
    }
    const backoff = Math.min(plan.maxDelayMs, plan.initialDelayMs * 2 ** (attempt - 1)) *
      plan.random();
    try {
      await sleep(outcome.retryAfterMs ?? backoff, systemTimers, stop);
    } catch {
      throw outcome.error; // the export's time is up: the last failure says why
    }
  }
}
