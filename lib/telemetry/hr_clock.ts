/**
 * A wall clock with sub-millisecond resolution for span timestamps and
 * durations.
 *
 * @module
 */

import type { Clock } from "@flotilla/core";

/**
 * Epoch milliseconds with a fractional part: `performance.timeOrigin +
 * performance.now()`. Monotonic within the process, unlike `Date.now()`.
 */
export const hrClock: Clock = { now: () => performance.timeOrigin + performance.now() };
