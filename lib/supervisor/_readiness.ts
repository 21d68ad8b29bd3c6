// Internal helper; not exported by mod.ts.

import { delay } from "./_delay.ts";
import { http1Request } from "./_http1.ts";

/** How a wait for readiness ended. */
export type Readiness = "ready" | "timeout" | "aborted";

/** Options of {@link waitUntilReady}. */
export interface WaitUntilReadyOptions {
  /** Time (ms since the epoch) after which the wait gives up. */
  deadline: number;
  /** Ends the wait early, e.g. when the process exits or the supervisor stops. */
  signal: AbortSignal;
  /** Path probed. @default {"/readyz"} */
  path?: string;
  /** First pause between probes, doubling up to `maxIntervalMs`. @default {25} */
  intervalMs?: number;
  /** Longest pause between probes. @default {500} */
  maxIntervalMs?: number;
  /** Longest wait for one probe's response. @default {2_000} */
  probeTimeoutMs?: number;
}

/**
 * Probes `GET <path>` on `hostname:port` until it answers 200, the deadline
 * passes or the signal aborts.
 */
export async function waitUntilReady(
  hostname: string,
  port: number,
  options: WaitUntilReadyOptions,
): Promise<Readiness> {
  const { deadline, signal } = options;
  const maxIntervalMs = options.maxIntervalMs ?? 500;
  const probeTimeoutMs = options.probeTimeoutMs ?? 2_000;
  let interval = options.intervalMs ?? 25;
  while (true) {
    if (signal.aborted) return "aborted";
    const remaining = deadline - Date.now();
    if (remaining <= 0) return "timeout";
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), Math.min(probeTimeoutMs, remaining));
    try {
      const status = await httpStatus(hostname, port, options.path ?? "/readyz", {
        signal: AbortSignal.any([signal, timeout.signal]),
      });
      if (status === 200) return "ready";
    } catch {
      // Not listening yet, or too slow: probe again.
    } finally {
      clearTimeout(timer);
    }
    await delay(Math.min(interval, Math.max(0, deadline - Date.now())), signal);
    interval = Math.min(interval * 2, maxIntervalMs);
  }
}

/**
 * The status code of `GET path` on `hostname:port`, over a plain HTTP/1.1
 * connection. Unlike `fetch`, it never goes through an `HTTP_PROXY`, which
 * would not reach a service on the supervisor's loopback.
 */
export async function httpStatus(
  hostname: string,
  port: number,
  path: string,
  options: { signal: AbortSignal },
): Promise<number> {
  const response = await http1Request(hostname, port, {
    method: "GET",
    path,
    signal: options.signal,
  });
  return response.status;
}
