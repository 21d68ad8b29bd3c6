// A benchmark prints its results.
// deno-lint-ignore-file no-console
/**
 * Calls per second and latency through the full call pipeline, against raw
 * `fetch` to `Deno.serve` in the same run, at 64 calls in flight.
 *
 * Cases, each measured in alternating rounds so machine noise hits all alike:
 * - `raw fetch → raw Deno.serve`: the baseline;
 * - `HTTP/1.1 agent → raw Deno.serve`: the HTTP transport's connections
 *   alone (`Http1Agent`, no pipeline): what the pipeline itself costs shows
 *   against this one;
 * - `pipeline → raw Deno.serve`: the client side alone (contract validation,
 *   deadline, discovery cache, p2c balancer, breaker, bulkhead, retry
 *   budget, HTTP transport);
 * - `pipeline → Flotilla service`: both sides, what a service call costs;
 * - `pipeline + telemetry → Flotilla service + telemetry`: the same with
 *   telemetry on at both ends (client and server spans, every call sampled
 *   and exported over OTLP/HTTP protobuf to a discarding sink, RED metrics);
 *   its throughput is also given against the case above, paired by round.
 *
 * The OTLP sink runs in a process of its own, as a collector would. CPU per
 * call is given for the client (this process), the servers and the sink,
 * each read from the process itself (`process.cpuUsage()`).
 *
 * Run: `deno task bench` (add `--seconds N` and `--rounds N`).
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { Peers } from "@flotilla/client";
import { StaticRegistry } from "@flotilla/discovery";
import { Http1Agent } from "@flotilla/http";
import { TextLineStream } from "@flotilla/testing";
import { benchEchoContract, benchTelemetry } from "./_echo_servers.ts";
import type { CallObserver } from "@flotilla/client";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "2" },
    rounds: { type: "string", default: "7" },
    concurrency: { type: "string", default: "64" },
    case: { type: "string" },
    "profile-server": { type: "string" },
    pin: { type: "boolean" },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);

interface Sample {
  rate: number;
  p50: number;
  p99: number;
  /** CPU time of this (client) process per call, in microseconds. */
  cpuUs: number;
  /** CPU time of the server process per call, in microseconds. */
  serverCpuUs: number;
  /** CPU time of the OTLP sink process per call, in microseconds. */
  sinkCpuUs: number;
}

async function measure(call: (n: number) => Promise<unknown>): Promise<Sample> {
  // Warm up connections and JIT before the clock starts.
  const warmUntil = performance.now() + 500;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < warmUntil) await call(0);
  }));
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const serverBefore = await serverCpu();
  const sinkBefore = await sinkCpu();
  const end = performance.now() + SECONDS * 1000;
  let count = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await call(count++);
      latencies.push(performance.now() - t);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const serverUs = (await serverCpu()) - serverBefore;
  const sinkUs = (await sinkCpu()) - sinkBefore;
  latencies.sort((a, b) => a - b);
  return {
    cpuUs: (cpu.user + cpu.system) / latencies.length,
    serverCpuUs: serverUs / latencies.length,
    sinkCpuUs: sinkUs / latencies.length,
    rate: latencies.length / elapsed,
    p50: latencies[Math.floor(latencies.length * 0.5)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
  };
}

// With `--pin`, the servers run on the second core and this process on the first (Linux
// `taskset`), so the two sides do not trade places on the cores between rounds.
const pin = values.pin ?? false;
if (pin) {
  await new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", "0", String(Deno.pid)],
    stdout: "null",
  }).output();
}
const serversFile = new URL("./_echo_servers.ts", import.meta.url).pathname;
// The OTLP sink both sides export their spans to: a process of its own, as a collector is; its
// CPU is reported apart and charged to neither side.
const sink = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-net=127.0.0.1", serversFile, "sink"],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const sinkLine = await firstLine(sink.stdout);
const sinkPort = Number(sinkLine.split(" ")[1]);
if (!sinkPort) throw new Error(`the OTLP sink did not start: ${sinkLine}`);
const sinkUrl = `http://127.0.0.1:${sinkPort}`;
const sinkCpu = cpuOf(sinkUrl);

const server = new Deno.Command(pin ? "taskset" : Deno.execPath(), {
  args: [
    ...(pin ? ["-c", "1", Deno.execPath()] : []),
    "run",
    "--allow-net=127.0.0.1",
    // A CPU profile of the servers, written into the given folder when they stop.
    ...(values["profile-server"]
      ? ["--cpu-prof", `--cpu-prof-dir=${values["profile-server"]}`]
      : []),
    serversFile,
    sinkUrl,
  ],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const ready = await firstLine(server.stdout);
const [, rawPort, servicePort, tracedPort, cpuPort] = ready.split(" ").map(Number);
if (!rawPort || !servicePort || !tracedPort || !cpuPort) {
  throw new Error(`the bench servers did not start: ${ready}`);
}
const serverCpu = cpuOf(`http://127.0.0.1:${cpuPort}/`);

const text = "x".repeat(64);
const raw = (n: number) =>
  fetch(`http://127.0.0.1:${rawPort}/rpc/echo`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ n, text }),
  }).then((r) => r.json());

