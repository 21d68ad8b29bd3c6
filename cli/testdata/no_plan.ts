/**
 * A module that exports no plan.
 *
 * @module
 */

/** Not a plan. */
export const answer = 42;
