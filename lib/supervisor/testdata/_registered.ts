/**
 * A trivial service for the registry tests, on plain `Deno.serve`: with the
 * `local` registry it registers itself under its `FLOTILLA_INSTANCE_ID` and
 * deregisters on SIGTERM; `GET /peers/<service>` lists that service's
 * instances in the registry; `GET /probe` tries what its permissions forbid.
 * It refuses to start while its data folder holds a file `refuse-start`.
 *
 * @module
 */

import { join } from "node:path";
import { openRegistry, type RegistrationHandle } from "@flotilla/discovery";

async function outcome(attempt: () => unknown): Promise<string> {
  try {
    await attempt();
    return "allowed";
  } catch (error) {
    return error instanceof Deno.errors.NotCapable ? "denied" : `error: ${(error as Error).name}`;
  }
}

/** Serves the fixture service `service` until SIGTERM. */
export async function serveRegistered(service: string): Promise<void> {
  const hostname = Deno.env.get("FLOTILLA_HOST") ?? "127.0.0.1";
  const port = Number(Deno.env.get("PORT"));
  const instanceId = Deno.env.get("FLOTILLA_INSTANCE_ID") ?? `${service}-x`;
  const kind = Deno.env.get("FLOTILLA_REGISTRY") ?? "static";
  const registryDir = Deno.env.get("FLOTILLA_REGISTRY_DIR");
  const dataDir = Deno.env.get("FLOTILLA_DATA_DIR");

  if (dataDir !== undefined) {
    const refuse = await Deno.stat(join(dataDir, "refuse-start")).then(() => true, () => false);
    if (refuse) {
      // deno-lint-ignore no-console
      console.error(`${service} fixture: refusing to start`);
      Deno.exit(3);
    }
  }

  // Only the local registry needs no server; the others are only named in flags.
  const registry = kind === "local"
    ? await openRegistry("local", { localDir: registryDir!, pollIntervalMs: 50 })
    : undefined;
  let handle: RegistrationHandle | undefined;

  const server = Deno.serve({ hostname, port, onListen: () => {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/healthz" || path === "/readyz") {
      return new Response(handle !== undefined || registry === undefined ? "ok" : "starting", {
        status: handle !== undefined || registry === undefined ? 200 : 503,
      });
    }
    if (path.startsWith("/peers/") && registry !== undefined) {
      const instances = await registry.instances(path.slice("/peers/".length));
      return Response.json(instances.map((instance) => instance.id).sort());
    }
    if (path === "/probe") {
      const root = join(registryDir ?? dataDir ?? "/nonexistent", "..");
      return Response.json({
        writeRegistry: registryDir === undefined
          ? "n/a"
          : await outcome(() => Deno.writeTextFile(join(registryDir, `${instanceId}.txt`), "x")),
        writeOutside: await outcome(() => Deno.writeTextFile(join(root, "escape.txt"), "x")),
        readStatus: await outcome(() => Deno.readTextFile(join(root, "supervisor.json"))),
        readHome: await outcome(() => Deno.env.get("HOME")),
      });
    }
    return new Response("not found", { status: 404 });
  });

  if (registry !== undefined) {
    handle = await registry.register({
      service,
      id: instanceId,
      address: hostname,
      port: server.addr.port,
      metadata: { protocol: "http" },
      ttlMs: 10_000,
    });
  }

  Deno.addSignalListener("SIGTERM", async () => {
    await handle?.deregister();
    await registry?.[Symbol.asyncDispose]();
    await server.shutdown();
    Deno.exit(0);
  });
}
