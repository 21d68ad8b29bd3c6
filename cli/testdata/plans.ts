/**
 * Modules the CLI tests load plans from: two plans and no default.
 *
 * @module
 */

import { crashing, fixture } from "../../lib/supervisor/testdata/plans.ts";

/** The supervisor's fixture plan. */
export const first = fixture;
/** A plan with a service that cannot start. */
export const second = crashing;
/** Not a plan. */
export const notAPlan = { name: "x" };
