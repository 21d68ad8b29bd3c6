// deno-lint-ignore-file no-console
/**
 * Calls per second and latency of Flotilla calls over NATS request/reply,
 * beside raw nats.js in the same run, against the same nats-server (started
 * here) and responders in one server process.
 *
 * Cases, each measured in alternating rounds so machine noise hits all alike:
 * - `raw nats.js, multiplexed inbox`: the baseline — one connection, one
 *   `_INBOX.<id>.*` subscription and a request-id table, no timer, no header;
 *   the responder parses the JSON and answers JSON;
 * - `raw nats.js request()`: the library's own request/reply (a timer per
 *   call), for reference;
 * - `Peers → Flotilla service over NATS`: the full path — typed client
 *   (contract validation, deadline, trace), discovery cache, p2c-EWMA
 *   balancer, per-endpoint breaker and bulkhead, retry budget, outlier
 *   detector, `natsRpcCaller` (headers, envelope, pending table, deadline
 *   sweep) — to a service host on `natsRpcTransport` (envelope, contract
 *   validation both ways).
 *
 * Besides calls/s and latency, each case reports the CPU time per call of
 * the three processes (this client, the server process, nats-server — read
 * from `/proc`): on a 2-core machine the three share the cores, so the
 * throughput at 64 in flight follows their sum.
 *
 * Run: `deno run --allow-all bench/natsrpc_bench.ts` (add `--seconds N`,
 * `--rounds N`, `--concurrency 1,64`, `--case <part of a name>`,
 * `--profile-server <dir>`).
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { z } from "zod";
import { connect, createInbox, type Msg } from "@nats-io/transport-node";
import { defineContract, defineService, Logger, MemorySink, runService } from "@flotilla/core";
import { Peers } from "@flotilla/client";
import { StaticRegistry } from "@flotilla/discovery";
import { startNats, TextLineStream } from "@flotilla/testing";
import { natsRpcCaller, natsRpcTransport } from "@flotilla/natsrpc";

const contract = defineContract({
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
const RAW_SUBJECT = "bench.raw.echo";
const INSTANCE = "bench-echo-1";
const CONNECTION = { noAsyncTraces: true } as const;

const { values } = parseArgs({
  options: {
    serve: { type: "string" },
    seconds: { type: "string", default: "2" },
    rounds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "1,64" },
    case: { type: "string" },
    "profile-server": { type: "string" },
  },
});

if (values.serve) {
  // The server process: a raw nats.js responder and the Flotilla service, side by side.
  const nc = await connect({ servers: values.serve, ...CONNECTION });
  nc.subscribe(RAW_SUBJECT, {
    queue: "raw",
    callback: (_error, msg) => {
      const body = msg.json<{ n: number; text: string }>();
      msg.respond(JSON.stringify({ n: body.n, text: body.text }));
    },
  });
  await runService(defineService(contract, { echo: ({ n, text }) => ({ n, text }) }), {
    logger: new Logger({ sink: new MemorySink() }),
    transports: [natsRpcTransport({ servers: values.serve, instanceId: INSTANCE })],
    signals: [],
  });
  // Reports this process's CPU time, so the client can work out the server's CPU per call.
  nc.subscribe("bench.cpu", {
    callback: (_error, msg) => {
      const { user, system } = process.cpuUsage();
      msg.respond(String(user + system));
    },
  });
  await nc.flush();
  console.log("ready");
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
} else {
  await main();
}

interface Sample {
  rate: number;
  p50: number;
  p99: number;
  /** CPU time of this (client) process per call, in microseconds. */
  cpuUs: number;
  /** CPU time of the server process per call, in microseconds. */
  serverCpuUs: number;
  /** CPU time of nats-server per call, in microseconds (NaN where /proc cannot tell). */
  natsCpuUs: number;
}

