// A benchmark prints its results.
// deno-lint-ignore-file no-console
/**
 * What telemetry adds to a hot path, in ns per call: the same "handler"
 * (a child trace and a small object) bare, and wrapped by the server
 * observer (span start/end + counter + histogram observe), in these cases:
 *
 * - `bare`: no telemetry;
 * - `metrics only (unsampled)`: the trace is not sampled, so the span is a
 *   no-op; the counter, histogram and in-flight gauge still move;
 * - `sampled, noop export`: every span is recorded and queued in the batch
 *   processor, whose exporter does nothing;
 * - `sampled, OTLP JSON encode` / `sampled, OTLP protobuf encode`: the
 *   real `OtlpHttpExporter` encodes each batch (its `fetch` answers at once:
 *   serialisation is counted, the socket is not);
 * - `span only`: `tracer.startSpan()` + 3 attributes + `end()`, sampled,
 *   noop export — comparable with the OpenTelemetry SDK numbers in
 *   lib/telemetry/README.md;
 * - `histogram.observe (bound)`, `counter.inc (labels)`: one instrument.
 *
 * Each case runs in rounds of 512 calls followed by a flush of the batch
 * processor (so no span is dropped and export work is counted), alternating
 * cases across rounds; the median of the rounds is printed.
 *
 * Run: `deno run --allow-env bench/telemetry_bench.ts [--calls N] [--rounds N]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { childTrace, newTrace, type TraceContext } from "@flotilla/core";
import {
  alwaysOff,
  alwaysOn,
  BatchSpanProcessor,
  createFlotillaMetrics,
  OtlpHttpExporter,
  parentBased,
  Registry,
  serverObserver,
  type SpanExporter,
  Tracer,
} from "@flotilla/telemetry";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "200000" },
    rounds: { type: "string", default: "7" },
  },
});
const calls = Number(values.calls);
const rounds = Number(values.rounds);
const CHUNK = 512;

const roots: TraceContext[] = Array.from({ length: 1024 }, () => newTrace());
let sink = 0;
function handler(trace: TraceContext): number {
  const child = childTrace(trace);
  const result = { ok: true, id: child.spanId };
  return result.id.length;
}

interface Case {
  name: string;
  run(i: number): void;
  flush(): Promise<void>;
}

function observed(name: string, exporter: SpanExporter | undefined, sampled: boolean): Case {
  const processor = exporter
    ? new BatchSpanProcessor(exporter, { maxQueueSize: 4096, maxExportBatchSize: CHUNK })
    : undefined;
  const tracer = new Tracer({
    processor,
    sampler: sampled ? parentBased(alwaysOn) : parentBased(alwaysOff),
  });
  const metrics = createFlotillaMetrics(new Registry());
  const observer = serverObserver({ tracer, metrics });
  return {
    name,
    run(i) {
      const call = observer.start({
        service: "order",
        action: "place",
        transport: "http",
        trace: roots[i & 1023]!,
      });
      sink += handler(call.trace);
      call.end(undefined);
    },
    flush: () => processor?.forceFlush() ?? Promise.resolve(),
  };
}

function spanOnly(): Case {
  const processor = new BatchSpanProcessor(noop(), {
    maxQueueSize: 4096,
    maxExportBatchSize: CHUNK,
  });
  const tracer = new Tracer({ processor });
  return {
    name: "span only (start + 3 attributes + end)",
    run(i) {
      tracer.startSpan("order/place", {
        kind: "server",
        trace: roots[i & 1023]!,
        attributes: { "rpc.system": "flotilla", "rpc.service": "order", "rpc.method": "place" },
      }).end();
    },
    flush: () => processor.forceFlush(),
  };
}

function noop(): SpanExporter {
  return { export: () => Promise.resolve() };
}

/** The real exporter, encoding each batch, with a `fetch` that answers 200 without a socket. */
function encoding(protocol: "http/json" | "http/protobuf"): SpanExporter {
  return new OtlpHttpExporter({
    url: "http://127.0.0.1:4318/v1/traces",
    protocol,
    resource: { "service.name": "order" },
    fetch: (_url, init) => {
      const body = init?.body;
      sink += typeof body === "string" ? body.length : (body as Uint8Array).length;
      return Promise.resolve(new Response(null, { status: 200 }));
    },
  });
}

const registry = new Registry();
const histogram = registry.histogram({
  name: "h_seconds",
  help: "h",
  labelNames: ["service", "action", "transport"],
}).labels({ service: "order", action: "place", transport: "http" });
const counter = registry.counter({
  name: "c_total",
  help: "c",
  labelNames: ["service", "action", "transport", "outcome"],
});

const cases: Case[] = [
  { name: "bare", run: (i) => sink += handler(roots[i & 1023]!), flush: () => Promise.resolve() },
  observed("metrics only (unsampled)", noop(), false),
  observed("sampled, noop export", noop(), true),
  observed("sampled, OTLP JSON encode", encoding("http/json"), true),
  observed("sampled, OTLP protobuf encode", encoding("http/protobuf"), true),
  spanOnly(),
  {
    name: "histogram.observe (bound)",
    run: (i) => histogram.observe((i & 255) / 1000),
    flush: () => Promise.resolve(),
  },
  {
    name: "counter.inc (labels)",
    run: () => counter.inc({ service: "order", action: "place", transport: "http", outcome: "ok" }),
    flush: () => Promise.resolve(),
  },
];

async function measure(c: Case, n: number): Promise<number> {
  const start = performance.now();
  for (let done = 0; done < n; done += CHUNK) {
    for (let i = done; i < done + CHUNK; i++) c.run(i);
    await c.flush();
  }
  return (performance.now() - start) * 1e6 / n;
}

for (const c of cases) await measure(c, 20_000); // warm-up
const results = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let round = 0; round < rounds; round++) {
  for (const c of cases) results.get(c.name)!.push(await measure(c, calls));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bare = median(results.get("bare")!);
console.log(
  `telemetry hot path, ${calls} calls × ${rounds} rounds, median ns/op (Deno ${Deno.version.deno})`,
);
for (const [name, xs] of results) {
  const ns = median(xs);
  const extra = name.startsWith("metrics") || name.startsWith("sampled")
    ? `  (+${(ns - bare).toFixed(0)} ns over bare)`
    : "";
  console.log(`${name.padEnd(40)} ${ns.toFixed(0).padStart(6)} ns/op${extra}`);
}
if (sink === -1) console.log(sink);
