/**
 * The alpha fixture service: counts its boots in its data folder.
 *
 * @module
 */

import { join } from "node:path";
import { defineService, readServiceEnv } from "@flotilla/core";
import { serveService } from "@flotilla/http";
import { alphaContract } from "./contracts.ts";

const dataDir = readServiceEnv(alphaContract).dataDir!;
const counter = join(dataDir, "boots.txt");
let boots = 0;
try {
  boots = Number(await Deno.readTextFile(counter));
} catch (error) {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}
boots++;
await Deno.writeTextFile(counter, String(boots));

async function denied(attempt: () => unknown): Promise<string> {
  try {
    await attempt();
    return "allowed";
  } catch (error) {
    return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ? "denied"
      : `error: ${(error as Error).name}`;
  }
}

await serveService(defineService(alphaContract, {
  boots: () => ({ boots }),
  probe: async ({ url }) => ({
    greeting: Deno.env.get("ALPHA_GREETING") ?? "(unset)",
    readOutside: await denied(() => Deno.readTextFile(join(dataDir, "..", "supervisor.json"))),
    writeOutside: await denied(() => Deno.writeTextFile(join(dataDir, "..", "x.txt"), "x")),
    readEnvHome: await denied(() => Deno.env.get("HOME")),
    fetchOther: await denied(async () => (await fetch(url)).body?.cancel()),
    run: await denied(() => new Deno.Command("true").output()),
  }),
}));
