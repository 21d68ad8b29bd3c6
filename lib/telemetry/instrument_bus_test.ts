import assert from "node:assert/strict";
import { continueTrace, ManualClock, UnavailableError } from "@flotilla/core";
import { createEvent, MemoryBus } from "@flotilla/bus";
import { createFlotillaMetrics } from "./flotilla_metrics.ts";
import { InMemorySpanProcessor } from "./in_memory_span_processor.ts";
import { deliveryTrace, instrumentBus } from "./instrument_bus.ts";
import { Registry } from "./registry.ts";
import { Tracer } from "./tracer.ts";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function setup() {
  const processor = new InMemorySpanProcessor();
  const tracer = new Tracer({ processor });
  const metrics = createFlotillaMetrics(new Registry());
  const wallClock = new ManualClock(Date.parse("2026-01-01T00:00:02Z"));
  const bus = instrumentBus(new MemoryBus(), { tracer, metrics, wallClock });
  return { processor, metrics, bus };
}

Deno.test("instrumentBus() traces publish → consume as one trace, producer then consumer", async () => {
  const { processor, metrics, bus } = setup();
  await using _bus = bus;
  const emitter = continueTrace(TRACEPARENT);
  const seen: Array<string | undefined> = [];
  let done!: () => void;
  const handled = new Promise<void>((resolve) => done = resolve);
  await using _sub = await bus.subscribe("shop.order", (delivery) => {
    seen.push(deliveryTrace(delivery)?.parentSpanId);
    done();
  }, { group: "notification" });
  const event = createEvent("order.created", { orderId: "o-1" }, {
    source: "/shop/order",
    subject: "o-1",
    trace: emitter,
    time: "2026-01-01T00:00:00Z",
  });
  await bus.publish("shop.order", [event]);
  await handled;
  await new Promise((resolve) => setTimeout(resolve, 0));

  const producer = processor.spans.find((s) => s.kind === "producer")!;
  const consumer = processor.spans.find((s) => s.kind === "consumer")!;
  assert.equal(producer.name, "send shop.order");
  assert.equal(producer.traceId, emitter.traceId);
  assert.equal(producer.parentSpanId, emitter.spanId);
  assert.equal(producer.attributes["messaging.system"], "memory");
  assert.equal(producer.attributes["messaging.destination.name"], "shop.order");
  assert.equal(producer.attributes["messaging.operation.type"], "send");
  assert.equal(consumer.name, "process shop.order");
  assert.equal(consumer.traceId, emitter.traceId);
  assert.equal(consumer.parentSpanId, producer.spanId, "the event carries the producer's span");
  assert.equal(consumer.attributes["messaging.consumer.group.name"], "notification");
  assert.equal(consumer.attributes["messaging.operation.type"], "process");
  assert.equal(consumer.attributes["cloudevents.event_type"], "order.created");
  assert.deepEqual(seen, [producer.spanId]);
  assert.equal(metrics.busPublished.get({ stream: "shop.order", outcome: "ok" }), 1);
  assert.equal(
    metrics.busConsumed.get({ stream: "shop.order", group: "notification", outcome: "ok" }),
    1,
  );
  assert.equal(metrics.busConsumerLag.get({ stream: "shop.order", group: "notification" }), 2);
});

Deno.test("instrumentBus() counts a failed delivery by kind and records the error", async () => {
  const { processor, metrics, bus } = setup();
  await using _bus = bus;
  let done!: () => void;
  const failed = new Promise<void>((resolve) => done = resolve);
  await using _sub = await bus.subscribe("s", () => {
    done();
    throw new UnavailableError("db locked");
  }, { group: "g", backoffMs: [60_000] });
  await bus.publish("s", [createEvent("x", {}, { source: "/t" })]);
  await failed;
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(metrics.busConsumed.get({ stream: "s", group: "g", outcome: "unavailable" }), 1);
  const consumer = processor.spans.find((s) => s.kind === "consumer")!;
  assert.equal(consumer.status.code, "error");
  const producer = processor.spans.find((s) => s.kind === "producer")!;
  assert.equal(producer.parentSpanId, undefined, "an event without traceparent starts a trace");
  assert.equal(consumer.parentSpanId, producer.spanId);
});

Deno.test("instrumentBus() gives each event of a batch a create span, linked from one send span", async () => {
  const { processor, metrics, bus } = setup();
  await using _bus = bus;
  const a = continueTrace(TRACEPARENT);
  const b = continueTrace(TRACEPARENT);
  await bus.publish("s", [
    createEvent("x", {}, { source: "/t", trace: a }),
    createEvent("x", {}, { source: "/t", trace: b }),
  ]);
  const created = processor.spans.filter((s) => s.kind === "producer");
  assert.deepEqual(created.map((s) => s.name), ["create s", "create s"]);
  assert.deepEqual(created.map((s) => s.parentSpanId), [a.spanId, b.spanId]);
  const sender = processor.spans.find((s) => s.kind === "client")!;
  assert.equal(sender.name, "send s");
  assert.deepEqual(sender.links.map((l) => l.spanId), created.map((s) => s.spanId));
  assert.equal(sender.attributes["messaging.batch.message_count"], 2);
  const stored = await bus.read("s");
  assert.deepEqual(
    stored.map((d) => d.event.traceparent),
    created.map((s) => `00-${s.traceId}-${s.spanId}-01`),
    "each event leaves with its create span's context",
  );
  assert.equal(metrics.busPublished.get({ stream: "s", outcome: "ok" }), 2);
});
