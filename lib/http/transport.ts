/**
 * The HTTP transport: serves a host's app with `Deno.serve`.
 *
 * @module
 */

import type { ServiceHost, Transport } from "@flotilla/core";
import { createHttpApp, type HttpAppOptions } from "./app.ts";

/** Options of {@link httpTransport}. */
export interface HttpTransportOptions extends HttpAppOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Address to bind. @default {"127.0.0.1"} */
  hostname?: string;
}

/**
 * A {@link Transport} that serves the service over HTTP/1.1 and HTTP/2 with
 * `Deno.serve`. Stopping it stops accepting connections and waits for
 * in-flight requests.
 *
 * @example
 * ```ts
 * await runService(service, { transports: [httpTransport({ port: 8080 })] });
 * ```
 */
export function httpTransport(options: HttpTransportOptions): Transport {
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  return {
    name: "http",
    start(host: ServiceHost) {
      const app = createHttpApp(host, options);
      return new Promise((resolve, reject) => {
        try {
          server = Deno.serve({
            port: options.port,
            hostname: options.hostname ?? "127.0.0.1",
            onListen: ({ hostname, port }) => resolve({ hostname, port }),
            onError: (error) => {
              host.logger.error("HTTP server error", { error });
              return new Response("Internal Server Error", { status: 500 });
            },
          }, (request) => app.fetch(request));
        } catch (error) {
          reject(error);
        }
      });
    },
    async stop(signal: AbortSignal) {
      if (!server) return;
      const shutdown = server.shutdown();
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
        shutdown.then(() => resolve(), () => resolve());
      });
    },
  };
}
