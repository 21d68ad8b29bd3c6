import assert from "node:assert/strict";
import { z } from "zod";
import type { StandardSchema } from "@flotilla/core";
import { waitFor } from "@flotilla/testing";
import type { Delivery } from "./bus.ts";
import { EventCatalog } from "./catalog.ts";
import { testBusConformance } from "./conformance.ts";
import { createEvent } from "./create_event.ts";
import { BusError } from "./errors.ts";
import { MemoryBus } from "./memory_bus.ts";
import { validatedBus } from "./validated_bus.ts";

const anything: StandardSchema = {
  "~standard": { version: 1, vendor: "test", validate: (value) => ({ value }) },
};

// The wrapper is transparent to valid traffic: the whole suite passes through it.
testBusConformance(
  "validatedBus(MemoryBus)",
  () =>
    Promise.resolve(validatedBus(
      new MemoryBus(),
      new EventCatalog({
        "conformance.tested": anything,
        "conformance.wanted": anything,
        "conformance.unwanted": anything,
      }),
    )),
  { orderedBySubject: true },
);

const catalog = new EventCatalog({
  "order.created": z.object({ orderId: z.string(), total: z.number().positive() }),
  "order.shipped": z.object({ orderId: z.string(), carrier: z.string().default("post") }),
});
const source = "/shop/order";

Deno.test("validatedBus().publish() refuses a batch with invalid data, naming the field, and publishes none of it", async () => {
  await using inner = new MemoryBus();
  const bus = validatedBus(inner, catalog);
  assert.equal(bus.kind, "memory");
  const good = createEvent("order.created", { orderId: "o-1", total: 3 }, { source });
  const bad = createEvent("order.created", { orderId: "o-2", total: -1 }, {
    source,
    id: "evt-bad",
  });
  const error = await bus.publish("shop.order", [good, bad]).catch((e) => e);
  assert.ok(error instanceof BusError);
  assert.equal(error.code, "INVALID_EVENT");
  assert.match(
    error.message,
    /^Cannot publish to 'shop.order' as event evt-bad of type 'order.created' has invalid data: data\.total: /,
  );
  assert.deepEqual(error.data?.index, 1);
  assert.deepEqual((error.data?.issues as Array<{ pointer: string }>).map((i) => i.pointer), [
    "/data/total",
  ]);
  assert.deepEqual(await inner.read("shop.order"), []);

  await assert.rejects(
    () => bus.publish("shop.order", [createEvent("order.lost", {}, { source })]),
    /is not in the event catalog/,
  );
  await assert.rejects(
    () => bus.publish("shop.order", [{ ...good, specversion: "2" } as never]),
    /as not a CloudEvent: 'specversion' must be "1.0"/,
  );
  const [receipt] = await bus.publish("shop.order", [good]);
  assert.equal(receipt!.duplicate, false);
  assert.deepEqual((await bus.read("shop.order")).map((r) => r.event), [good]);
});

Deno.test("validatedBus() dead-letters a received event with invalid data at once and goes on", async () => {
  await using inner = new MemoryBus();
  const bus = validatedBus(inner, catalog);
  const seen: Delivery[] = [];
  await using _sub = await bus.subscribe("shop.order", (d) => {
    seen.push(d);
  }, { group: "billing", maxDeliver: 5 });
  // A producer that does not validate publishes straight to the inner bus.
  const bad = createEvent("order.created", { orderId: "o-1" }, { source, id: "evt-bad" });
  const shipped = createEvent("order.shipped", { orderId: "o-1" }, { source });
  await inner.publish("shop.order", [bad, shipped]);
  await waitFor(() => seen.length === 1);
  const letters = await waitFor(async () => {
    const found = await bus.deadLetters("shop.order", "billing");
    return found.length > 0 ? found : undefined;
  });
  assert.equal(letters.length, 1);
  assert.equal(letters[0]!.attempts, 1);
  assert.equal(letters[0]!.event.id, "evt-bad");
  assert.match(
    letters[0]!.reason,
    /^Invalid event: event evt-bad of type 'order.created' has invalid data: data\.total: /,
  );
  // The valid one arrives with the schema's output (its default applied).
  assert.deepEqual(seen[0]!.event, { ...shipped, data: { orderId: "o-1", carrier: "post" } });
  assert.equal(seen[0]!.attempt, 1);
  assert.equal(seen[0]!.stream, "shop.order");
});

Deno.test("validatedBus().subscribe() hands over only the catalog's types unless 'types' says otherwise", async () => {
  await using inner = new MemoryBus();
  const bus = validatedBus(inner, catalog);
  const seen: string[] = [];
  await using _all = await bus.subscribe("shop.order", (d) => {
    seen.push(d.event.type);
  }, { group: "all" });
  const shippedOnly: string[] = [];
  await using _shipped = await bus.subscribe("shop.order", (d) => {
    shippedOnly.push(d.event.type);
  }, { group: "shipped", types: ["order.shipped"] });
  await inner.publish("shop.order", [
    createEvent("inventory.reserved", {}, { source }),
    createEvent("order.created", { orderId: "o-1", total: 1 }, { source }),
    createEvent("order.shipped", { orderId: "o-1" }, { source }),
  ]);
  await waitFor(() => seen.length === 2 && shippedOnly.length === 1);
  assert.deepEqual(seen, ["order.created", "order.shipped"]);
  assert.deepEqual(shippedOnly, ["order.shipped"]);
  assert.deepEqual(await bus.deadLetters("shop.order", "all"), []);

  await assert.rejects(
    () => bus.subscribe("shop.order", () => {}, { group: "g", types: ["order.lost"] }),
    /Cannot subscribe as 'types' must name types of the event catalog: current value is \["order.lost"\]/,
  );
  await assert.rejects(
    () => validatedBus(inner, new EventCatalog()).subscribe("shop.order", () => {}, { group: "g" }),
    /the event catalog must hold at least one type/,
  );
});
