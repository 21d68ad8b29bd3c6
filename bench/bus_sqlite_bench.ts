// A benchmark prints its results.
// deno-lint-ignore-file no-console
/**
 * Events per second through the embedded SQLite bus across two processes:
 * one process publishes, another consumes and acknowledges, through one
 * SQLite file (WAL), as two local services would.
 *
 * Each round starts a consumer process (one subscription, `--concurrency`
 * handlers at once, a handler that only counts), waits until it is
 * subscribed, then starts a publisher process that publishes `--events`
 * events in batches of `--batch` (one transaction each). The rate is events
 * divided by the time from the publisher's first publish to the consumer's
 * last acknowledgement (both read from the same machine's clock). The
 * consumer records its acks in the claim transaction that follows, so the
 * round ends when the last ack is in the file.
 *
 * Run: `deno run --allow-read --allow-write --allow-run bench/bus_sqlite_bench.ts`
 * (add `--events N`, `--batch N`, `--concurrency N`, `--rounds N`, `--subjects N`).
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { createEvent, SqliteBus } from "@flotilla/bus";
import { TextLineStream } from "@flotilla/testing";

const { values } = parseArgs({
  options: {
    role: { type: "string" },
    path: { type: "string" },
    events: { type: "string", default: "50000" },
    batch: { type: "string", default: "100" },
    concurrency: { type: "string", default: "64" },
    rounds: { type: "string", default: "3" },
    subjects: { type: "string", default: "0" },
  },
});
const EVENTS = Number(values.events);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const SUBJECTS = Number(values.subjects);
const STREAM = "bench.orders";

/** Milliseconds on a clock that two processes of one machine share. */
const wallNow = () => performance.timeOrigin + performance.now();

async function consume(path: string): Promise<void> {
  await using bus = new SqliteBus({ path });
  let handled = 0;
  const done = Promise.withResolvers<void>();
  await using _sub = await bus.subscribe(STREAM, () => {
    handled += 1;
    if (handled === EVENTS) done.resolve();
  }, { group: "bench", concurrency: CONCURRENCY });
  console.log("ready");
  await done.promise;
  const lastHandled = wallNow();
  await _sub[Symbol.asyncDispose](); // records the last acks
  console.log(`done ${lastHandled} ${wallNow()}`);
}

async function publish(path: string): Promise<void> {
  await using bus = new SqliteBus({ path });
  const start = wallNow();
  for (let sent = 0; sent < EVENTS; sent += BATCH) {
    const events = Array.from({ length: Math.min(BATCH, EVENTS - sent) }, (_, i) => {
      const n = sent + i;
      return createEvent(
        "order.created",
        { orderId: `o-${n}`, total: n % 100, items: ["TEA-01"] },
        {
          source: "/bench/order",
          ...(SUBJECTS > 0 ? { subject: `o-${n % SUBJECTS}` } : {}),
        },
      );
    });
    await bus.publish(STREAM, events);
  }
  console.log(`published ${start} ${wallNow()}`);
}

function child(
  role: string,
  path: string,
): { process: Deno.ChildProcess; lines: ReadableStreamDefaultReader<string> } {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      new URL(import.meta.url).pathname,
      "--role",
      role,
      "--path",
      path,
      "--events",
      String(EVENTS),
      "--batch",
      String(BATCH),
      "--concurrency",
      String(CONCURRENCY),
      "--subjects",
      String(SUBJECTS),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TextLineStream(),
  ).getReader();
  return { process, lines };
}

async function line(
  reader: ReadableStreamDefaultReader<string>,
  prefix: string,
): Promise<string[]> {
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The child ended before printing '${prefix}'`);
    if (value.startsWith(prefix)) return value.split(" ").slice(1);
  }
}

async function round(dir: string, n: number): Promise<{ rate: number; publishRate: number }> {
  const path = join(dir, `bench-${n}.db`);
  const consumer = child("consume", path);
  await line(consumer.lines, "ready");
  const publisher = child("publish", path);
  const [start, published] = (await line(publisher.lines, "published")).map(Number);
  const [lastHandled] = (await line(consumer.lines, "done")).map(Number);
  await publisher.process.status;
  await consumer.process.status;
  return {
    rate: EVENTS / ((lastHandled! - start!) / 1000),
    publishRate: EVENTS / ((published! - start!) / 1000),
  };
}

if (values.role === "consume") {
  await consume(values.path!);
} else if (values.role === "publish") {
  await publish(values.path!);
} else {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-bus-bench-" });
  try {
    console.log(
      `SQLite bus, two processes: ${EVENTS} events, publish batches of ${BATCH}, consumer concurrency ${CONCURRENCY}${
        SUBJECTS > 0 ? `, ${SUBJECTS} subjects` : ", no subjects"
      }`,
    );
    const rates: number[] = [];
    for (let n = 1; n <= ROUNDS; n++) {
      const { rate, publishRate } = await round(dir, n);
      rates.push(rate);
      console.log(
        `round ${n}: ${Math.round(rate)} events/s published → consumed → acked (publisher alone ${
          Math.round(publishRate)
        } events/s)`,
      );
    }
    rates.sort((a, b) => a - b);
    console.log(`median: ${Math.round(rates[Math.floor(rates.length / 2)]!)} events/s`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
