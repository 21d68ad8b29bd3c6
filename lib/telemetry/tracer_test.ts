import assert from "node:assert/strict";
import {
  childTrace,
  continueTrace,
  ManualClock,
  NotFoundError,
  UnavailableError,
} from "@flotilla/core";
import { InMemorySpanProcessor } from "./in_memory_span_processor.ts";
import { alwaysOff, parentBased, traceIdRatio } from "./sampler.ts";
import { Tracer } from "./tracer.ts";

const PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

Deno.test("Tracer.startSpan() uses the TraceContext's own ids, parent and tracestate", () => {
  const processor = new InMemorySpanProcessor();
  const clock = new ManualClock(1_000);
  const tracer = new Tracer({ processor, clock });
  const trace = continueTrace(PARENT, "vendor=1");
  const span = tracer.startSpan("order/place", {
    kind: "server",
    trace,
    attributes: { "rpc.method": "place" },
  });
  span.setAttribute("flotilla.outcome", "ok").setAttribute("ignored", undefined);
  span.addEvent("step", { n: 1 });
  clock.advance(25);
  span.end();
  span.end();
  assert.equal(processor.spans.length, 1);
  const [data] = processor.spans;
  assert.equal(data!.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.equal(data!.spanId, trace.spanId);
  assert.equal(data!.parentSpanId, "00f067aa0ba902b7");
  assert.equal(data!.tracestate, "vendor=1");
  assert.equal(data!.kind, "server");
  assert.deepEqual(data!.attributes, { "rpc.method": "place", "flotilla.outcome": "ok" });
  assert.equal(data!.endTimeMs - data!.startTimeMs, 25);
  assert.equal(data!.events[0]!.name, "step");
});

Deno.test("Tracer.startSpan() records nothing for an unsampled parent but keeps its ids", () => {
  const processor = new InMemorySpanProcessor();
  const tracer = new Tracer({ processor });
  const trace = continueTrace(PARENT.replace(/-01$/, "-00"));
  const span = tracer.startSpan("x", { trace });
  assert.equal(span.recording, false);
  assert.equal(span.trace, trace);
  span.setAttribute("a", 1).recordError(new Error("x")).end();
  assert.equal(processor.spans.length, 0);
});

Deno.test("Tracer.decide() samples a root by ratio and keeps a child's inherited flag", () => {
  const tracer = new Tracer({ sampler: parentBased(traceIdRatio(0.5)) });
  const kept = {
    traceId: "0".repeat(18) + "ff" + "0".repeat(12),
    spanId: "1".repeat(16),
    sampled: true,
  };
  const dropped = {
    traceId: "f".repeat(18) + "00" + "0".repeat(12),
    spanId: "1".repeat(16),
    sampled: true,
  };
  assert.equal(tracer.decide(kept), kept);
  assert.equal(tracer.decide(dropped).sampled, false);
  // A child of the dropped root is dropped too, whatever its id.
  const child = childTrace(tracer.decide(dropped));
  assert.equal(tracer.decide(child).sampled, false);
  assert.equal(new Tracer({ sampler: parentBased(alwaysOff) }).root().sampled, false);
});

Deno.test("Span.recordError() leaves a server span's status unset for a caller's mistake", () => {
  const processor = new InMemorySpanProcessor();
  const tracer = new Tracer({ processor });
  const trace = continueTrace(PARENT);
  tracer.startSpan("a", { kind: "server", trace })
    .recordError(new NotFoundError("ORDER_NOT_FOUND", "no order o-1")).end();
  tracer.startSpan("b", { kind: "server", trace })
    .recordError(new UnavailableError("down")).end();
  tracer.startSpan("c", { kind: "client", trace })
    .recordError(new NotFoundError("ORDER_NOT_FOUND", "no order o-1")).end();
  const [a, b, c] = processor.spans;
  assert.equal(a!.status.code, "unset");
  assert.equal(a!.attributes["error.type"], "ORDER_NOT_FOUND");
  assert.equal(a!.events[0]!.name, "exception");
  assert.equal(a!.events[0]!.attributes!["exception.message"], "no order o-1");
  assert.equal(b!.status.code, "error");
  assert.equal(c!.status.code, "error");
});

Deno.test("Tracer without a processor returns non-recording spans", () => {
  const tracer = new Tracer();
  assert.equal(tracer.enabled, false);
  assert.equal(tracer.startSpan("x", { trace: continueTrace(PARENT) }).recording, false);
});

Deno.test("Span.end(endTimeMs) takes the caller's clock reading and ignores later changes", () => {
  const processor = new InMemorySpanProcessor();
  const clock = new ManualClock(1_000);
  const tracer = new Tracer({ processor, clock });
  const span = tracer.startSpan("order/place", {
    trace: childTrace(continueTrace(PARENT)),
    startTimeMs: 990,
  });
  const attributes = { a: 1 };
  const withInitial = tracer.startSpan("x", { trace: continueTrace(PARENT), attributes });
  attributes.a = 2; // the span copied its initial attributes
  withInitial.end();
  span.end(1_010);
  span.setAttribute("late", true).addEvent("late").setStatus({ code: "error" });
  const [initial, data] = processor.spans;
  assert.equal(initial!.attributes.a, 1);
  assert.equal(data!.startTimeMs, 990);
  assert.equal(data!.endTimeMs, 1_010);
  assert.deepEqual(data!.attributes, {});
  assert.deepEqual(data!.events, []);
  assert.deepEqual(data!.status, { code: "unset" });
});
