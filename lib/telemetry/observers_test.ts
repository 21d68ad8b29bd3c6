import assert from "node:assert/strict";
import {
  CallContext,
  childTrace,
  continueTrace,
  Logger,
  ManualClock,
  MemorySink,
  newTrace,
  type OutboundCall,
  systemClock,
  type TraceContext,
  UnavailableError,
} from "@flotilla/core";
import { Peers } from "@flotilla/client";
import { StaticRegistry } from "@flotilla/discovery";
import { clientObserver } from "./client_observer.ts";
import { createFlotillaMetrics } from "./flotilla_metrics.ts";
import { InMemorySpanProcessor } from "./in_memory_span_processor.ts";
import { pipelineEventRecorder } from "./pipeline_event_recorder.ts";
import { Registry } from "./registry.ts";
import { serverObserver } from "./server_observer.ts";
import { Tracer } from "./tracer.ts";
import { alwaysOff, alwaysOn, parentBased, type Sampler } from "./sampler.ts";

function setup() {
  const clock = new ManualClock(0);
  const processor = new InMemorySpanProcessor();
  const tracer = new Tracer({ processor, clock });
  const registry = new Registry();
  const metrics = createFlotillaMetrics(registry);
  return { clock, processor, tracer, registry, metrics };
}

Deno.test("serverObserver() records RED metrics and in-flight calls by outcome", () => {
  const { clock, tracer, metrics } = setup();
  const observer = serverObserver({ tracer, metrics, clock });
  const labels = { service: "order", action: "place", transport: "http" };
  const a = observer.start({ ...labels, trace: newTrace() });
  const b = observer.start({ ...labels, trace: newTrace() });
  assert.equal(metrics.serverInFlight.get({ service: "order", transport: "http" }), 2);
  clock.advance(30);
  a.end(undefined);
  b.end(new UnavailableError("inventory down"));
  b.end(undefined);
  assert.equal(metrics.serverInFlight.get({ service: "order", transport: "http" }), 0);
  assert.equal(metrics.serverRequests.get({ ...labels, outcome: "ok" }), 1);
  assert.equal(metrics.serverRequests.get({ ...labels, outcome: "unavailable" }), 1);
  assert.equal(metrics.serverRequests.get({ ...labels, outcome: "internal" }), 0);
  const duration = metrics.serverDuration.labels(labels);
  assert.equal(duration.count, 2);
  assert.equal(duration.sum, 0.06);
});

Deno.test("clientObserver() counts attempts and outcomes and spans the whole call", () => {
  const { clock, processor, tracer, metrics } = setup();
  const observer = clientObserver({ tracer, metrics, clock, transport: "grpc" });
  const parent = newTrace();
  const call = {
    service: "payment",
    action: "charge",
    trace: childTrace(parent),
    caller: "order",
    idempotent: false,
  } as unknown as OutboundCall;
  const observation = observer.start(call);
  const endpoint = (id: string, port: number) => ({
    id,
    url: `http://127.0.0.1:${port}`,
    instance: { service: "payment", id, address: "127.0.0.1", port, metadata: {} },
  });
  observer.attempt!(call, { endpoint: endpoint("payment-1", 7001), attempt: 1 });
  clock.advance(100);
  observer.attempt!(call, { endpoint: endpoint("payment-2", 7002), attempt: 2 });
  clock.advance(50);
  observation.end(undefined);
  assert.equal(metrics.clientAttempts.get({ peer: "payment", action: "charge" }), 2);
  assert.equal(metrics.clientRequests.get({ peer: "payment", action: "charge", outcome: "ok" }), 1);
  assert.equal(metrics.clientDuration.labels({ peer: "payment", action: "charge" }).sum, 0.15);
  const [span] = processor.spans;
  assert.equal(span!.parentSpanId, parent.spanId);
  assert.equal(span!.attributes["server.port"], 7002);
  assert.equal(span!.attributes["flotilla.attempts"], 2);
  assert.equal(span!.attributes["flotilla.transport"], "grpc");
  assert.deepEqual(span!.events.map((e) => e.attributes!["flotilla.endpoint"]), [
    "payment-1",
    "payment-2",
  ]);
});