const agent = new Http1Agent();
const decoder = new TextDecoder();
const rawAgent = async (n: number) => {
  const { body } = await agent.request({ hostname: "127.0.0.1", port: rawPort }, {
    method: "POST",
    path: "/rpc/echo",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ n, text }),
  });
  return JSON.parse(decoder.decode(body));
};

function pipelineTo(port: number, observer?: CallObserver) {
  const registry = new StaticRegistry({ "bench-echo": [`http://127.0.0.1:${port}`] });
  const peers = new Peers({ caller: "bench", registry, ...(observer ? { observer } : {}) });
  const client = peers.client(benchEchoContract);
  return { call: (n: number) => client.call("echo", { n, text }), peers };
}
const toRaw = pipelineTo(rawPort);
const toService = pipelineTo(servicePort);
const clientTelemetry = benchTelemetry("bench", sinkUrl);
const toTraced = pipelineTo(tracedPort, clientTelemetry.callObserver);
const TELEMETRY_OFF = "pipeline → Flotilla service";
const TELEMETRY_ON = "pipeline + telemetry → Flotilla service + telemetry";

const cases: Record<string, (n: number) => Promise<unknown>> = {
  "raw fetch → raw Deno.serve": raw,
  "HTTP/1.1 agent → raw Deno.serve": rawAgent,
  "pipeline → raw Deno.serve": toRaw.call,
  [TELEMETRY_OFF]: toService.call,
  [TELEMETRY_ON]: toTraced.call,
};
const results: Record<string, Sample[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, call] of Object.entries(cases)) {
    if (values.case && name !== "raw fetch → raw Deno.serve" && !name.includes(values.case)) {
      continue;
    }
    const sample = await measure(call);
    (results[name] ??= []).push(sample);
    console.error(`round ${round + 1} ${name}: ${Math.round(sample.rate)} calls/s`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const baselineName = "raw fetch → raw Deno.serve";
const baseline = results[baselineName]!;
const rows = Object.entries(results).map(([name, samples]) => {
  // Each round's ratio against the baseline of the same round, then the median: the machine's
  // drift between rounds cancels out.
  const ratio = median(samples.map((s, i) => s.rate / baseline[i]!.rate));
  return `| ${name} | ${Math.round(median(samples.map((s) => s.rate)))} | ${
    median(samples.map((s) => s.p50)).toFixed(2)
  } | ${median(samples.map((s) => s.p99)).toFixed(2)} | ${
    median(samples.map((s) => s.cpuUs)).toFixed(1)
  } | ${median(samples.map((s) => s.serverCpuUs)).toFixed(1)} | ${
    median(samples.map((s) => s.sinkCpuUs)).toFixed(1)
  } | ${(ratio * 100).toFixed(0)} % |`;
});
console.log(
  [
    `Pipeline benchmark: ${CONCURRENCY} calls in flight, ${ROUNDS} rounds of ${SECONDS} s, medians`,
    "",
    "| case | calls/s | p50 ms | p99 ms | client CPU µs/call | server CPU µs/call | OTLP sink CPU µs/call | of raw (paired by round) |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n"),
);
const agentAlone = results["HTTP/1.1 agent → raw Deno.serve"];
const pipelineAlone = results["pipeline → raw Deno.serve"];
if (agentAlone && pipelineAlone) {
  const ratios = pipelineAlone.map((s, i) => s.rate / agentAlone[i]!.rate);
  console.log(
    `\nThe pipeline against its own transport alone (pipeline → raw Deno.serve vs HTTP/1.1 agent ` +
      `→ raw Deno.serve, paired by round): ${
        (median(ratios) * 100).toFixed(0)
      } % of the throughput, ` +
      `+${
        (median(pipelineAlone.map((s) => s.cpuUs)) - median(agentAlone.map((s) => s.cpuUs)))
          .toFixed(1)
      } µs of client CPU per call`,
  );
}
const on = results[TELEMETRY_ON];
const off = results[TELEMETRY_OFF];
if (on && off) {
  const ratios = on.map((s, i) => s.rate / off[i]!.rate);
  const kept = median(ratios);
  const exported = await clientTelemetry.registry.render();
  const percent = (x: number) => `${(x * 100).toFixed(0)} %`;
  console.log(
    `\nTelemetry on vs off (paired by round): ${percent(kept)} of the throughput ` +
      `(target >= 80 %), rounds ${percent(Math.min(...ratios))}–${percent(Math.max(...ratios))} ` +
      `[${ratios.map(percent).join(", ")}]; client spans ${
        exported.match(/^flotilla_telemetry_spans_exported_total (\d+)/m)?.[1] ?? "?"
      } exported, ${
        exported.match(/^flotilla_telemetry_spans_dropped_total (\d+)/m)?.[1] ?? "?"
      } dropped`,
  );
}

agent.close();
await toRaw.peers[Symbol.asyncDispose]();
await toService.peers[Symbol.asyncDispose]();
await toTraced.peers[Symbol.asyncDispose]();
await clientTelemetry.shutdown();
server.kill("SIGTERM");
await server.status;
sink.kill("SIGTERM");
await sink.status;

/** The first line a child prints (its ports); the rest of its output is left unread. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream())
    .getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  return value ?? "";
}

/** Reads another process's CPU time so far (µs, user + system), which it serves at `url`. */
function cpuOf(url: string): () => Promise<number> {
  return async () => Number(await (await fetch(url)).text());
}
