/**
 * A tiny Flotilla service for integration tests: `whoami` answers with the
 * instance id, `slow` holds its answer for a while. Booted like any service
 * (`bootService`), so it registers itself in the registry named by
 * `FLOTILLA_REGISTRY` and deregisters on SIGTERM.
 *
 * @module
 */

import { z } from "zod";
import { defineContract, defineService } from "@flotilla/core";
import { bootService } from "@flotilla/runtime";

/** The echo contract. */
export const echoContract = defineContract({
  name: "echo",
  version: "1.0.0",
  actions: {
    whoami: {
      input: z.object({ n: z.number().int().optional() }),
      output: z.object({ instance: z.string(), n: z.number().int().optional() }),
      idempotent: true,
    },
  },
  needs: { env: ["ECHO_DELAY_MS"] },
});

if (import.meta.main) {
  const node = await bootService(echoContract);
  const instance = node.env.instanceId;
  await node.serve(defineService(echoContract, {
    whoami: ({ n }) => (n === undefined ? { instance } : { instance, n }),
  }));
}
