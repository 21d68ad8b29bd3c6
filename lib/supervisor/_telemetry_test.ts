import assert from "node:assert/strict";
import { OTEL_ENV_VARS } from "@flotilla/telemetry";
import { InvalidSettingError } from "./errors.ts";
import { telemetryAccess } from "./_telemetry.ts";

Deno.test("telemetryAccess() grants the collector named by the OTLP endpoint variables", () => {
  assert.deepEqual(telemetryAccess({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://10.0.0.5:4318" }), {
    addresses: [{ hostname: "10.0.0.5", port: 4318 }],
    env: OTEL_ENV_VARS,
  });
  assert.deepEqual(
    telemetryAccess({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://10.0.0.5:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://collector.example/v1/traces",
    }).addresses,
    [{ hostname: "collector.example", port: 443 }],
  );
});

Deno.test("telemetryAccess() grants no address without an endpoint or with export off", () => {
  assert.deepEqual(telemetryAccess({}).addresses, []);
  assert.deepEqual(
    telemetryAccess({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" })
      .addresses,
    [],
  );
});

Deno.test("telemetryAccess() grants the default collector when OTEL_TRACES_EXPORTER asks for it", () => {
  assert.deepEqual(telemetryAccess({ OTEL_TRACES_EXPORTER: "otlp" }).addresses, [
    { hostname: "localhost", port: 4318 },
  ]);
  assert.deepEqual(telemetryAccess({ OTEL_TRACES_EXPORTER: "none" }).addresses, []);
});

Deno.test("telemetryAccess() grants an OTLP/gRPC collector and grpc-js's GRPC_* variables", () => {
  assert.deepEqual(
    telemetryAccess({
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://10.0.0.5:4317",
    }),
    {
      addresses: [{ hostname: "10.0.0.5", port: 4317 }],
      env: OTEL_ENV_VARS,
      envPrefixes: ["GRPC_"],
    },
  );
  assert.deepEqual(
    telemetryAccess({ OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })
      .addresses,
    [
      { hostname: "localhost", port: 4317 },
    ],
  );
  // Exporting nothing, it loads no grpc-js: nothing more is granted.
  assert.equal(telemetryAccess({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }).envPrefixes, undefined);
});

Deno.test("telemetryAccess() refuses invalid OTEL_* variables", () => {
  assert.throws(
    () => telemetryAccess({ OTEL_EXPORTER_OTLP_PROTOCOL: "thrift" }),
    InvalidSettingError,
  );
});
