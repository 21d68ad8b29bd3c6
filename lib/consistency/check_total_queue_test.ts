import assert from "node:assert/strict";
import fc from "fast-check";
import { checkTotalQueue } from "./check_total_queue.ts";
import { History } from "./history.ts";
import { buildHistory, queuePlan } from "./_test_histories.ts";

Deno.test("checkTotalQueue() accepts a drained queue and reports duplicates and recoveries", () => {
  const history = new History<string>();
  history.invoke("p1", "enqueue", "a");
  history.ok("p1", "enqueue", "a");
  history.invoke("p1", "enqueue", "b");
  history.info("p1", "enqueue", "b", new Error("timed out"));
  history.invoke("p2", "enqueue", "c");
  history.fail("p2", "enqueue", "c", "refused");
  history.invoke("p3", "enqueue", "d");
  history.invoke("c1", "drain");
  history.ok("c1", "drain", ["a", "a", "b"]);
  const result = checkTotalQueue(history);
  assert.equal(result.valid, true);
  assert.deepEqual(result.lost, []);
  assert.deepEqual(result.unexpected, []);
  assert.deepEqual([...result.duplicated], [["a", 2]]);
  assert.equal(result.duplicatedCount, 1);
  assert.deepEqual(result.recovered, ["b"]);
  assert.equal(result.attempted, 4);
  assert.equal(result.acknowledged, 1);
  assert.equal(result.failed, 1);
  assert.equal(result.indeterminate, 2);
  assert.equal(result.dequeued, 3);
  assert.equal(result.okCount, 2);
});

Deno.test("checkTotalQueue() finds an acknowledged enqueue that never came out as lost", () => {
  const history = new History<number>();
  history.invoke("p", "enqueue", 1);
  history.ok("p", "enqueue", 1);
  history.invoke("p", "enqueue", 2);
  history.ok("p", "enqueue", 2);
  history.invoke("c", "dequeue");
  history.ok("c", "dequeue", 2);
  history.invoke("c", "dequeue");
  history.fail("c", "dequeue", undefined, "empty");
  const result = checkTotalQueue(history);
  assert.equal(result.valid, false);
  assert.deepEqual(result.lost, [1]);
  assert.equal(result.lostCount, 1);
});

Deno.test("checkTotalQueue() finds values never enqueued, or whose enqueue failed, as unexpected", () => {
  const history = new History<number>();
  history.invoke("p", "enqueue", 1);
  history.fail("p", "enqueue", 1);
  history.invoke("c", "drain");
  history.ok("c", "drain", [1, 7, 7]);
  const result = checkTotalQueue(history);
  assert.equal(result.valid, false);
  assert.deepEqual(result.unexpected, [1, 7, 7]);
  assert.equal(result.duplicated.size, 0);
});

Deno.test("checkTotalQueue() makes duplicates invalid only with exactlyOnce", () => {
  const history = new History<number>();
  history.invoke("p", "enqueue", 1);
  history.ok("p", "enqueue", 1);
  history.invoke("c", "drain");
  history.ok("c", "drain", [1, 1, 1]);
  assert.equal(checkTotalQueue(history).valid, true);
  const strict = checkTotalQueue(history, { exactlyOnce: true });
  assert.equal(strict.valid, false);
  assert.deepEqual([...strict.duplicated], [[1, 3]]);
  assert.equal(strict.duplicatedCount, 2);
});

Deno.test("checkTotalQueue() pairs completions per process and treats a re-invocation as unknown", () => {
  const history = new History<number>();
  history.invoke("p", "enqueue", 1);
  history.invoke("p", "enqueue", 2); // 1's outcome is now unknown
  history.ok("p", "enqueue");
  history.ok("q", "enqueue", 3); // its invocation was never logged
  history.invoke("c", "drain");
  history.ok("c", "drain", [2, 3]);
  const result = checkTotalQueue(history);
  assert.equal(result.valid, true);
  assert.equal(result.attempted, 3);
  assert.equal(result.acknowledged, 2);
  assert.equal(result.indeterminate, 1);
});

Deno.test("checkTotalQueue() compares object values by their JSON, or by a key", () => {
  const history = new History<{ id: string; n?: number }>();
  history.invoke("p", "enqueue", { id: "a", n: 1 });
  history.ok("p", "enqueue", { id: "a", n: 1 });
  history.invoke("c", "dequeue");
  history.ok("c", "dequeue", JSON.parse('{"n":1,"id":"a"}'));
  assert.equal(checkTotalQueue(history).valid, true);
  history.invoke("c", "dequeue");
  history.ok("c", "dequeue", { id: "a" });
  assert.equal(checkTotalQueue(history).valid, false);
  const byId = checkTotalQueue(history, { key: (value) => value.id });
  assert.equal(byId.valid, true);
  assert.equal(byId.duplicatedCount, 1);
});

