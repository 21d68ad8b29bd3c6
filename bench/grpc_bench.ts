// deno-lint-ignore-file no-console
/**
 * Calls per second and latency of a Flotilla call over the gRPC transport,
 * beside raw grpc-js in the same run, at 1 and at 64 calls in flight.
 *
 * Cases, each measured in alternating rounds so machine noise hits all alike:
 * - `raw grpc-js → raw grpc-js`: the baseline — a grpc-js client and server
 *   with protobufjs messages, no deadline, no metadata;
 * - `raw grpc-js + deadline, trace, caller`: the same calls carrying what
 *   every Flotilla call carries on the wire (`grpc-timeout`, `traceparent`,
 *   `flotilla-caller`): what the protocol itself costs for them;
 * - `pipeline → raw grpc-js`: the client side alone — typed client (contract
 *   validation), deadline, trace, discovery cache, balancer, breaker,
 *   bulkhead, retry budget and `grpcCaller` (metadata, proto codec);
 * - `pipeline → Flotilla gRPC service`: both sides — the above against a
 *   service on `grpcTransport` (proto codec, host, validation both ways).
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-run --allow-read --allow-env bench/grpc_bench.ts`
 * (add `--seconds N`, `--rounds N`, `--concurrency 1,64`).
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import process from "node:process";
import { parseArgs } from "node:util";
import protobuf from "protobufjs";
import { Peers } from "@flotilla/client";
import { StaticRegistry } from "@flotilla/discovery";
import { grpcCaller } from "@flotilla/grpc";
import { TextLineStream } from "@flotilla/testing";
import { benchEchoContract } from "./_echo_servers.ts";
import { ECHO_PATH, ECHO_PROTO, echoBinding } from "./_grpc_servers.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "2" },
    rounds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "1,64" },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const LEVELS = values.concurrency.split(",").map(Number);

interface Sample {
  rate: number;
  p50: number;
  p99: number;
  /** CPU time of this (client) process per call, in microseconds. */
  cpuUs: number;
}

async function measure(
  call: (n: number) => Promise<unknown>,
  concurrency: number,
): Promise<Sample> {
  // Warm up connections and JIT before the clock starts.
  const warmUntil = performance.now() + 300;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < warmUntil) await call(0);
  }));
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const end = performance.now() + SECONDS * 1000;
  let count = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await call(count++);
      latencies.push(performance.now() - t);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  return {
    cpuUs: (cpu.user + cpu.system) / latencies.length,
    rate: latencies.length / elapsed,
    p50: latencies[Math.floor(latencies.length * 0.5)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
  };
}

const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-env",
    new URL("./_grpc_servers.ts", import.meta.url).pathname,
  ],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const lines = server.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
const reader = lines.getReader();
const first = await reader.read();
const [, rawPort, servicePort] = (first.value ?? "").split(" ").map(Number);
if (!rawPort || !servicePort) throw new Error(`the bench servers did not start: ${first.value}`);

const text = "x".repeat(64);

// The baseline: a plain grpc-js client, messages encoded by protobufjs.
const Echo = protobuf.loadSync(ECHO_PROTO.pathname).lookupType("flotilla.bench.v1.EchoMessage");
const rawClient = new grpc.Client(`127.0.0.1:${rawPort}`, grpc.credentials.createInsecure());
const rawCall = (n: number, withMetadata: boolean) =>
  new Promise((resolve, reject) => {
    const metadata = new grpc.Metadata();
    if (withMetadata) {
      metadata.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
      metadata.set("flotilla-caller", "bench");
    }
    rawClient.makeUnaryRequest(
      ECHO_PATH,
      (value: Record<string, unknown>) => Buffer.from(Echo.encode(value).finish()),
      (bytes: Buffer) => Echo.toObject(Echo.decode(bytes), { longs: Number }),
      { n, text },
      metadata,
      withMetadata ? { deadline: Date.now() + 10_000 } : {},
      (error, value) => error ? reject(error) : resolve(value),
    );
  });

const caller = grpcCaller({ bindings: [echoBinding()] });
function pipelineTo(port: number) {
  const registry = new StaticRegistry({ "bench-echo": [`grpc://127.0.0.1:${port}`] });
  const peers = new Peers({ caller: "bench", registry, transport: caller });
  const client = peers.client(benchEchoContract);
  return { call: (n: number) => client.call("echo", { n, text }), peers };
}
const toRaw = pipelineTo(rawPort);
const toService = pipelineTo(servicePort);

const BASELINE = "raw grpc-js → raw grpc-js";
const cases: Record<string, (n: number) => Promise<unknown>> = {
  [BASELINE]: (n) => rawCall(n, false),
  "raw grpc-js + deadline, trace, caller": (n) => rawCall(n, true),
  "pipeline → raw grpc-js": toRaw.call,
  "pipeline → Flotilla gRPC service": toService.call,
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[], digits = 0) =>
  `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

const tables: string[] = [];
for (const concurrency of LEVELS) {
  const results: Record<string, Sample[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, call] of Object.entries(cases)) {
      const sample = await measure(call, concurrency);
      (results[name] ??= []).push(sample);
      console.error(
        `${concurrency} in flight, round ${round + 1}, ${name}: ${Math.round(sample.rate)} calls/s`,
      );
    }
  }
  const baseline = results[BASELINE]!;
  const rows = Object.entries(results).map(([name, samples]) => {
    // Each round's ratio against the baseline of the same round, then the median: the machine's
    // drift between rounds cancels out.
    const ratios = samples.map((s, i) => (s.rate / baseline[i]!.rate) * 100);
    const rates = samples.map((s) => s.rate);
    return `| ${name} | ${Math.round(median(rates))} (${range(rates)}) | ${
      median(samples.map((s) => s.p50)).toFixed(2)
    } | ${median(samples.map((s) => s.p99)).toFixed(2)} | ${
      median(samples.map((s) => s.cpuUs)).toFixed(0)
    } | ${median(ratios).toFixed(0)} % (${range(ratios)} %) |`;
  });
  tables.push(
    [
      `${concurrency} in flight, ${ROUNDS} rounds of ${SECONDS} s, medians (min–max)`,
      "",
      "| case | calls/s | p50 ms | p99 ms | client CPU µs/call | of raw (paired by round) |",
      "|---|---|---|---|---|---|",
      ...rows,
    ].join("\n"),
  );
}
console.log(tables.join("\n\n"));

await toRaw.peers[Symbol.asyncDispose]();
await toService.peers[Symbol.asyncDispose]();
await caller[Symbol.asyncDispose]();
rawClient.close();
server.kill("SIGTERM");
await server.status;
