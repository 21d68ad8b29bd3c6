/**
 * The servers of the pipeline benchmark, in a process of their own: a raw
 * `Deno.serve` JSON echo, and the same echo as a Flotilla service (contract
 * validation, host, Hono routes). Prints `ready <rawPort> <servicePort>`.
 *
 * @module
 */

import { z } from "zod";
import { defineContract, defineService, Logger, MemorySink, runService } from "@flotilla/core";
import { httpTransport } from "@flotilla/http";

/** The echo contract of the benchmark. */
export const benchEchoContract = defineContract({
  name: "bench-echo",
  version: "1.0.0",
  actions: {
    echo: {
      input: z.object({ n: z.number().int(), text: z.string() }),
      output: z.object({ n: z.number().int(), text: z.string() }),
      idempotent: true,
    },
  },
});

if (import.meta.main) {
  const raw = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = await request.json();
    return Response.json({ n: body.n, text: body.text });
  });
  const running = await runService(
    defineService(benchEchoContract, { echo: ({ n, text }) => ({ n, text }) }),
    {
      logger: new Logger({ sink: new MemorySink() }),
      transports: [httpTransport({ port: 0 })],
      signals: [],
    },
  );
  await Deno.stdout.write(
    new TextEncoder().encode(`ready ${raw.addr.port} ${running.addresses.http!.port}\n`),
  );
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
}
