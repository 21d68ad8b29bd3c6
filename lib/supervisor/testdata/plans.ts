/**
 * Fixture plans for the supervisor's tests.
 *
 * @module
 */

import { defineContract } from "@flotilla/core";
import type { SystemPlan } from "../plan.ts";
import { alphaContract, betaContract } from "./contracts.ts";

/** alpha and beta, beta listed first so the start order must reorder them. */
export const fixture: SystemPlan = {
  name: "fixture",
  services: [
    { contract: betaContract, entry: new URL("./beta.ts", import.meta.url) },
    {
      contract: alphaContract,
      entry: new URL("./alpha.ts", import.meta.url),
      env: { ALPHA_GREETING: "hi" },
    },
  ],
};

/** alpha, then a service that always exits with code 3. */
export const crashing: SystemPlan = {
  name: "crashing",
  services: [
    fixture.services[1]!,
    {
      contract: defineContract({ name: "crash", version: "1.0.0", actions: {} }),
      entry: new URL("./crash.ts", import.meta.url),
    },
  ],
};

/** One service that ignores SIGTERM. */
export const stubborn: SystemPlan = {
  name: "stubborn",
  services: [{
    contract: defineContract({ name: "stubborn", version: "1.0.0", actions: {} }),
    entry: new URL("./stubborn.ts", import.meta.url),
  }],
};

export default fixture;
