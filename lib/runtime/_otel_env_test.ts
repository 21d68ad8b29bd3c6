import assert from "node:assert/strict";
import { otelEnv } from "./_otel_env.ts";

const reader = (values: Record<string, string>) => ({ get: (name: string) => values[name] });

Deno.test("otelEnv() turns export off until a collector is named", () => {
  assert.equal(otelEnv(reader({}))("OTEL_TRACES_EXPORTER"), "none");
  assert.equal(otelEnv(reader({ OTEL_SERVICE_NAME: "x" }))("OTEL_SERVICE_NAME"), "x");
  for (
    const named of [
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" },
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" },
      { OTEL_TRACES_EXPORTER: "otlp" },
    ]
  ) {
    assert.equal(otelEnv(reader(named))("OTEL_TRACES_EXPORTER"), named.OTEL_TRACES_EXPORTER);
  }
});

Deno.test("otelEnv() reads a variable it may not read, or a blank one, as unset", () => {
  const env = otelEnv({
    get: (name) => {
      if (name === "OTEL_EXPORTER_OTLP_ENDPOINT") throw new Deno.errors.NotCapable(name);
      return name === "OTEL_SERVICE_NAME" ? "  " : undefined;
    },
  });
  assert.equal(env("OTEL_TRACES_EXPORTER"), "none");
  assert.equal(env("OTEL_SERVICE_NAME"), undefined);
});
