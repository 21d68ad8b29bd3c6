// A benchmark prints its results.
// deno-lint-ignore-file no-console
/**
 * Messages per second through Redis Streams, end to end (published,
 * consumed, acknowledged), for raw node-redis and for `RedisBus`, in the
 * same run against the same `redis-server` (started here, AOF on with
 * `appendfsync always` — what the bus needs for a durable publish — unless
 * `--fsync everysec|no`).
 *
 * Cases, in alternating rounds so machine noise hits all alike; each round
 * sends `--messages` events of the same ~250-byte CloudEvent JSON on a fresh
 * stream, producer and consumer running at once in this process, publishing
 * `--batch` messages at a time (`--inflight` batches at once):
 * - `raw node-redis`: the typed client — `xAdd` per message (auto-pipelined),
 *   a consumer connection looping `xReadGroup` (`COUNT --count`, `BLOCK`) →
 *   `JSON.parse` of each → one `xAck` per read;
 * - `raw node-redis, sendCommand`: the same with `sendCommand` and RESP2
 *   replies (no reply transforms);
 * - `RedisBus`: `publish()` of each batch (one Lua script call with
 *   dedupe), `subscribe()` with `batchSize: --count`, a handler counting; the
 *   round ends when every event was handled and the group has nothing
 *   pending (the last acknowledgements reached Redis);
 * - `RedisBus, dedupe off`: the same with `dedupeWindowMs: 0` (plain
 *   `XADD`s).
 *
 * Besides msgs/s it prints the CPU time per message of this process (both
 * clients) and of redis-server (`INFO cpu`), steadier than rates on a noisy
 * machine, and each case's rate as a share of the typed raw client's in the
 * same round (the median over rounds).
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-run --allow-read --allow-write --allow-env bench/bus_redis_bench.ts`
 * (add `--messages N`, `--rounds N`, `--batch N`, `--count N`, `--inflight N`,
 * `--fsync everysec`, `--case RedisBus`).
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { createClient } from "redis";
import { RedisBus } from "@flotilla/bus/redis";
import type { CloudEvent } from "@flotilla/bus";
import { type RedisAppendFsync, startRedis } from "@flotilla/testing";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "50000" },
    rounds: { type: "string", default: "5" },
    batch: { type: "string", default: "100" },
    count: { type: "string", default: "200" },
    fsync: { type: "string", default: "always" },
    inflight: { type: "string", default: "1" },
    case: { type: "string" },
  },
});
const MESSAGES = Number(values.messages);
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
const COUNT = Number(values.count);
const FSYNC = values.fsync as RedisAppendFsync;
const INFLIGHT = Number(values.inflight);

/** Runs `publish(start, end)` over [0, MESSAGES) in batches, INFLIGHT batches at a time. */
async function produce(publish: (start: number, end: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: INFLIGHT }, async () => {
    while (next < MESSAGES) {
      const start = next;
      next = Math.min(MESSAGES, next + BATCH);
      await publish(start, next);
    }
  }));
}

await using redis = await startRedis({ appendFsync: FSYNC });
const time = new Date().toISOString();
const makeEvent = (round: number, i: number): CloudEvent => ({
  specversion: "1.0",
  id: `bench-${round}-${i}`,
  source: "/flotilla/bench",
  type: "bench.happened",
  subject: `order-${i % 1000}`,
  time,
  datacontenttype: "application/json",
  data: { n: i, text: "x".repeat(32) },
});

async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 1));
}

interface Sample {
  rate: number;
  /** CPU of this process (producer and consumer) per message, µs. */
  clientUs: number;
  /** CPU of redis-server per message, µs. */
  serverUs: number;
}

const probe = createClient({ url: redis.url, RESP: 2 });
await probe.connect();

async function serverCpuSeconds(): Promise<number> {
  const info = await probe.sendCommand<string>(["INFO", "cpu"]);
  const user = Number(info.match(/used_cpu_user:([\d.]+)/)?.[1] ?? 0);
  const sys = Number(info.match(/used_cpu_sys:([\d.]+)/)?.[1] ?? 0);
  return user + sys;
}

/** Starts measuring; the returned function stops and gives the sample. */
async function startMeasuring(): Promise<() => Promise<Sample>> {
  const serverBefore = await serverCpuSeconds();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  return async () => {
    const elapsed = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const server = await serverCpuSeconds() - serverBefore;
    return {
      rate: MESSAGES / elapsed,
      clientUs: (cpu.user + cpu.system) / MESSAGES,
      serverUs: server * 1e6 / MESSAGES,
    };
  };
}

async function rawRound(round: number): Promise<Sample> {
  const producer = createClient({ url: redis.url });
  const consumer = producer.duplicate();
  await Promise.all([producer.connect(), consumer.connect()]);
  const key = `raw:${round}`;
  await producer.xGroupCreate(key, "g", "0", { MKSTREAM: true });
  const stop = await startMeasuring();
  let consumed = 0;
  const consuming = (async () => {
    while (consumed < MESSAGES) {
      const reply = await consumer.xReadGroup("g", "c", { key, id: ">" }, {
        COUNT: COUNT,
        BLOCK: 1_000,
      });
      const messages = reply?.[0]?.messages ?? [];
      if (messages.length === 0) continue;
      const ids: string[] = [];
      for (const message of messages) {
        JSON.parse(String(message.message.event));
        ids.push(message.id);
      }
      await consumer.xAck(key, "g", ids);
      consumed += messages.length;
    }
  })();
  await produce((start, end) => {
    const batch: Array<Promise<unknown>> = [];
    for (let i = start; i < end; i++) {
      batch.push(producer.xAdd(key, "*", { event: JSON.stringify(makeEvent(round, i)) }));
    }
    return Promise.all(batch);
  });
  await consuming;
  const sample = await stop();
  await probe.sendCommand(["FLUSHDB"]);
  producer.destroy();
  consumer.destroy();
  return sample;
}

