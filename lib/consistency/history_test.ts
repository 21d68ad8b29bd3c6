import assert from "node:assert/strict";
import { ManualClock } from "@flotilla/core";
import { History, type Operation } from "./history.ts";

Deno.test("History logs invocations and completions with the clock's time", () => {
  const clock = new ManualClock(100);
  const lines: string[] = [];
  const history = new History<number>({ clock, sink: (line) => lines.push(line) });
  history.invoke("p", "enqueue", 1);
  clock.advance(5);
  history.info("p", "enqueue", 1, new Error("timed out"));
  history.fail("q", "dequeue", undefined, "empty");
  assert.deepEqual(history.operations, [
    { process: "p", type: "invoke", f: "enqueue", value: 1, time: 100 },
    { process: "p", type: "info", f: "enqueue", value: 1, time: 105, error: "Error: timed out" },
    { process: "q", type: "fail", f: "dequeue", time: 105, error: "empty" },
  ]);
  assert.equal(history.length, 3);
  assert.equal(lines.join(""), history.toJsonLines());
  assert.deepEqual([...history], history.operations);
});

Deno.test("History.fromJsonLines() reads its own output and skips a torn last line", () => {
  const history = new History<string>({ clock: new ManualClock(0) });
  history.invoke("p", "enqueue", "a");
  history.ok("p", "enqueue", "a");
  const text = history.toJsonLines();
  assert.deepEqual(History.fromJsonLines(text).operations, history.operations);
  const torn = text + '{"process":"p","type":"inv';
  assert.equal(History.fromJsonLines(torn).length, 2);
  assert.throws(() => History.fromJsonLines(torn, { tolerateTornTail: false }), SyntaxError);
  assert.throws(() => History.fromJsonLines('{"oops"\n' + text), SyntaxError);
});

Deno.test("History.fromJsonLines() rejects an operation of the wrong shape", () => {
  assert.throws(
    () => History.fromJsonLines('{"process":"p","type":"done","f":"x","time":1}\n'),
    (error: unknown) =>
      error instanceof TypeError &&
      error.message ===
        "Cannot read the operation on line 1 as 'type' must be invoke, ok, fail or info: current value is done",
  );
  assert.throws(
    () => History.fromJsonLines('{"process":1,"type":"ok","f":"x","time":1}'),
    TypeError,
  );
  assert.throws(() => History.fromJsonLines('{"process":"p","type":"ok","f":"x"}'), TypeError);
});

Deno.test("History.merge() orders by time and keeps each history's own order on ties", () => {
  const op = (process: string, type: Operation["type"], time: number): Operation => ({
    process,
    type,
    f: "enqueue",
    time,
  });
  const a = new History({}, [op("a", "invoke", 1), op("a", "ok", 1), op("a", "invoke", 5)]);
  const b = new History({}, [op("b", "invoke", 0), op("b", "ok", 3)]);
  const merged = History.merge(a, b);
  assert.deepEqual(
    merged.operations.map((o) => `${o.process}:${o.type}@${o.time}`),
    ["b:invoke@0", "a:invoke@1", "a:ok@1", "b:ok@3", "a:invoke@5"],
  );
});
