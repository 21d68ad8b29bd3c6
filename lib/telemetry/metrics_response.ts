/**
 * The `/metrics` endpoint.
 *
 * @module
 */

import { PROMETHEUS_CONTENT_TYPE, type Registry } from "./registry.ts";

/**
 * Renders `registry` as the answer to a Prometheus scrape: status 200,
 * `Content-Type: text/plain; version=0.0.4; charset=utf-8`, a buffered body.
 *
 * @example
 * ```ts ignore
 * app.get("/metrics", () => metricsResponse(registry)); // Hono
 * ```
 */
export async function metricsResponse(registry: Registry): Promise<Response> {
  return new Response(await registry.render(), {
    status: 200,
    headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
  });
}