Deno.test("pipelineEventRecorder() maps breaker, retry and rejection events to metrics", () => {
  const { metrics } = setup();
  const record = pipelineEventRecorder(metrics);
  record({ type: "breaker", service: "inventory", endpoint: "i-1", from: "closed", to: "open" });
  record({ type: "breaker", service: "inventory", endpoint: "i-1", from: "open", to: "half_open" });
  record({
    type: "retry",
    service: "inventory",
    action: "reserve",
    attempt: 2,
    delayMs: 10,
    error: 1,
  });
  record({ type: "retry_budget_exhausted", service: "inventory", action: "reserve" });
  record({ type: "circuit_open", service: "inventory" });
  record({ type: "bulkhead_full", service: "inventory", endpoint: "i-1" });
  record({ type: "ejected", service: "inventory", endpoint: "i-1" });
  assert.equal(metrics.breakerState.get({ peer: "inventory", endpoint: "i-1" }), 1);
  assert.equal(metrics.breakerTransitions.get({ peer: "inventory", to: "open" }), 1);
  assert.equal(metrics.clientRetries.get({ peer: "inventory", action: "reserve" }), 1);
  assert.equal(metrics.retryBudgetExhausted.get({ peer: "inventory", action: "reserve" }), 1);
  for (const reason of ["circuit_open", "bulkhead_full", "ejected"]) {
    assert.equal(metrics.clientRejections.get({ peer: "inventory", reason }), 1);
  }
});

Deno.test("a handler's ctx.logger lines carry the exported server span's trace_id and span_id", () => {
  const { processor, tracer, metrics } = setup();
  const observer = serverObserver({ tracer, metrics });
  const observation = observer.start({
    service: "order",
    action: "place",
    transport: "http",
    trace: continueTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
  });
  const sink = new MemorySink();
  // What ServiceHost does: the context is built on the observation's trace.
  const ctx = new CallContext({
    service: "order",
    action: "place",
    trace: observation.trace,
    logger: new Logger({ sink, fields: { service: "order" } }),
  });
  ctx.logger.info("order placed");
  observation.end(undefined);
  const [record] = sink.records;
  const [span] = processor.spans;
  assert.equal(record!.trace_id, span!.traceId);
  assert.equal(record!.span_id, span!.spanId);
});

Deno.test("a root call the client's sampler leaves out is sent unsampled, and a kept one keeps its attempts", async () => {
  const { processor, metrics } = setup();
  const sent: TraceContext[] = [];
  await using registry = new StaticRegistry({ payment: ["http://127.0.0.1:7001"] });
  const peersWith = (sampler: Sampler) =>
    new Peers({
      caller: "order",
      registry,
      observer: clientObserver({
        tracer: new Tracer({ processor, sampler }),
        metrics,
        transport: "http",
      }),
      transport: (_endpoint, call) => {
        sent.push(call.trace);
        return Promise.resolve({ ok: true });
      },
    });
  const root = (): OutboundCall => ({
    service: "payment",
    action: "charge",
    input: {},
    idempotent: false,
    deadline: Date.now() + 60_000,
    trace: newTrace(), // what a typed client makes outside any handler: sampled
    caller: "order",
    idempotencyKey: undefined,
    signal: new AbortController().signal,
    clock: systemClock,
  });
  await using never = peersWith(parentBased(alwaysOff));
  await never.pipeline("payment")(root());
  assert.equal(sent[0]!.sampled, false, "the callee must not record a trace nobody keeps");
  assert.equal(processor.spans.length, 0);
  await using always = peersWith(parentBased(alwaysOn));
  const kept = root();
  await always.pipeline("payment")(kept);
  assert.equal(sent[1], kept.trace);
  const [span] = processor.spans;
  assert.equal(span!.spanId, kept.trace.spanId);
  assert.equal(span!.attributes["server.port"], 7001, "the attempt is on the span");
});
