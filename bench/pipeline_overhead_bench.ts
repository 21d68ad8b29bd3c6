/**
 * The CPU cost of the call pipeline itself, without a network: a typed
 * client call through discovery cache, balancer, breaker, bulkhead, retry
 * budget and policy, to a transport that answers at once.
 *
 * Run: `deno bench bench/pipeline_overhead_bench.ts`.
 *
 * @module
 */

import { callPipeline, type PeerEndpoint } from "@flotilla/client";
import { createClient } from "@flotilla/core";
import { resolvePolicy } from "@flotilla/resilience";
import { benchEchoContract } from "./_echo_servers.ts";

const endpoints: PeerEndpoint[] = [1, 2, 3].map((i) => ({
  id: `e${i}`,
  url: `http://127.0.0.1:${7000 + i}`,
  instance: {
    service: "bench-echo",
    id: `e${i}`,
    address: "127.0.0.1",
    port: 7000 + i,
    metadata: {},
  },
}));
const policy = resolvePolicy({}, "bench-echo", "echo");
const pipeline = callPipeline({
  service: "bench-echo",
  endpoints: { current: () => endpoints },
  transport: (_endpoint, call) => Promise.resolve(call.input),
  policy: () => policy,
});
const client = createClient(benchEchoContract, pipeline, { caller: "bench" });
const direct = createClient(benchEchoContract, (call) => Promise.resolve(call.input), {
  caller: "bench",
});
const text = "x".repeat(64);

Deno.bench("typed client, no pipeline", { group: "call", baseline: true }, async () => {
  await direct.call("echo", { n: 1, text });
});

Deno.bench("typed client through the full pipeline", { group: "call" }, async () => {
  await client.call("echo", { n: 1, text });
});
