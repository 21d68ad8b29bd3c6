import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";
import { createContext, deadlineSignal } from "./context.ts";
import { DeadlineExceededError } from "./errors.ts";
import { Logger, MemorySink } from "./logger.ts";

Deno.test("createContext() measures the remaining time with its clock", () => {
  const clock = new ManualClock(0);
  const sink = new MemorySink();
  using ctx = createContext({
    service: "s",
    action: "a",
    deadline: 100,
    clock,
    logger: new Logger({ sink }),
  });
  assert.equal(ctx.remaining(), 100);
  clock.advance(40);
  assert.equal(ctx.remaining(), 60);
  clock.advance(100);
  assert.equal(ctx.remaining(), 0);
  assert.throws(() => ctx.throwIfDone(), DeadlineExceededError);
  ctx.logger.info("hello");
  assert.equal(sink.records[0]?.trace_id, ctx.trace.traceId);
  assert.equal(sink.records[0]?.action, "a");
});

Deno.test("createContext() without a deadline has infinite time", () => {
  using ctx = createContext({
    service: "s",
    action: "a",
    logger: new Logger({ sink: new MemorySink() }),
  });
  assert.equal(ctx.remaining(), Infinity);
  assert.doesNotThrow(() => ctx.throwIfDone());
});

Deno.test("createContext() aborts its signal with the caller's", () => {
  const controller = new AbortController();
  using ctx = createContext({
    service: "s",
    action: "a",
    signal: controller.signal,
    logger: new Logger({ sink: new MemorySink() }),
  });
  controller.abort(new Error("gone"));
  assert.ok(ctx.signal.aborted);
  assert.throws(() => ctx.throwIfDone(), /gone/);
});

Deno.test("deadlineSignal() aborts at once for a deadline already past", () => {
  const { signal } = deadlineSignal(0);
  assert.ok(signal.aborted);
  assert.ok(signal.reason instanceof DeadlineExceededError);
  const later = deadlineSignal(60_000);
  assert.ok(!later.signal.aborted);
  later.cancel();
});