Deno.test("checkTotalQueue() accepts every generated valid history (property)", () => {
  fc.assert(
    fc.property(queuePlan(), (plan) => {
      const result = checkTotalQueue(buildHistory(plan));
      assert.equal(result.valid, true);
      assert.deepEqual(result.lost, []);
      assert.deepEqual(result.unexpected, []);
      let duplicated = 0;
      const recovered: number[] = [];
      for (const { value, outcome, deliveries } of plan.values) {
        if (deliveries > 1) duplicated += deliveries - 1;
        if ((outcome === "info" || outcome === "none") && deliveries > 0) recovered.push(value);
      }
      assert.equal(result.duplicatedCount, duplicated);
      assert.deepEqual([...result.recovered].sort((a, b) => a - b), recovered);
      assert.equal(result.attempted, plan.values.length);
      assert.equal(
        checkTotalQueue(buildHistory(plan), { exactlyOnce: true }).valid,
        duplicated === 0,
      );
    }),
  );
});

Deno.test("checkTotalQueue() detects an injected loss (property)", () => {
  fc.assert(
    fc.property(queuePlan(), fc.nat(), (plan, pick) => {
      const acked = plan.values.filter((v) => v.outcome === "ok");
      fc.pre(acked.length > 0);
      const victim = acked[pick % acked.length]!.value;
      const values = plan.values.map((v) => v.value === victim ? { ...v, deliveries: 0 } : v);
      const result = checkTotalQueue(buildHistory({ ...plan, values }));
      assert.equal(result.valid, false);
      assert.deepEqual(result.lost, [victim]);
      assert.deepEqual(result.unexpected, []);
    }),
  );
});

Deno.test("checkTotalQueue() detects an injected duplicate (property)", () => {
  fc.assert(
    fc.property(queuePlan(), fc.nat(), (plan, pick) => {
      const acked = plan.values.filter((v) => v.outcome === "ok" && v.deliveries === 1);
      fc.pre(acked.length > 0);
      const victim = acked[pick % acked.length]!.value;
      const values = plan.values.map((v) => v.value === victim ? { ...v, deliveries: 2 } : v);
      const history = buildHistory({ ...plan, values });
      assert.equal(checkTotalQueue(history).valid, true);
      assert.equal(checkTotalQueue(history).duplicated.get(victim), 2);
      assert.equal(checkTotalQueue(history, { exactlyOnce: true }).valid, false);
    }),
  );
});

Deno.test("checkTotalQueue() detects an injected unexpected value (property)", () => {
  fc.assert(
    fc.property(queuePlan(), fc.boolean(), fc.nat(), (plan, fromFailed, pick) => {
      const failed = plan.values.filter((v) => v.outcome === "fail");
      const history = buildHistory(plan);
      let victim = plan.values.length + 1000;
      if (fromFailed && failed.length > 0) victim = failed[pick % failed.length]!.value;
      history.invoke("intruder", "dequeue");
      history.ok("intruder", "dequeue", victim);
      const result = checkTotalQueue(history);
      assert.equal(result.valid, false);
      assert.deepEqual(result.unexpected, [victim]);
      assert.deepEqual(result.lost, []);
    }),
  );
});

Deno.test("checkTotalQueue() gives the same verdict after a JSON lines round trip and a merge (property)", () => {
  fc.assert(
    fc.property(queuePlan(), (plan) => {
      const history = buildHistory(plan);
      const expected = checkTotalQueue(history);
      const byProcess = new Map<string, History<number>>();
      for (const operation of history) {
        const key = operation.process.split("-")[0]!;
        if (!byProcess.has(key)) byProcess.set(key, new History<number>());
        byProcess.get(key)!.append(operation);
      }
      const files = [...byProcess.values()].map((h) => h.toJsonLines());
      const merged = History.merge(...files.map((text) => History.fromJsonLines<number>(text)));
      assert.equal(merged.length, history.length);
      const result = checkTotalQueue(merged);
      assert.equal(result.valid, expected.valid);
      assert.deepEqual(result.lost, expected.lost);
      assert.equal(result.duplicatedCount, expected.duplicatedCount);
      assert.equal(result.recoveredCount, expected.recoveredCount);
      assert.equal(result.indeterminate, expected.indeterminate);
    }),
  );
});
