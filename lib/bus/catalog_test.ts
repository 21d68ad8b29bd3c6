import assert from "node:assert/strict";
import { z } from "zod";
import { defineContract, type StandardSchema } from "@flotilla/core";
import { EventCatalog } from "./catalog.ts";
import { createEvent } from "./create_event.ts";

const orderCreated = z.object({
  orderId: z.string(),
  items: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })),
  currency: z.string().default("EUR"),
});
const paymentCaptured = z.object({ orderId: z.string(), amount: z.number() });

const contract = defineContract({
  name: "order",
  version: "1.0.0",
  actions: {},
  events: {
    emits: { "order.created": { data: orderCreated } },
    handles: { "payment.captured": { data: paymentCaptured } },
  },
});

Deno.test("EventCatalog.fromContract() takes the events a contract emits, handles, or both", () => {
  assert.deepEqual(EventCatalog.fromContract(contract).types, [
    "order.created",
    "payment.captured",
  ]);
  assert.deepEqual(EventCatalog.fromContract(contract, { include: "emits" }).types, [
    "order.created",
  ]);
  assert.deepEqual(EventCatalog.fromContract(contract, { include: "handles" }).types, [
    "payment.captured",
  ]);
  const catalog = EventCatalog.fromContract(contract);
  assert.equal(catalog.has("order.created"), true);
  assert.equal(catalog.has("order.cancelled"), false);
  assert.equal(catalog.schema("payment.captured"), paymentCaptured);
  assert.deepEqual(EventCatalog.fromContract({}).types, []);
});

Deno.test("EventCatalog refuses an empty type, a non-schema and one type with two schemas", () => {
  assert.throws(
    () => new EventCatalog({ "": orderCreated }),
    /Cannot create the catalog as an event type must be a non-empty string: current value is ""/,
  );
  assert.throws(
    () => new EventCatalog({ "a.b": {} as StandardSchema }),
    /Cannot create the catalog as the schema of 'a.b' must be a Standard Schema/,
  );
  const twice = {
    events: {
      emits: { "order.created": { data: orderCreated } },
      handles: { "order.created": { data: z.object({}) } },
    },
  };
  assert.throws(() => EventCatalog.fromContract(twice), /'order.created' must have one schema/);
  const same = {
    events: {
      emits: { "order.created": { data: orderCreated } },
      handles: { "order.created": { data: orderCreated } },
    },
  };
  assert.deepEqual(EventCatalog.fromContract(same).types, ["order.created"]);
  assert.throws(
    () => EventCatalog.fromContract(contract, { include: "some" as "all" }),
    RangeError,
  );
  assert.deepEqual(new EventCatalog(new Map([["x.y", orderCreated]])).types, ["x.y"]);
});

Deno.test("EventCatalog.check() returns the event with the schema's output as data", async () => {
  const catalog = EventCatalog.fromContract(contract);
  const event = createEvent("order.created", {
    orderId: "o-1",
    items: [{ sku: "TEA-01", quantity: 2 }],
  }, { source: "/shop/order" });
  const check = await catalog.check(event);
  assert.equal(check.ok, true);
  assert.ok(check.ok);
  assert.deepEqual(check.event, {
    ...event,
    data: { orderId: "o-1", items: [{ sku: "TEA-01", quantity: 2 }], currency: "EUR" },
  });
  // The input is left alone.
  assert.equal("currency" in (event.data as object), false);
});

Deno.test("EventCatalog.check() names the offending fields of data, the unknown type, the bad envelope", async () => {
  const catalog = EventCatalog.fromContract(contract);
  const bad = createEvent("order.created", {
    orderId: 7,
    items: [{ sku: "TEA-01", quantity: 0 }],
  }, { source: "/shop/order", id: "evt-1" });
  const check = await catalog.check(bad);
  assert.equal(check.ok, false);
  assert.ok(!check.ok);
  assert.match(check.reason, /^event evt-1 of type 'order.created' has invalid data: /);
  assert.match(check.reason, /data\.orderId: /);
  assert.match(check.reason, /data\.items\[0\]\.quantity: /);
  assert.deepEqual(check.issues.map((i) => i.pointer).sort(), [
    "/data/items/0/quantity",
    "/data/orderId",
  ]);

  const unknown = await catalog.check(createEvent("order.lost", {}, { source: "/s", id: "evt-2" }));
  assert.deepEqual(unknown, {
    ok: false,
    reason: "event evt-2 of type 'order.lost' is not in the event catalog",
    issues: [],
  });

  const envelope = await catalog.check({ specversion: "1.0", id: "x" });
  assert.equal(envelope.ok, false);
  assert.match((envelope as { reason: string }).reason, /^not a CloudEvent: 'source' must be/);

  const root = await new EventCatalog({ "n.set": z.number() }).check(
    createEvent("n.set", "seven", { source: "/s", id: "evt-3" }),
  );
  assert.match((root as { reason: string }).reason, /has invalid data: data: /);
});

Deno.test("EventCatalog.check() supports async schemas and reports a schema that throws", async () => {
  const asyncSchema: StandardSchema<number> = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) =>
        Promise.resolve(
          typeof value === "number"
            ? { value: value * 2 }
            : { issues: [{ message: "not a number" }] },
        ),
    },
  };
  const throwing: StandardSchema = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: () => {
        throw new Error("schema bug");
      },
    },
  };
  const catalog = new EventCatalog({ "n.doubled": asyncSchema, "n.broken": throwing });
  const ok = await catalog.check(createEvent("n.doubled", 21, { source: "/s" }));
  assert.ok(ok.ok);
  assert.equal(ok.event.data, 42);
  const no = await catalog.check(createEvent("n.doubled", "x", { source: "/s" }));
  assert.match((no as { reason: string }).reason, /invalid data: data: not a number/);
  const broken = await catalog.check(createEvent("n.broken", 1, { source: "/s" }));
  assert.match((broken as { reason: string }).reason, /could not be validated: schema bug/);
});

Deno.test("EventCatalog.checkSync() checks like check() without awaiting", () => {
  const catalog = new EventCatalog({ "order.created": z.object({ orderId: z.string() }) });
  const good = createEvent("order.created", { orderId: "o-1" }, { source: "/test" });
  assert.equal(catalog.checkSync(good).ok, true);
  const bad = createEvent("order.created", { orderId: 1 }, { source: "/test" });
  const result = catalog.checkSync(bad);
  assert.equal(result.ok, false);
  assert.match(result.ok ? "" : result.reason, /data\.orderId/);
});
