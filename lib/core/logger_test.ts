import assert from "node:assert/strict";
import { FlotillaError } from "./errors.ts";
import { Logger, MemorySink, parseLogLevel } from "./logger.ts";

Deno.test("Logger writes records at or above its level with its fields", () => {
  const sink = new MemorySink();
  const log = new Logger({ level: "info", sink, fields: { service: "order" } });
  log.debug("hidden");
  log.info("shown", { orderId: "o-1" });
  assert.equal(sink.records.length, 1);
  const [record] = sink.records;
  assert.equal(record?.msg, "shown");
  assert.equal(record?.level, "info");
  assert.equal(record?.service, "order");
  assert.equal(record?.orderId, "o-1");
  assert.ok(!Number.isNaN(Date.parse(String(record?.time))));
});

Deno.test("Logger.child() adds trace fields to every record", () => {
  const sink = new MemorySink();
  const log = new Logger({ sink, fields: { service: "order" } }).child({
    trace_id: "t",
    span_id: "s",
  });
  log.warn("careful");
  assert.equal(sink.records[0]?.trace_id, "t");
  assert.equal(sink.records[0]?.span_id, "s");
  assert.equal(sink.records[0]?.service, "order");
});

Deno.test("Logger serialises errors with their code and cause", () => {
  const sink = new MemorySink();
  new Logger({ sink }).error("failed", {
    error: new FlotillaError("X_FAILED", "x failed", { cause: new Error("root") }),
  });
  const error = sink.records[0]?.error as Record<string, unknown>;
  assert.equal(error.code, "X_FAILED");
  assert.equal((error.cause as Record<string, unknown>).message, "root");
  assert.doesNotThrow(() => JSON.stringify(sink.records[0]));
});

Deno.test("parseLogLevel() accepts known levels and rejects others", () => {
  assert.equal(parseLogLevel(undefined), "info");
  assert.equal(parseLogLevel("DEBUG"), "debug");
  assert.throws(() => parseLogLevel("loud"), RangeError);
});

Deno.test("Logger.setLevel() changes the level of the logger and of its children at once", () => {
  const sink = new MemorySink();
  const parent = new Logger({ level: "warn", sink });
  const child = parent.child({ trace_id: "t" });
  child.info("dropped");
  child.setLevel("debug");
  assert.equal(parent.level, "debug");
  parent.debug("kept");
  child.info("kept too");
  assert.deepEqual(sink.records.map((r) => r.msg), ["kept", "kept too"]);
  assert.throws(() => parent.setLevel("loud" as never), RangeError);
  assert.equal(parent.level, "debug");
});
