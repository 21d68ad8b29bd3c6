/**
 * Abortable waiting, shared by the adapters. Private to the package.
 *
 * @module
 */

/**
 * Waits `ms` milliseconds, or less if `signal` aborts. Resolves `true` when
 * the time passed and `false` when aborted; never rejects. With `unref`, the
 * timer does not keep the process alive on its own.
 */
export function delay(ms: number, signal?: AbortSignal, unref = false): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    if (unref) Deno.unrefTimer(timer as unknown as number);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A signal that aborts when any of `signals` (ignoring `undefined`) aborts. */
export function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length === 1 ? present[0]! : AbortSignal.any(present);
}

/** Whether `error` is the rejection of an aborted operation. */
export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException &&
    (error.name === "AbortError" || error.name === "TimeoutError");
}