/** The same with `sendCommand` and RESP2 replies: no per-command reply transforms. */
async function rawLeanRound(round: number): Promise<Sample> {
  const producer = createClient({ url: redis.url, RESP: 2 });
  const consumer = producer.duplicate();
  await Promise.all([producer.connect(), consumer.connect()]);
  const key = `raw-lean:${round}`;
  await producer.sendCommand(["XGROUP", "CREATE", key, "g", "0", "MKSTREAM"]);
  const stop = await startMeasuring();
  let consumed = 0;
  const consuming = (async () => {
    while (consumed < MESSAGES) {
      const reply = await consumer.sendCommand<Array<[string, Array<[string, string[]]>]> | null>(
        [
          "XREADGROUP",
          "GROUP",
          "g",
          "c",
          "COUNT",
          String(COUNT),
          "BLOCK",
          "1000",
          "STREAMS",
          key,
          ">",
        ],
      );
      const messages = reply?.[0]?.[1] ?? [];
      if (messages.length === 0) continue;
      const ids: string[] = [];
      for (const [id, fields] of messages) {
        JSON.parse(fields[1]!);
        ids.push(id);
      }
      await consumer.sendCommand(["XACK", key, "g", ...ids]);
      consumed += messages.length;
    }
  })();
  await produce((start, end) => {
    const batch: Array<Promise<unknown>> = [];
    for (let i = start; i < end; i++) {
      batch.push(
        producer.sendCommand(["XADD", key, "*", "event", JSON.stringify(makeEvent(round, i))]),
      );
    }
    return Promise.all(batch);
  });
  await consuming;
  const sample = await stop();
  await probe.sendCommand(["FLUSHDB"]);
  producer.destroy();
  consumer.destroy();
  return sample;
}

async function busRound(round: number, dedupeWindowMs?: number): Promise<Sample> {
  await using bus = new RedisBus({
    url: redis.url,
    batchSize: COUNT,
    ...(dedupeWindowMs === undefined ? {} : { dedupeWindowMs }),
  });
  await bus.connect();
  const stream = `bus-${round}`;
  let handled = 0;
  await using _subscription = await bus.subscribe(stream, (delivery) => {
    if (delivery.event.type === "bench.happened") handled += 1;
  }, { group: "g" });
  const stop = await startMeasuring();
  await produce((start, end) => {
    const batch: CloudEvent[] = [];
    for (let i = start; i < end; i++) batch.push(makeEvent(round, i));
    return bus.publish(stream, batch);
  });
  await until(() => handled >= MESSAGES);
  // Handled is not enough: wait until the last acknowledgements reached Redis.
  await until(async () =>
    (await probe.sendCommand<[number]>(["XPENDING", `flotilla:stream:${stream}`, "g"]))[0] === 0
  );
  const sample = await stop();
  await probe.sendCommand(["FLUSHDB"]);
  return sample;
}

const cases: Record<string, (round: number) => Promise<Sample>> = {
  "raw node-redis": rawRound,
  "raw node-redis, sendCommand": rawLeanRound,
  "RedisBus": (round) => busRound(round),
  "RedisBus, dedupe off": (round) => busRound(round, 0),
};
const results: Record<string, Sample[]> = {};
for (const run of Object.values(cases)) await run(-1); // warm-up: connections, JIT
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(cases)) {
    if (values.case && name !== "raw node-redis" && !name.includes(values.case)) continue;
    const sample = await run(round);
    (results[name] ??= []).push(sample);
    console.error(
      `round ${round + 1} ${name}: ${Math.round(sample.rate)} msgs/s, client ${
        sample.clientUs.toFixed(1)
      } µs/msg, redis ${sample.serverUs.toFixed(1)} µs/msg`,
    );
  }
}
probe.destroy();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const baseline = results["raw node-redis"]!;
const rows = Object.entries(results).map(([name, samples]) => {
  const rates = samples.map((s) => s.rate);
  const ratios = rates.map((rate, i) => rate / baseline[i]!.rate);
  return `| ${name} | ${Math.round(median(rates))} | ${Math.round(Math.min(...rates))}–${
    Math.round(Math.max(...rates))
  } | ${median(samples.map((s) => s.clientUs)).toFixed(1)} | ${
    median(samples.map((s) => s.serverUs)).toFixed(1)
  } | ${(median(ratios) * 100).toFixed(0)} % |`;
});
console.log(
  [
    `Redis Streams end to end (publish → consume → ack): ${MESSAGES} messages a round, ${ROUNDS} rounds,`,
    `publish batches of ${BATCH} (${INFLIGHT} in flight), reads of up to ${COUNT}, appendfsync ${FSYNC}; medians`,
    "",
    "| case | msgs/s | range | client CPU µs/msg | redis CPU µs/msg | of raw (paired by round) |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n"),
);
