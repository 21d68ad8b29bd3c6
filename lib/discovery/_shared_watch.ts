/**
 * Watching a registry that has no change feed, by polling it. Private to the
 * package; the adapters (local, DNS, Consul) build `watch()` on it.
 *
 * @module
 */

import { FlotillaError } from "@flotilla/core";
import type { ServiceInstance } from "./registry.ts";
import { delay } from "./_shared_abort.ts";
import { fingerprint, sortInstances } from "./_shared_instances.ts";

/** Options of {@link watchByPolling}. */
export interface WatchByPollingOptions {
  /** Pause between two polls, in milliseconds. */
  intervalMs: number;
  /** Ends the watch: the iteration returns (it does not throw). */
  signal?: AbortSignal;
  /**
   * Told about each retryable failure of a poll (e.g. `REGISTRY_UNAVAILABLE`);
   * the watch keeps its last list and polls again after `intervalMs`.
   */
  onError?: (error: unknown) => void;
}

/**
 * Polls `list` every `intervalMs` and yields its result, sorted by id, the
 * first time and then each time it differs from the previous one.
 *
 * A poll that fails with a retryable {@link FlotillaError} (such as a
 * `REGISTRY_UNAVAILABLE` `DiscoveryError`) is reported to `onError` and
 * retried after the interval; any other error ends the iteration with that
 * error. Aborting `signal` ends the iteration normally, also mid-poll (the
 * signal is passed to `list`).
 *
 * @example
 * ```ts
 * watch(service: string, options: RegistryCallOptions = {}) {
 *   return watchByPolling((signal) => this.instances(service, { signal }), {
 *     intervalMs: 1_000,
 *     signal: options.signal,
 *   });
 * }
 * ```
 */
export async function* watchByPolling(
  list: (signal: AbortSignal) => Promise<ServiceInstance[]>,
  options: WatchByPollingOptions,
): AsyncGenerator<ServiceInstance[], void, undefined> {
  const { intervalMs } = options;
  if (!(Number.isFinite(intervalMs) && intervalMs > 0)) {
    throw new RangeError(
      `Cannot watch the registry as 'intervalMs' must be a positive number: current value is ${intervalMs}`,
    );
  }
  const signal = options.signal ?? new AbortController().signal;
  let last: string | undefined;
  while (!signal.aborted) {
    let instances: ServiceInstance[] | undefined;
    try {
      instances = sortInstances([...await list(signal)]);
    } catch (error) {
      if (signal.aborted) return;
      if (!(error instanceof FlotillaError && error.retryable)) throw error;
      options.onError?.(error);
    }
    if (instances !== undefined) {
      const current = fingerprint(instances);
      if (current !== last) {
        last = current;
        yield instances;
      }
    }
    if (!await delay(intervalMs, signal)) return;
  }
}
