/**
 * Takes the lock of the data root given as argument, says "locked" and
 * waits to be killed.
 *
 * @module
 */

import { lockDataRoot } from "../lock.ts";

await lockDataRoot(Deno.args[0]!);
await Deno.stdout.write(new TextEncoder().encode("locked\n"));
setInterval(() => {}, 1_000);
