/**
 * A test service instance: serves its id over HTTP on a free port and
 * registers itself in the registry named by its arguments, then prints
 * `ready <port>`. SIGTERM deregisters it and exits; SIGKILL leaves it to
 * expire.
 *
 * Usage: `deno run --allow-net=127.0.0.1 [--allow-read=DIR --allow-write=DIR]
 * registered_server.ts <registry-url> <service> <id> <ttl-ms> [local-dir]`
 *
 * @module
 */

import { openRegistry } from "../open_registry.ts";

const [registryUrl, service, id, ttl, localDir] = Deno.args;
if (registryUrl === undefined || service === undefined || id === undefined || ttl === undefined) {
  throw new Error("usage: registered_server.ts <registry-url> <service> <id> <ttl-ms> [local-dir]");
}

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  () => new Response(id),
);
const registry = await openRegistry(registryUrl, localDir === undefined ? {} : { localDir });
const handle = await registry.register({
  service,
  id,
  address: "127.0.0.1",
  port: server.addr.port,
  metadata: { protocol: "http", pid: String(Deno.pid) },
  ttlMs: Number(ttl),
});

Deno.addSignalListener("SIGTERM", async () => {
  await handle.deregister();
  await registry[Symbol.asyncDispose]();
  await server.shutdown();
  Deno.exit(0);
});

await Deno.stdout.write(new TextEncoder().encode(`ready ${server.addr.port}\n`));