async function measure(
  call: (n: number) => Promise<unknown>,
  concurrency: number,
  seconds: number,
  serverCpu: () => Promise<number>,
  natsCpu: () => Promise<number>,
): Promise<Sample> {
  const warmUntil = performance.now() + 500;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < warmUntil) await call(0);
  }));
  const latencies: number[] = [];
  const serverBefore = await serverCpu();
  const natsBefore = await natsCpu();
  const cpuBefore = process.cpuUsage();
  const end = performance.now() + seconds * 1000;
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
  const serverCpuUs = (await serverCpu() - serverBefore) / latencies.length;
  const natsCpuUs = (await natsCpu() - natsBefore) / latencies.length;
  latencies.sort((a, b) => a - b);
  return {
    cpuUs: (cpu.user + cpu.system) / latencies.length,
    serverCpuUs,
    natsCpuUs,
    rate: latencies.length / elapsed,
    p50: latencies[Math.floor(latencies.length * 0.5)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
  };
}

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const concurrencies = values.concurrency.split(",").map(Number);
  await using nats = await startNats();
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      // A CPU profile of the server process, written into the given folder when it stops.
      ...(values["profile-server"]
        ? ["--cpu-prof", `--cpu-prof-dir=${values["profile-server"]}`]
        : []),
      new URL(import.meta.url).pathname,
      "--serve",
      nats.url,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = server.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TextLineStream(),
  );
  const first = await lines.getReader().read();
  if (first.value !== "ready") throw new Error(`the bench server did not start: ${first.value}`);

  const text = "x".repeat(64);

  // Raw nats.js with a multiplexed inbox: what the transport is measured against.
  const raw = await connect({ servers: nats.url, ...CONNECTION });
  const inbox = `${createInbox()}.`;
  const waiting = new Map<string, (msg: Msg) => void>();
  raw.subscribe(`${inbox}*`, {
    callback: (_error, msg) => {
      const id = msg.subject.substring(inbox.length);
      const resolve = waiting.get(id);
      if (resolve) {
        waiting.delete(id);
        resolve(msg);
      }
    },
  });
  let sequence = 0;
  const rawMux = (n: number) =>
    new Promise<unknown>((resolve) => {
      const id = (sequence++).toString(36);
      waiting.set(id, (msg) => resolve(msg.json()));
      raw.publish(RAW_SUBJECT, JSON.stringify({ n, text }), { reply: inbox + id });
    });
  const serverCpu = async () =>
    Number((await raw.request("bench.cpu", "", { timeout: 5_000 })).string());
  const natsCpu = natsServerCpu(nats.port);
  const rawRequest = (n: number) =>
    raw.request(RAW_SUBJECT, JSON.stringify({ n, text }), { timeout: 10_000 }).then((msg) =>
      msg.json()
    );

  // The full Flotilla path: Peers (discovery, balancer, breaker, bulkhead, retries) over NATS.
  const transport = natsRpcCaller({ servers: nats.url });
  const registry = new StaticRegistry({
    "bench-echo": [{
      id: INSTANCE,
      address: nats.url.replace(/^nats:\/\//, "").split(":")[0]!,
      port: nats.port,
      metadata: { scheme: "nats" },
    }],
  });
  const peers = new Peers({ caller: "bench", registry, transport });
  const client = peers.client(contract);
  const flotilla = (n: number) => client.call("echo", { n, text });

  const baselineName = "raw nats.js, multiplexed inbox";
  const cases: Record<string, (n: number) => Promise<unknown>> = {
    [baselineName]: rawMux,
    "raw nats.js request()": rawRequest,
    "Peers → Flotilla service over NATS": flotilla,
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const output: string[] = [];
  for (const concurrency of concurrencies) {
    const results: Record<string, Sample[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const [name, call] of Object.entries(cases)) {
        if (values.case && name !== baselineName && !name.includes(values.case)) continue;
        const sample = await measure(call, concurrency, seconds, serverCpu, natsCpu);
        (results[name] ??= []).push(sample);
        console.error(
          `${concurrency} in flight, round ${round + 1} ${name}: ${
            Math.round(sample.rate)
          } calls/s`,
        );
      }
    }
    const baseline = results[baselineName]!;
    output.push(
      "",
      `${concurrency} in flight, ${rounds} rounds of ${seconds} s: median (min–max)`,
      "",
      "| case | calls/s | p50 ms | p99 ms | CPU µs/call: client | server | nats-server | of raw multiplexed (paired by round) |",
      "|---|---|---|---|---|---|---|---|",
      ...Object.entries(results).map(([name, samples]) => {
        const rates = samples.map((s) => s.rate);
        const ratios = samples.map((s, i) => s.rate / baseline[i]!.rate * 100);
        return `| ${name} | ${Math.round(median(rates))} (${Math.round(Math.min(...rates))}–${
          Math.round(Math.max(...rates))
        }) | ${median(samples.map((s) => s.p50)).toFixed(2)} | ${
          median(samples.map((s) => s.p99)).toFixed(2)
        } | ${median(samples.map((s) => s.cpuUs)).toFixed(1)} | ${
          median(samples.map((s) => s.serverCpuUs)).toFixed(1)
        } | ${median(samples.map((s) => s.natsCpuUs)).toFixed(1)} | ${
          median(ratios).toFixed(0)
        } % (${Math.min(...ratios).toFixed(0)}–${Math.max(...ratios).toFixed(0)} %) |`;
      }),
    );
  }
  console.log(output.join("\n"));

  await peers[Symbol.asyncDispose]();
  await transport.close();
  await registry[Symbol.asyncDispose]?.();
  await raw.close();
  server.kill("SIGTERM");
  await server.status;
}

/**
 * Reads the CPU time (µs) of the nats-server listening on `port` from
 * `/proc` (Linux); NaN elsewhere.
 */
function natsServerCpu(port: number): () => Promise<number> {
  let stat: string | undefined;
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
        if (cmdline[0]?.endsWith("nats-server") && cmdline.includes(String(port))) {
          stat = `/proc/${entry.name}/stat`;
        }
      } catch { /* gone */ }
    }
  } catch { /* no /proc */ }
  const ticksPerSecond = 100;
  return async () => {
    if (!stat) return NaN;
    const fields = (await Deno.readTextFile(stat)).split(") ")[1]!.split(" ");
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm) ".
    return (Number(fields[11]) + Number(fields[12])) * 1_000_000 / ticksPerSecond;
  };
}
