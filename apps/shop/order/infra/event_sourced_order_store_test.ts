import assert from "node:assert/strict";
import { newTrace, type TraceContext } from "@flotilla/core";
import { MemoryEventStore } from "@flotilla/eventstore";
import { placeOrder } from "../domain/order.ts";
import { EventSourcedOrderStore } from "./event_sourced_order_store.ts";

function recordingTracer() {
  const spans: Array<{ name: string; trace: TraceContext; attributes: Record<string, string> }> =
    [];
  const failed: string[] = [];
  return {
    spans,
    failed,
    startSpan(
      name: string,
      options: { trace: TraceContext; attributes: Record<string, string> },
    ) {
      spans.push({ name, trace: options.trace, attributes: options.attributes });
      return { recordError: () => failed.push(name), end: () => {} };
    },
  };
}

const placed = () =>
  placeOrder({
    orderId: "o-1",
    customerId: "alice",
    items: [{ sku: "TEA", quantity: 1 }],
    prices: new Map([["TEA", 850]]),
    now: "2026-01-01T00:00:00.000Z",
  });

Deno.test("EventSourcedOrderStore traces each write made in a trace as a database span", async () => {
  await using events = new MemoryEventStore();
  const tracer = recordingTracer();
  const store = new EventSourcedOrderStore({ events, tracer, dbSystem: "postgresql" });
  const trace = newTrace();
  await store.create(placed(), { trace });
  await store.create(placed()); // outside a trace: no span
  await assert.rejects(
    store.update("nope", () => [], { trace }),
    (e: { code?: string }) => e.code === "ORDER_NOT_FOUND",
  );
  assert.deepEqual(tracer.spans.map((s) => s.name), ["append order", "append order"]);
  for (const span of tracer.spans) {
    assert.equal(span.trace.traceId, trace.traceId);
    assert.equal(span.trace.parentSpanId, trace.spanId);
  }
  assert.deepEqual(tracer.spans[0]?.attributes, {
    "db.system.name": "postgresql",
    "db.operation.name": "append",
    "db.collection.name": "order",
  });
  assert.deepEqual(tracer.failed, ["append order"], "the failed write's span records why");
});
