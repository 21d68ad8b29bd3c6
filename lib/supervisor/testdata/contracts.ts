/**
 * Contracts of the fixture system used by the supervisor's tests: `alpha`
 * keeps a boot counter in its data folder; `beta` is public and calls alpha.
 *
 * @module
 */

import { z } from "zod";
import { defineContract } from "@flotilla/core";

/** A service with a data folder and a variable of its own. */
export const alphaContract = defineContract({
  name: "alpha",
  version: "1.0.0",
  actions: {
    boots: {
      description: "How many times the process started on this data folder.",
      input: z.strictObject({}),
      output: z.object({ boots: z.number() }),
    },
    probe: {
      description: "Tries what its permissions forbid and reports what was denied.",
      input: z.strictObject({ url: z.string() }),
      output: z.record(z.string(), z.string()),
    },
  },
  needs: { dataDir: true, env: ["ALPHA_GREETING"] },
});

/** The public service, which needs alpha. */
export const betaContract = defineContract({
  name: "beta",
  version: "1.0.0",
  actions: {
    hello: {
      description: "Calls alpha and greets.",
      input: z.strictObject({}),
      output: z.object({ text: z.string(), alphaBoots: z.number() }),
    },
  },
  needs: { port: { env: "PORT", default: 8080, public: true }, peers: ["alpha"] },
});

/** The registry tests' service with a data folder, which `front` needs. */
export const backContract = defineContract({
  name: "back",
  version: "1.0.0",
  actions: {},
  needs: { dataDir: true },
});

/** The registry tests' service that needs `back`. */
export const frontContract = defineContract({
  name: "front",
  version: "1.0.0",
  actions: {},
  needs: { peers: ["back"] },
});
