// deno-lint-ignore-file no-console
/**
 * NATS JetStream end to end: raw nats.js against the Flotilla NatsBus, same
 * run, same server (a nats-server -js started here with a temporary store).
 *
 * Each case publishes N CloudEvents (JSON, ~250 bytes) in chunks of `chunk`
 * events — every chunk pipelined (all sent, then every PubAck awaited), the
 * next chunk after — while one consumer on another connection pulls them in
 * batches of up to `batch`, parses each and acknowledges it. The clock runs
 * from the first publish to the last acknowledgement. Both sides batch and
 * pipeline alike: raw uses `js.publish()` ×chunk + `Promise.all` and
 * `consumer.consume({ max_messages: batch })` + `JSON.parse` + `ack()`; the
 * bus uses `bus.publish(stream, chunk)` and `bus.subscribe()` with a no-op
 * handler (`maxBatch: batch`, `publishWindow: chunk`). Both connections
 * have the same options. Rounds alternate the order of the cases; the ratio
 * is paired by round and the median reported.
 *
 *   deno run --allow-net=127.0.0.1 --allow-run --allow-read --allow-write --allow-env \
 *     bench/bus_nats_bench.ts [--messages 20000] [--rounds 5] [--chunk 256] [--batch 256]
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startNats } from "@flotilla/testing";
import { NatsBus } from "@flotilla/bus/nats";
import { createEvent } from "@flotilla/bus";
import type { CloudEvent } from "@flotilla/bus";

function flag(name: string, fallback: number): number {
  const index = Deno.args.indexOf(`--${name}`);
  return index >= 0 ? Number(Deno.args[index + 1]) : fallback;
}

const N = flag("messages", 20_000);
const ROUNDS = flag("rounds", 5);
const CHUNK = flag("chunk", 256);
const BATCH = flag("batch", 256);
const CONNECTION = { noAsyncTraces: true, maxReconnectAttempts: -1 } as const;

function makeEvents(count: number): CloudEvent[] {
  return Array.from(
    { length: count },
    (_, i) =>
      createEvent("order.created", {
        orderId: `o-${i}`,
        total: 12.5,
        items: [{ sku: "TEA-01", qty: 2 }],
      }, {
        source: "/flotilla/bench/order",
        subject: `o-${i}`,
      }),
  );
}

interface Sample {
  e2e: number;
  publish: number;
}

async function raw(url: string, round: number): Promise<Sample> {
  const pub = await connect({ servers: url, ...CONNECTION });
  const sub = await connect({ servers: url, ...CONNECTION });
  try {
    const stream = `RAW_${round}`;
    const jsm = await jetstreamManager(pub);
    await jsm.streams.add({ name: stream, subjects: [`raw${round}.>`], duplicate_window: 120e9 });
    await jsm.consumers.add(stream, {
      durable_name: "g",
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: 10_000,
    });
    const events = makeEvents(N);
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    const consumer = await jetstream(sub).consumers.get(stream, "g");
    const messages = await consumer.consume({ max_messages: BATCH });
    let seen = 0;
    const consumed = (async () => {
      for await (const m of messages) {
        JSON.parse(decoder.decode(m.data));
        m.ack();
        if (++seen === N) break;
      }
    })();
    const js = jetstream(pub);
    const start = performance.now();
    for (let i = 0; i < N; i += CHUNK) {
      await Promise.all(
        events.slice(i, i + CHUNK).map((event) =>
          js.publish(`raw${round}.order_2Ecreated`, encoder.encode(JSON.stringify(event)), {
            msgID: event.id,
          })
        ),
      );
    }
    const published = performance.now();
    await consumed;
    const end = performance.now();
    await jsm.streams.delete(stream);
    return { e2e: N / ((end - start) / 1000), publish: N / ((published - start) / 1000) };
  } finally {
    await closeAll(pub, sub);
  }
}

async function bus(url: string, round: number): Promise<Sample> {
  await using publisher = await NatsBus.connect({
    servers: url,
    connectionOptions: CONNECTION,
    publishWindow: CHUNK,
  });
  await using consumer = await NatsBus.connect({
    servers: url,
    connectionOptions: CONNECTION,
    maxBatch: BATCH,
  });
  const stream = `bench.bus${round}`;
  const events = makeEvents(N);
  let seen = 0;
  let done!: () => void;
  const consumed = new Promise<void>((resolve) => done = resolve);
  await using _sub = await consumer.subscribe(stream, () => {
    if (++seen === N) done();
  }, { group: "g" });
  const start = performance.now();
  for (let i = 0; i < N; i += CHUNK) {
    await publisher.publish(stream, events.slice(i, i + CHUNK));
  }
  const published = performance.now();
  await consumed;
  const end = performance.now();
  const jsm = await jetstreamManager(publisher.connection);
  await jsm.streams.delete(`FLOTILLA_bench_2Ebus${round}`);
  return { e2e: N / ((end - start) / 1000), publish: N / ((published - start) / 1000) };
}

async function closeAll(...connections: NatsConnection[]): Promise<void> {
  await Promise.all(connections.map((c) => c.close()));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

await using nats = await startNats();
console.error(
  `nats-server at ${nats.url}; ${N} messages × ${ROUNDS} rounds, chunks of ${CHUNK}, pulls of ${BATCH}`,
);
// Warm-up (JIT, file store).
await raw(nats.url, 1000);
await bus(nats.url, 1000);

const rows: Array<{ raw: Sample; bus: Sample }> = [];
for (let round = 0; round < ROUNDS; round++) {
  let r: Sample;
  let b: Sample;
  if (round % 2 === 0) {
    r = await raw(nats.url, round);
    b = await bus(nats.url, round);
  } else {
    b = await bus(nats.url, round);
    r = await raw(nats.url, round);
  }
  rows.push({ raw: r, bus: b });
  console.error(
    `round ${round + 1}: raw ${Math.round(r.e2e)} msgs/s e2e (${Math.round(r.publish)} publish), ` +
      `bus ${Math.round(b.e2e)} msgs/s e2e (${Math.round(b.publish)} publish), ` +
      `ratio ${(100 * b.e2e / r.e2e).toFixed(1)} %`,
  );
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const rawE2e = rows.map((r) => r.raw.e2e);
const busE2e = rows.map((r) => r.bus.e2e);
const ratios = rows.map((r) => r.bus.e2e / r.raw.e2e);
const pubRatios = rows.map((r) => r.bus.publish / r.raw.publish);
console.log(
  `| case | e2e msgs/s (median) | e2e range | publish msgs/s (median) | of raw (paired median) |`,
);
console.log(`| --- | --- | --- | --- | --- |`);
console.log(
  `| raw nats.js JetStream | ${fmt(median(rawE2e))} | ${fmt(Math.min(...rawE2e))}–${
    fmt(Math.max(...rawE2e))
  } | ${fmt(median(rows.map((r) => r.raw.publish)))} | 100 % |`,
);
console.log(
  `| NatsBus | ${fmt(median(busE2e))} | ${fmt(Math.min(...busE2e))}–${fmt(Math.max(...busE2e))} | ${
    fmt(median(rows.map((r) => r.bus.publish)))
  } | ${(100 * median(ratios)).toFixed(1)} % e2e, ${
    (100 * median(pubRatios)).toFixed(1)
  } % publish |`,
);
