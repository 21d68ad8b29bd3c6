// A consumer process of the SQLite bus, for sqlite_bus_test.ts: prints each delivery.
// deno-lint-ignore-file no-console
/**
 * `deno run --allow-read --allow-write sqlite_consumer.ts <path> <stream> <group> <hang|ack>`
 *
 * Prints `ready` once subscribed, then `got <id> <attempt>` for each
 * delivery. With `hang` its handler never finishes (the test kills the
 * process); with `ack` it acknowledges each event.
 *
 * @module
 */

import { SqliteBus } from "../sqlite_bus.ts";

const [path, stream, group, mode] = Deno.args;
const bus = new SqliteBus({ path: path!, pollIntervalMs: 5 });
await bus.subscribe(stream!, async ({ event, attempt }) => {
  console.log(`got ${event.id} ${attempt}`);
  if (mode === "hang") await new Promise(() => {});
}, { group: group!, ackWaitMs: 500, concurrency: 1 });
console.log("ready");
