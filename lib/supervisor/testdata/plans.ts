/**
 * Fixture plans for the supervisor's tests.
 *
 * @module
 */

import { defineContract } from "@flotilla/core";
import type { SystemPlan } from "../plan.ts";
import { alphaContract, backContract, betaContract, frontContract } from "./contracts.ts";

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

/**
 * Two trivial `Deno.serve` services that register in the local registry:
 * `front` needs `back`, which runs two replicas.
 */
export const registered: SystemPlan = {
  name: "registered",
  services: [
    { contract: frontContract, entry: new URL("./front.ts", import.meta.url) },
    { contract: backContract, entry: new URL("./back.ts", import.meta.url), replicas: 2 },
  ],
};

export default fixture;
