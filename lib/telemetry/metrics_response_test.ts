import assert from "node:assert/strict";
import { metricsResponse } from "./metrics_response.ts";
import { prometheusTargets } from "./prometheus_targets.ts";
import { Registry } from "./registry.ts";

Deno.test("metricsResponse() answers 200 with the 0.0.4 content type and the rendered text", async () => {
  const registry = new Registry();
  registry.counter({ name: "jobs_total", help: "Jobs." }).inc();
  const response = await metricsResponse(registry);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.equal(
    await response.text(),
    "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 1\n",
  );
});

Deno.test("prometheusTargets() writes one file_sd group per process, without a 'service' label", () => {
  assert.deepEqual(
    prometheusTargets("shop", [
      { service: "order", instance: "order-1", url: "http://127.0.0.1:41873" },
      { service: "order", instance: "order-2", url: "https://10.0.0.2" },
    ]),
    [
      {
        targets: ["127.0.0.1:41873"],
        labels: { system: "shop", flotilla_service: "order", flotilla_instance: "order-1" },
      },
      {
        targets: ["10.0.0.2:443"],
        labels: {
          system: "shop",
          flotilla_service: "order",
          flotilla_instance: "order-2",
          __scheme__: "https",
        },
      },
    ],
  );
});
