/**
 * The shop's telemetry end to end, through the supervisor: one checkout is one
 * trace across the gateway, order, inventory, payment and (over the bus)
 * notification, exported over OTLP/gRPC or OTLP/HTTP JSON to a receiver the test runs;
 * every service's `/metrics` passes `promtool check metrics`; a real
 * Prometheus scrapes the targets file the supervisor writes and answers the
 * checkout rate; a log line written inside a request carries the exported
 * span's ids.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, waitFor } from "@flotilla/testing";
import {
  type ReceivedSpan as OtlpSpan,
  startOtlpGrpcReceiver,
  startOtlpReceiver,
} from "../../lib/telemetry/_otlp_receiver.ts";
import { e2eTransport, type Shop, startShop } from "../support/shop.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const PROMTOOL = "/usr/bin/promtool";
/** OTLP span kinds. */
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

/** A span the receiver got, with the name of the service that sent it. */
type ReceivedSpan = OtlpSpan & { service: string };

/**
 * The test OTLP receivers of @flotilla/telemetry's own tests, each span with its service's name:
 * OTLP/gRPC (gzip) when the services call each other over HTTP, so the exporter's own grants
 * (the collector's address, grpc-js's GRPC_* variables) are what lets it through; OTLP/HTTP JSON
 * over the other transports.
 */
