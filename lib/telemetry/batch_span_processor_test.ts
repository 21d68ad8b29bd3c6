import assert from "node:assert/strict";
import { ManualTimers } from "@flotilla/resilience";
import { BatchSpanProcessor, type SpanExporter } from "./batch_span_processor.ts";
import { SpansRejectedError } from "./errors.ts";
import type { SpanData } from "./span.ts";

function span(n: number): SpanData {
  return {
    name: `s${n}`,
    kind: "internal",
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: n.toString(16).padStart(16, "0"),
    parentSpanId: undefined,
    tracestate: undefined,
    startTimeMs: 0,
    endTimeMs: 1,
    attributes: {},
    events: [],
    links: [],
    status: { code: "unset" },
  };
}

class RecordingExporter implements SpanExporter {
  batches: string[][] = [];
  fail = false;
  shutdowns = 0;
  export(spans: readonly SpanData[]): Promise<void> {
    if (this.fail) return Promise.reject(new Error("collector down"));
    this.batches.push(spans.map((s) => s.name));
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    this.shutdowns++;
    return Promise.resolve();
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("BatchSpanProcessor exports a partial batch once the scheduled delay passes", async () => {
  const timers = new ManualTimers();
  const exporter = new RecordingExporter();
  const exported: number[] = [];
  const processor = new BatchSpanProcessor(exporter, {
    timers,
    scheduledDelayMs: 5_000,
    onExport: (n) => exported.push(n),
  });
  processor.onEnd(span(1));
  processor.onEnd(span(2));
  timers.advance(4_999);
  await settle();
  assert.deepEqual(exporter.batches, []);
  timers.advance(1);
  await settle();
  assert.deepEqual(exporter.batches, [["s1", "s2"]]);
  assert.deepEqual(exported, [2]);
  await processor.shutdown();
});

Deno.test("BatchSpanProcessor exports a full batch at once, in batches of maxExportBatchSize", async () => {
  const timers = new ManualTimers();
  const exporter = new RecordingExporter();
  const processor = new BatchSpanProcessor(exporter, {
    timers,
    maxExportBatchSize: 2,
    maxQueueSize: 10,
  });
  for (let i = 1; i <= 5; i++) processor.onEnd(span(i));
  timers.advance(0);
  await settle();
  timers.advance(0);
  await settle();
  assert.deepEqual(exporter.batches, [["s1", "s2"], ["s3", "s4"]]);
  await processor.forceFlush();
  assert.deepEqual(exporter.batches.at(-1), ["s5"]);
  await processor.shutdown();
});

Deno.test("BatchSpanProcessor arms one timer for a full batch, however many spans end before it fires", async () => {
  const manual = new ManualTimers();
  let armed = 0;
  const timers = {
    setTimeout: (callback: () => void, ms: number) => {
      armed++;
      return manual.setTimeout(callback, ms);
    },
    clearTimeout: (id: number) => manual.clearTimeout(id),
  };
  const exporter = new RecordingExporter();
  const processor = new BatchSpanProcessor(exporter, {
    timers,
    maxExportBatchSize: 4,
    maxQueueSize: 1_000,
  });
  for (let i = 1; i <= 100; i++) processor.onEnd(span(i));
  // One for the schedule, one when the batch filled up; none per span after that.
  assert.equal(armed, 2);
  manual.advance(0);
  await settle();
  assert.deepEqual(exporter.batches, [["s1", "s2", "s3", "s4"]]);
  await processor.forceFlush();
  assert.equal(exporter.batches.flat().length, 100);
  await processor.shutdown();
});

Deno.test("BatchSpanProcessor drops spans beyond maxQueueSize and counts them", async () => {
  const timers = new ManualTimers();
  const exporter = new RecordingExporter();
  let dropped = 0;
  const processor = new BatchSpanProcessor(exporter, {
    timers,
    maxQueueSize: 3,
    maxExportBatchSize: 3,
    onDrop: (n) => dropped += n,
  });
  for (let i = 1; i <= 5; i++) processor.onEnd(span(i));
  assert.equal(processor.dropped, 2);
  assert.equal(dropped, 2);
  await processor.forceFlush();
  assert.deepEqual(exporter.batches, [["s1", "s2", "s3"]]);
  await processor.shutdown();
});

Deno.test("BatchSpanProcessor reports a failed export and goes on", async () => {
  const exporter = new RecordingExporter();
  const failures: number[] = [];
  const processor = new BatchSpanProcessor(exporter, {
    timers: new ManualTimers(),
    onExportError: (_e, n) => failures.push(n),
  });
  exporter.fail = true;
  processor.onEnd(span(1));
  await processor.forceFlush();
  exporter.fail = false;
  processor.onEnd(span(2));
  await processor.forceFlush();
  assert.deepEqual(failures, [1]);
  assert.deepEqual(exporter.batches, [["s2"]]);
  await processor.shutdown();
});

Deno.test("BatchSpanProcessor counts the spans a receiver rejected (partial success) as lost, the rest as exported", async () => {
  const exported: number[] = [];
  const lost: [unknown, number][] = [];
  const processor = new BatchSpanProcessor({
    export: () => Promise.resolve({ rejected: 2, message: "spans too old" }),
  }, {
    timers: new ManualTimers(),
    onExport: (n) => exported.push(n),
    onExportError: (e, n) => lost.push([e, n]),
  });
  for (let i = 1; i <= 5; i++) processor.onEnd(span(i));
  await processor.forceFlush();
  assert.deepEqual(exported, [3]);
  assert.equal(lost.length, 1);
  assert.ok(lost[0]![0] instanceof SpansRejectedError);
  assert.equal((lost[0]![0] as SpansRejectedError).rejected, 2);
  assert.match((lost[0]![0] as Error).message, /spans too old/);
  assert.equal(lost[0]![1], 2);
  await processor.shutdown();
});

Deno.test("BatchSpanProcessor.shutdown() flushes, stops the exporter and ignores later spans", async () => {
  const exporter = new RecordingExporter();
  const processor = new BatchSpanProcessor(exporter, { timers: new ManualTimers() });
  processor.onEnd(span(1));
  await processor[Symbol.asyncDispose]();
  await processor.shutdown();
  processor.onEnd(span(2));
  assert.deepEqual(exporter.batches, [["s1"]]);
  assert.equal(exporter.shutdowns, 1);
  assert.equal(processor.queued, 0);
});

Deno.test("BatchSpanProcessor refuses invalid sizes", () => {
  const exporter = new RecordingExporter();
  assert.throws(() => new BatchSpanProcessor(exporter, { maxQueueSize: 0 }), RangeError);
  assert.throws(
    () => new BatchSpanProcessor(exporter, { maxQueueSize: 10, maxExportBatchSize: 11 }),
    RangeError,
  );
});
