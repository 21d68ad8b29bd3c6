import assert from "node:assert/strict";
import { InvalidSettingError } from "./errors.ts";
import { transportSetting } from "./_transport.ts";

Deno.test("transportSetting() defaults to HTTP and reads gRPC", () => {
  assert.deepEqual(transportSetting(undefined), {
    value: "http",
    type: "http",
    addresses: [],
    envPrefixes: [],
  });
  assert.deepEqual(transportSetting(" GRPC "), {
    value: "grpc",
    type: "grpc",
    addresses: [],
    envPrefixes: ["GRPC_"],
  });
});

Deno.test("transportSetting() grants every NATS server, port 4222 by default", () => {
  assert.deepEqual(transportSetting("nats://10.0.0.1,10.0.0.2:4223"), {
    value: "nats://10.0.0.1,10.0.0.2:4223",
    type: "nats",
    addresses: [{ hostname: "10.0.0.1", port: 4222 }, { hostname: "10.0.0.2", port: 4223 }],
    envPrefixes: [],
  });
});

Deno.test("transportSetting() refuses anything else, hiding passwords", () => {
  for (const raw of ["smoke", "nats://", "nats://host/path", "amqp://x"]) {
    assert.throws(() => transportSetting(raw), InvalidSettingError, raw);
  }
  assert.throws(
    () => transportSetting("nats://u:hunter2@/x"),
    (error: Error) => !error.message.includes("hunter2"),
  );
});