async function startReceiver() {
  const grpc = e2eTransport() === "http";
  const receiver = grpc ? await startOtlpGrpcReceiver() : startOtlpReceiver();
  return {
    url: receiver.url,
    env: grpc
      ? { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_COMPRESSION: "gzip" }
      : { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" },
    get spans(): ReceivedSpan[] {
      return receiver.spans.map((s) => ({ ...s, service: s.resource["service.name"] as string }));
    },
    [Symbol.asyncDispose]: () => receiver[Symbol.asyncDispose](),
  };
}

function installed(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

async function placeOrder(shop: Shop): Promise<{ orderId: string; traceresponse: string }> {
  const placed = await shop.post<{ orderId: string; status: string }>("/orders", {
    customerId: "alice",
    items: [{ sku: "TEA-GREEN", quantity: 1 }],
  }, { "Idempotency-Key": crypto.randomUUID() });
  assert.equal(placed.status, 201, JSON.stringify(placed.body));
  assert.equal(placed.body.status, "CONFIRMED");
  return { orderId: placed.body.orderId, traceresponse: placed.headers.get("traceresponse") ?? "" };
}

Deno.test("telemetry of the shop: one trace per checkout, promtool-clean /metrics, Prometheus, logs", async (t) => {
  await using receiver = await startReceiver();
  await using shop = await startShop({
    env: {
      ...receiver.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "100",
    },
  });
  const transport = e2eTransport();
  const { orderId, traceresponse } = await placeOrder(shop);
  const [, traceId, gatewaySpanId] = traceresponse.split("-");
  assert.match(traceId ?? "", /^[0-9a-f]{32}$/, `traceresponse: ${traceresponse}`);

  const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
  const find = (what: string, match: (s: ReceivedSpan) => boolean) =>
    waitFor(() => inTrace().find(match), { what, timeoutMs: 20_000 });

  await t.step("one checkout is one trace: gateway → order → inventory and payment", async () => {
    const gatewayServer = await find(
      "the gateway's server span",
      (s) => s.spanId === gatewaySpanId,
    );
    assert.equal(gatewayServer.name, "gateway/placeOrder");
    assert.equal(gatewayServer.kind, SERVER);
    assert.equal(gatewayServer.service, "gateway");
    assert.equal(gatewayServer.parentSpanId, undefined, "an external request starts the trace");
    assert.equal(gatewayServer.attributes["rpc.system"], "flotilla");
    assert.equal(gatewayServer.attributes["rpc.service"], "gateway");
    assert.equal(gatewayServer.attributes["rpc.method"], "placeOrder");
    assert.equal(gatewayServer.attributes["flotilla.transport"], "http");

    const gatewayClient = await find(
      "the gateway's client span to order",
      (s) => s.kind === CLIENT && s.service === "gateway" && s.name === "order/placeOrder",
    );
    assert.equal(gatewayClient.parentSpanId, gatewayServer.spanId);
    assert.equal(gatewayClient.attributes["rpc.service"], "order");
    assert.equal(gatewayClient.attributes["rpc.method"], "placeOrder");

    const orderServer = await find(
      "the order service's server span",
      (s) => s.kind === SERVER && s.service === "order" && s.name === "order/placeOrder",
    );
    assert.equal(orderServer.parentSpanId, gatewayClient.spanId);
    assert.equal(orderServer.attributes["flotilla.transport"], transport);
    assert.equal(orderServer.attributes["flotilla.caller"], "gateway");

    // The checkout's saga steps and the order's event store writes are spans under placeOrder.
    const descends = (span: ReceivedSpan, ancestor: ReceivedSpan) => {
      for (let s: ReceivedSpan | undefined = span; s?.parentSpanId;) {
        if (s.parentSpanId === ancestor.spanId) return true;
        s = inTrace().find((p) => p.spanId === s!.parentSpanId);
      }
      return false;
    };
    const step = await find(
      "a checkout step span",
      (s) => s.service === "order" && /^checkout(-tcc)? confirmOrder$/.test(s.name),
    );
    assert.equal(step.attributes["flotilla.saga.step"], "confirmOrder");
    assert.ok(descends(step, orderServer), "the step runs under placeOrder");
    const append = await find(
      "an event store write span",
      (s) => s.service === "order" && s.name === "append order" && s.kind === CLIENT,
    );
    assert.equal(append.attributes["db.system.name"], "sqlite");
    assert.ok(descends(append, orderServer), "the write runs under placeOrder");

    // The order service calls inventory and payment from its placeOrder (whatever the protocol
    // of the checkout: reserve/charge, or the TCC try/confirm actions).
    for (const peer of ["inventory", "payment"]) {
      const client = await find(
        `a client span from order to ${peer}`,
        (s) => s.kind === CLIENT && s.service === "order" && s.name.startsWith(`${peer}/`),
      );
      const ancestors = new Set<string>();
      for (let span: ReceivedSpan | undefined = client; span?.parentSpanId;) {
        ancestors.add(span.parentSpanId);
        span = inTrace().find((s) => s.spanId === span!.parentSpanId);
      }
      assert.ok(ancestors.has(orderServer.spanId), `${client.name} descends from order's span`);
      const server = await find(
        `${peer}'s server span under the order's client span`,
        (s) => s.kind === SERVER && s.parentSpanId === client.spanId,
      );
      assert.equal(server.service, peer);
      assert.equal(server.name, client.name);
      assert.equal(server.attributes["rpc.service"], peer);
      assert.equal(server.attributes["flotilla.caller"], "order");
    }
  });

  await t.step(
    "over the bus: notification's consumer span is the child of order's producer span",
    async () => {
      const consumer = await find(
        "notification's consumer span of an order event",
        (s) => s.kind === CONSUMER && s.service === "notification" && s.name.startsWith("process "),
      );
      const producer = await find(
        "order's producer span of that event",
        (s) => s.kind === PRODUCER && s.spanId === consumer.parentSpanId,
      );
      assert.equal(producer.service, "order");
      assert.match(producer.name, /^(send|create) /);
      assert.equal(producer.name.split(" ")[1], consumer.name.split(" ")[1], "the same stream");
      assert.equal(
        producer.attributes["messaging.message.id"],
        consumer.attributes["messaging.message.id"],
      );
      assert.equal(
        consumer.attributes["messaging.system"],
        producer.attributes["messaging.system"],
      );
      assert.ok(
        ["sqlite", "redis", "nats"].includes(String(consumer.attributes["messaging.system"])),
        `messaging.system ${consumer.attributes["messaging.system"]}`,
      );
      assert.equal(consumer.attributes["messaging.operation.type"], "process");
      assert.equal(consumer.attributes["messaging.consumer.group.name"], "notification");
      assert.equal(typeof consumer.attributes["cloudevents.event_type"], "string");
      // The event was written by the order's handler: the producer continues its trace.
      assert.ok(inTrace().some((s) => s.spanId === producer.parentSpanId));
    },
  );

  await t.step(
    "a log line written inside the request carries the exported span's ids",
    async () => {
      const orderServer = inTrace().find((s) => s.kind === SERVER && s.service === "order")!;
      const line = await waitFor(async () => {
        const text = await Deno.readTextFile(join(shop.dataDir, "logs", "order.log")).catch(() =>
          ""
        );
        return text.split("\n").filter((l) => l.includes(orderId)).map((l) => {
          try {
            return JSON.parse(l.slice(l.indexOf("{"))) as Record<string, unknown>;
          } catch {
            return undefined;
          }
        }).find((entry) => entry?.trace_id === traceId);
      }, { what: `a log line of order ${orderId}`, timeoutMs: 20_000 });
      assert.equal(line.trace_id, orderServer.traceId);
      assert.equal(line.service, "order");
      assert.equal(line.span_id, orderServer.spanId, `"${line.msg}" was logged in placeOrder`);
    },
  );

  await t.step(
    "notification logs the notification it records, in the consumer span of the event",
    async () => {
      const line = await waitFor(async () => {
        const text = await Deno.readTextFile(join(shop.dataDir, "logs", "notification.log"))
          .catch(() => "");
        return text.split("\n").filter((l) => l.includes("notification recorded")).map((l) => {
          try {
            return JSON.parse(l.slice(l.indexOf("{"))) as Record<string, unknown>;
          } catch {
            return undefined;
          }
        }).find((entry) => entry?.orderId === orderId && entry?.type === "order.confirmed");
      }, { what: `notification's log line of order ${orderId}`, timeoutMs: 20_000 });
      assert.equal(line.service, "notification");
      assert.equal(line.trace_id, traceId, "the line carries the checkout's trace");
      const consumer = await find(
        "the consumer span the line was written in",
        (s) => s.kind === CONSUMER && s.spanId === line.span_id,
      );
      assert.equal(consumer.service, "notification");
    },
  );

  const services = await shop.status();

  await t.step({
    name: installed(PROMTOOL)
      ? "promtool check metrics passes on every service's /metrics"
      : `promtool check metrics: SKIPPED, ${PROMTOOL} is absent (apt-get install prometheus)`,
    ignore: !installed(PROMTOOL),
    fn: async () => {
      for (const service of services) {
        const response = await fetch(`http://127.0.0.1:${service.port}/metrics`);
        assert.equal(response.status, 200, service.name);
        assert.equal(
          response.headers.get("content-type"),
          "text/plain; version=0.0.4; charset=utf-8",
        );
        const text = await response.text();
        assert.match(text, /^# TYPE flotilla_server_requests_total counter$/m, service.name);
        assert.match(text, /^process_resident_memory_bytes \d/m, service.name);
        if (service.name !== "notification") {
          assert.match(text, /^flotilla_server_requests_total\{/m, `${service.name} counts calls`);
        }
        const child = new Deno.Command(PROMTOOL, {
          args: ["check", "metrics"],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(text));
        await writer.close();
        const result = await child.output();
        const said = new TextDecoder().decode(result.stdout) +
          new TextDecoder().decode(result.stderr);
        assert.ok(result.success, `${service.name}: ${said}`);
        assert.equal(said.trim(), "", `${service.name} has no lint warning`);
      }
    },
  });

  await t.step({
    name: installed(PROMETHEUS)
      ? "a real Prometheus scrapes the supervisor's targets and answers the checkout rate"
      : `Prometheus: SKIPPED, ${PROMETHEUS} is absent (apt-get install prometheus)`,
    ignore: !installed(PROMETHEUS),
    fn: prometheusStep,
  });

  async function prometheusStep() {
    const targets = join(shop.dataDir, "prometheus", "targets.json");
    const groups = JSON.parse(await Deno.readTextFile(targets)) as Array<
      { targets: string[]; labels: Record<string, string> }
    >;
    assert.deepEqual(
      groups.map((g) => g.labels.flotilla_service).sort(),
      services.map((s) => s.name).sort(),
    );
    await using dir = await tempDir();
    const config = join(dir.path, "prometheus.yml");
    await Deno.writeTextFile(
      config,
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: flotilla",
        "    file_sd_configs:",
        `      - files: [${JSON.stringify(targets)}]`,
        "    relabel_configs:",
        "      - source_labels: [flotilla_service]",
        "        target_label: job",
        "      - source_labels: [flotilla_instance]",
        "        target_label: instance",
        "",
      ].join("\n"),
    );
    const port = freePort();
    await using prometheus = spawn(PROMETHEUS, [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir.path, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ]);
    const query = async (promql: string) => {
      const response = await fetch(
        `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      const body = await response.json();
      return body.data?.result as Array<
        { metric: Record<string, string>; value: [number, string] }
      >;
    };
    await waitFor(async () => {
      const up = await query("up");
      return up?.length === services.length && up.every((r) => r.value[1] === "1");
    }, {
      what: "Prometheus to scrape every service (up == 1)",
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    const up = await query('up{job="order"}');
    assert.equal(up[0]?.metric.instance, "order-1");
    // rate() needs two samples of a counter that moved between them: keep ordering until it answers.
    const rate = await waitFor(async () => {
      await placeOrder(shop);
      const result = await query(
        'sum(rate(flotilla_server_requests_total{service="gateway",action="placeOrder"}[1m]))',
      );
      const value = Number(result?.[0]?.value[1] ?? 0);
      return value > 0 ? value : undefined;
    }, { what: "a positive checkout rate", timeoutMs: 60_000, intervalMs: 500 });
    assert.ok(rate > 0, prometheus.output());
  }
});

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "flotilla-prometheus-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

function spawn(command: string, args: string[]) {
  const child = new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const pumping = Promise.all([pump(child.stdout), pump(child.stderr)]);
  return {
    output: () => output,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await child.status;
      await pumping;
    },
  };
}
