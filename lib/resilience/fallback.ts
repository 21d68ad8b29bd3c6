/**
 * A fallback: a degraded answer when a call fails for reasons that are not
 * the caller's.
 *
 * @module
 */

import { isFailure } from "./classify.ts";
import { BulkheadFullError, CircuitOpenError } from "./errors.ts";

/** Options of {@link withFallback}. */
export interface FallbackOptions {
  /**
   * Which errors fall back. By default the callee's failures
   * ({@link isFailure}) and local rejections ({@link CircuitOpenError},
   * {@link BulkheadFullError}); a caller's mistake or a cancellation is
   * rethrown.
   */
  when?: (error: unknown) => boolean;
}

/**
 * Runs `fn`; when it fails with an error `when` accepts, resolves to
 * `fallback(error)` instead. Other errors, and errors of the fallback itself,
 * are thrown.
 *
 * @example
 * ```ts
 * import { withFallback } from "@flotilla/resilience";
 *
 * const recommendations = await withFallback(
 *   () => fetch("http://127.0.0.1:7105/rpc/recommend").then((r) => r.json()),
 *   () => [],
 * );
 * ```
 */
export async function withFallback<T, F = T>(
  fn: () => T | Promise<T>,
  fallback: (error: unknown) => F | Promise<F>,
  options: FallbackOptions = {},
): Promise<T | F> {
  const when = options.when ?? shouldFallBack;
  try {
    return await fn();
  } catch (error) {
    if (!when(error)) throw error;
    return await fallback(error);
  }
}

function shouldFallBack(error: unknown): boolean {
  return isFailure(error) || error instanceof CircuitOpenError ||
    error instanceof BulkheadFullError;
}
