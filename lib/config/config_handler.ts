/**
 * `GET /config`: the configuration in force, secrets hidden.
 *
 * @module
 */

import { PROBLEM_CONTENT_TYPE, toProblem } from "@flotilla/core";
import { FlotillaError } from "@flotilla/core";
import type { ConfigDescription } from "./config_store.ts";

/** What {@link configHandler} reads: a {@link ConfigStore} fits. */
export interface DescribesConfig {
  /** The JSON to answer with. */
  describe(): ConfigDescription;
}

/**
 * A fetch handler for `GET /config` (and `HEAD`): 200 with
 * {@link ConfigStore.describe}'s JSON — version, source, revision,
 * `loadedAt`, values with secrets as `"***"`, counters and the last error —
 * never cached; other methods get a 405 problem+json. Mount it on any
 * router: `app.get("/config", (c) => handler(c.req.raw))` in Hono.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { ConfigStore, configHandler } from "@flotilla/config";
 *
 * const config = await ConfigStore.open(z.object({ pool: z.number() }), { defaults: { pool: 4 } });
 * const handler = configHandler(config);
 * const body = await handler(new Request("http://x/config")).json(); // { version: 1, … }
 * ```
 */
export function configHandler(store: DescribesConfig): (request: Request) => Response {
  return function config(request) {
    if (request.method !== "GET" && request.method !== "HEAD") {
      const problem = toProblem(
        new FlotillaError("METHOD_NOT_ALLOWED", `${request.method} is not allowed on /config`, {
          kind: "INVALID_ARGUMENT",
          httpStatus: 405,
        }),
        { instance: new URL(request.url).pathname },
      );
      return new Response(JSON.stringify(problem), {
        status: 405,
        headers: { "content-type": PROBLEM_CONTENT_TYPE, allow: "GET, HEAD" },
      });
    }
    const body = JSON.stringify(store.describe());
    return new Response(request.method === "HEAD" ? null : body, {
      status: 200,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
    });
  };
}
