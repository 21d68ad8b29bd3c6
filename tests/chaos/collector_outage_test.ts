/**
 * Chaos: the OTLP collector refuses every export (503) while the shop takes
 * checkouts, then comes back.
 *
 * 1. **outage** — checkouts succeed all the same (telemetry never stands in
 *    a call's way); the services retry their exports, give up within
 *    `OTEL_EXPORTER_OTLP_TIMEOUT` and count the lost spans in
 *    `flotilla_telemetry_span_export_failures_total`.
 * 2. **one refusal** — the collector refuses one export (503,
 *    `Retry-After: 0`): the exporter that got it sends the same spans again,
 *    and the checkout's whole trace arrives.
 * 3. **back** — the next checkout's trace arrives whole.
 *
 * No assertion is on elapsed time.
 *
 * @module
 */

import assert from "node:assert/strict";
import { waitFor } from "@flotilla/testing";
import { startOtlpReceiver } from "../../lib/telemetry/_otlp_receiver.ts";
import { type Shop, startShop } from "../support/shop.ts";

/** The sum of `name` over every service's `/metrics`. */
async function sumMetric(shop: Shop, name: string): Promise<number> {
  let total = 0;
  for (const service of await shop.status()) {
    const text = await fetch(`http://127.0.0.1:${service.port}/metrics`).then((r) => r.text());
    for (const line of text.split("\n")) {
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
        total += Number(line.slice(line.lastIndexOf(" ") + 1));
      }
    }
  }
  return total;
}

/** Places an order (in trace `traceId` when given) and returns its trace id. */
async function checkout(shop: Shop, traceId?: string): Promise<string> {
  const placed = await shop.post<{ orderId: string; status: string }>("/orders", {
    customerId: "alice",
    items: [{ sku: "TEA-GREEN", quantity: 1 }],
  }, {
    "Idempotency-Key": crypto.randomUUID(),
    ...(traceId ? { traceparent: `00-${traceId}-${randomHex(8)}-01` } : {}),
  });
  assert.equal(placed.status, 201, JSON.stringify(placed.body));
  assert.equal(placed.body.status, "CONFIRMED");
  const traceresponse = placed.headers.get("traceresponse") ?? "";
  return traceresponse.split("-")[1]!;
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

Deno.test({
  name:
    "chaos: an OTLP collector refusing every export costs no checkout; spans lost are counted, a refused export is retried, and spans flow again after",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using receiver = startOtlpReceiver();
    receiver.refusals.push(...Array.from({ length: 100_000 }, () => ({ status: 503 })));
    await using shop = await startShop({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_TIMEOUT: "3000",
        OTEL_BSP_SCHEDULE_DELAY: "100",
      },
    });
    // The spans of one checkout: gateway, order, inventory, payment, and notification over the bus.
    const wholeTrace = (traceId: string) =>
      waitFor(() => {
        const services = new Set(
          receiver.spans.filter((s) => s.traceId === traceId).map((s) =>
            s.resource["service.name"]
          ),
        );
        return ["gateway", "order", "inventory", "payment", "notification"].every((name) =>
          services.has(name)
        );
      }, { what: `every service's spans of trace ${traceId}`, timeoutMs: 30_000 });

    await t.step("outage: checkouts succeed, lost spans are counted", async () => {
      for (let i = 0; i < 5; i++) await checkout(shop);
      await waitFor(
        async () => await sumMetric(shop, "flotilla_telemetry_span_export_failures_total") > 0,
        { what: "spans counted lost", timeoutMs: 30_000 },
      );
      assert.equal(receiver.spans.length, 0);
      assert.ok(receiver.paths.length > 0, "the services kept trying");
    });

    await t.step("one refusal: the refused export is sent again, nothing is lost", async () => {
      receiver.refusals.length = 0;
      // Refuse a request holding spans of a trace that starts after this: a fresh export, whose
      // retries have their whole budget (not one the outage left retrying near its end).
      const traceId = randomHex(16);
      receiver.refusals.push({
        status: 503,
        headers: { "retry-after": "0" },
        when: (spans) => spans.some((s) => s.traceId === traceId),
      });
      assert.equal(await checkout(shop, traceId), traceId);
      await wholeTrace(traceId);
      assert.equal(receiver.refusals.length, 0, "an export of the trace was refused");
      const refused = receiver.refused.filter((s) => s.traceId === traceId);
      assert.ok(refused.length > 0);
      await waitFor(
        () => refused.every((s) => receiver.spans.some((r) => r.spanId === s.spanId)),
        { what: "the refused spans sent again", timeoutMs: 30_000 },
      );
    });

    await t.step("back: a checkout's trace arrives whole", async () => {
      await wholeTrace(await checkout(shop));
    });
  },
});
