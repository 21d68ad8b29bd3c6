/**
 * The servers of the pipeline benchmark, in a process of their own: a raw
 * `Deno.serve` JSON echo, and the same echo as a Flotilla service (contract
 * validation, host, Hono routes), and that service again with telemetry on
 * (server spans exported over OTLP/HTTP protobuf to the sink whose URL is
 * the first argument, every call sampled, RED metrics, `/metrics`). Prints
 * `ready <rawPort> <servicePort> <telemetryServicePort> <cpuPort>`; `GET
 * http://127.0.0.1:<cpuPort>/` answers this process's CPU time so far (µs).
 *
 * With `sink` as the argument, it is instead the OTLP sink, in a process of
 * its own as a collector would be: it reads and discards every export and
 * answers `GET /cpu` with its CPU time; prints `sink <port>`.
 *
 * @module
 */

import process from "node:process";
import { z } from "zod";
import { defineContract, defineService, Logger, MemorySink, runService } from "@flotilla/core";
import { httpTransport } from "@flotilla/http";
import { createTelemetry, type Telemetry } from "@flotilla/telemetry";

/**
 * Telemetry exporting every span over OTLP/HTTP protobuf to the sink at
 * `sinkUrl` (the `sink` mode of this file, another process): what a service
 * pays with tracing fully on.
 */
export function benchTelemetry(service: string, sinkUrl: string): Telemetry {
  const env: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
    OTEL_BSP_SCHEDULE_DELAY: "200",
    OTEL_BSP_MAX_QUEUE_SIZE: "8192",
  };
  return createTelemetry({ service, instance: `${service}-1`, env: (name) => env[name] });
}

/** A server answering `GET /` with this process's CPU time so far, in µs. */
function cpuServer(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    const { user, system } = process.cpuUsage();
    return new Response(String(user + system));
  });
}

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

if (import.meta.main && Deno.args[0] === "sink") {
  const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    if (request.method === "GET") {
      const { user, system } = process.cpuUsage();
      return new Response(String(user + system));
    }
    await request.arrayBuffer();
    return new Response(null, { status: 200 });
  });
  await Deno.stdout.write(new TextEncoder().encode(`sink ${sink.addr.port}\n`));
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
} else if (import.meta.main) {
  const sinkUrl = Deno.args[0];
  if (!sinkUrl) throw new Error("usage: _echo_servers.ts <OTLP sink URL> | sink");
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
  const telemetry = benchTelemetry("bench-echo", sinkUrl);
  const cpu = cpuServer();
  const traced = await runService(
    defineService(benchEchoContract, { echo: ({ n, text }) => ({ n, text }) }),
    {
      logger: new Logger({ sink: new MemorySink() }),
      inbound: telemetry.inbound,
      transports: [httpTransport({ port: 0, metrics: () => telemetry.metricsResponse() })],
      signals: [],
    },
  );
  await Deno.stdout.write(
    new TextEncoder().encode(
      `ready ${raw.addr.port} ${running.addresses.http!.port} ${
        traced.addresses.http!.port
      } ${cpu.addr.port}\n`,
    ),
  );
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
}
