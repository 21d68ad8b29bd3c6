/**
 * A fixture service that ignores SIGTERM, so only SIGKILL stops it.
 *
 * @module
 */

Deno.addSignalListener("SIGTERM", () => {});
Deno.serve({
  hostname: Deno.env.get("FLOTILLA_HOST") ?? "127.0.0.1",
  port: Number(Deno.env.get("PORT")),
  onListen: () => {},
}, () => new Response("ok"));
