import assert from "node:assert/strict";
import { Registry } from "./registry.ts";

Deno.test("Registry.render() writes HELP and TYPE, escaping backslash and line feed in help", async () => {
  const registry = new Registry();
  registry.counter({ name: "jobs_total", help: 'Jobs run\\done\nsecond line "quoted"' }).inc();
  assert.equal(
    await registry.render(),
    [
      '# HELP jobs_total Jobs run\\\\done\\nsecond line "quoted"',
      "# TYPE jobs_total counter",
      "jobs_total 1",
      "",
    ].join("\n"),
  );
});

Deno.test("Registry.render() escapes backslash, double quote and line feed in label values", async () => {
  const registry = new Registry();
  const counter = registry.counter({ name: "paths_total", help: "h", labelNames: ["path"] });
  counter.inc({ path: 'C:\\dir\\"x"\nnext' });
  const text = await registry.render();
  assert.ok(text.includes('paths_total{path="C:\\\\dir\\\\\\"x\\"\\nnext"} 1\n'), text);
});

Deno.test("Histogram renders cumulative buckets, +Inf, _sum and _count", async () => {
  const registry = new Registry();
  const h = registry.histogram({
    name: "op_duration_seconds",
    help: "h",
    labelNames: ["op"],
    buckets: [0.1, 0.5, 1],
  });
  for (const v of [0.05, 0.1, 0.3, 0.7, 2, 5]) h.observe({ op: "read" }, v);
  const text = await registry.render();
  assert.deepEqual(
    text.split("\n").filter((l) => l.startsWith("op_duration")),
    [
      'op_duration_seconds_bucket{op="read",le="0.1"} 2',
      'op_duration_seconds_bucket{op="read",le="0.5"} 3',
      'op_duration_seconds_bucket{op="read",le="1"} 4',
      'op_duration_seconds_bucket{op="read",le="+Inf"} 6',
      'op_duration_seconds_sum{op="read"} 8.15',
      'op_duration_seconds_count{op="read"} 6',
    ],
  );
});

Deno.test("Histogram without labels renders its empty series at zero", async () => {
  const registry = new Registry();
  registry.histogram({ name: "empty_seconds", help: "h", buckets: [1] });
  const lines = (await registry.render()).split("\n");
  assert.deepEqual(lines.slice(2, 6), [
    'empty_seconds_bucket{le="1"} 0',
    'empty_seconds_bucket{le="+Inf"} 0',
    "empty_seconds_sum 0",
    "empty_seconds_count 0",
  ]);
});

Deno.test("Gauge renders NaN, +Inf and -Inf in Prometheus syntax", async () => {
  const registry = new Registry();
  const g = registry.gauge({ name: "odd", help: "h", labelNames: ["v"] });
  g.set({ v: "nan" }, NaN);
  g.set({ v: "pos" }, Infinity);
  g.set({ v: "neg" }, -Infinity);
  const text = await registry.render();
  assert.ok(text.includes('odd{v="nan"} NaN'));
  assert.ok(text.includes('odd{v="pos"} +Inf'));
  assert.ok(text.includes('odd{v="neg"} -Inf'));
});

Deno.test("Counter refuses a name without _total, a negative increment and a bad label name", () => {
  const registry = new Registry();
  assert.throws(() => registry.counter({ name: "jobs", help: "h" }), RangeError);
  assert.throws(
    () => registry.counter({ name: "x_total", help: "h", labelNames: ["__reserved"] }),
    RangeError,
  );
  assert.throws(() => registry.histogram({ name: "y", help: "h", labelNames: ["le"] }), RangeError);
  assert.throws(() => registry.histogram({ name: "z", help: "h", buckets: [1, 1] }), RangeError);
  const c = registry.counter({ name: "ok_total", help: "h" });
  assert.throws(() => c.inc(undefined, -1), RangeError);
});

Deno.test("Registry.register() refuses a name taken by a metric or a histogram's suffix", () => {
  const registry = new Registry();
  registry.histogram({ name: "lat_seconds", help: "h" });
  assert.throws(() => registry.gauge({ name: "lat_seconds", help: "h" }), RangeError);
  assert.throws(() => registry.gauge({ name: "lat_seconds_count", help: "h" }), RangeError);
});

Deno.test("Registry folds label sets past maxSeries into 'other' and counts the overflow", async () => {
  const registry = new Registry({ maxSeries: 2 });
  const c = registry.counter({ name: "req_total", help: "h", labelNames: ["user", "kind"] });
  c.inc({ user: "a", kind: "x" });
  c.inc({ user: "b", kind: "x" });
  c.inc({ user: "c", kind: "x" });
  c.inc({ user: "d", kind: "y" });
  c.inc({ user: "a", kind: "x" });
  assert.equal(c.seriesCount, 3);
  assert.equal(c.get({ user: "a", kind: "x" }), 2);
  const text = await registry.render();
  assert.ok(text.includes('req_total{user="other",kind="other"} 2'), text);
  assert.ok(text.includes('flotilla_telemetry_label_overflow_total{metric="req_total"} 2'), text);
});

Deno.test("Registry.render() runs collectors first and survives one that throws", async () => {
  const errors: unknown[] = [];
  const registry = new Registry({ onCollectError: (e) => errors.push(e) });
  const g = registry.gauge({ name: "backlog_events", help: "h" });
  registry.addCollector(() => g.set(undefined, 7));
  const remove = registry.addCollector(() => {
    throw new Error("db closed");
  });
  assert.ok((await registry.render()).includes("backlog_events 7"));
  assert.equal(errors.length, 1);
  remove();
  await registry.render();
  assert.equal(errors.length, 1);
});

Deno.test("Gauge.remove() drops a series; labels() children update the same series", async () => {
  const registry = new Registry();
  const g = registry.gauge({ name: "state", help: "h", labelNames: ["endpoint"] });
  const child = g.labels({ endpoint: "a" });
  child.set(2);
  child.dec();
  g.inc({ endpoint: "b" });
  assert.equal(g.get({ endpoint: "a" }), 1);
  g.remove({ endpoint: "b" });
  const text = await registry.render();
  assert.ok(text.includes('state{endpoint="a"} 1'));
  assert.ok(!text.includes('endpoint="b"'));
});
