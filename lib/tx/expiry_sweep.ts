/**
 * The periodic sweep of a TCC participant's expired holds.
 *
 * @module
 */

/** Options of {@link startExpirySweep}. */
export interface ExpirySweepOptions {
  /** Time between sweeps, in ms. @default {30_000} */
  intervalMs?: number;
  /** Told of the transactions a sweep cancelled (none: not called). */
  onExpired?: (txIds: string[]) => void;
  /** Told of a sweep that failed; the next one runs as planned. */
  onError?: (error: unknown) => void;
}

/**
 * Calls `holds.expireStale()` every `intervalMs` on an unref'd timer (it
 * never keeps the process alive) until disposed: holds whose coordinator
 * disappeared are cancelled, and their late Confirm refused. Dispose it
 * before closing the participant's database.
 *
 * @example
 * ```ts
 * using sweep = startExpirySweep(participant, {
 *   onExpired: (txIds) => logger.warn("expired holds", { txIds }),
 * });
 * ```
 */
export function startExpirySweep(
  holds: { expireStale(): string[] },
  options: ExpirySweepOptions = {},
): Disposable {
  const intervalMs = options.intervalMs ?? 30_000;
  if (!(Number.isFinite(intervalMs) && intervalMs > 0)) {
    throw new RangeError(
      `Cannot start the expiry sweep as 'intervalMs' must be a positive number: current value is ${intervalMs}`,
    );
  }
  const timer = setInterval(() => {
    try {
      const expired = holds.expireStale();
      if (expired.length > 0) options.onExpired?.(expired);
    } catch (error) {
      options.onError?.(error);
    }
  }, intervalMs);
  Deno.unrefTimer(timer);
  return { [Symbol.dispose]: () => clearInterval(timer) };
}
