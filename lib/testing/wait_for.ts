/**
 * Polling until a condition holds, for tests that watch other processes.
 *
 * @module
 */

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long; a safety net against hangs, not a time assertion. @default {60_000} */
  timeoutMs?: number;
  /** Pause between attempts. @default {50} */
  intervalMs?: number;
  /** What is being waited for, for the error message. */
  what?: string;
}

/**
 * Calls `probe` until it returns a value other than `undefined`/`false`
 * (a throw counts as not yet), and returns that value.
 *
 * @example
 * ```ts
 * await waitFor(async () => (await fetch(url).catch(() => undefined))?.ok, { what: "the gateway" });
 * ```
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const intervalMs = options.intervalMs ?? 50;
  const giveUpAt = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > giveUpAt) {
      throw new Error(
        `Gave up waiting for ${options.what ?? "a condition"} after ${timeoutMs} ms`,
        {
          cause: lastError,
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
