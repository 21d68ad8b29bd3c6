import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";
import { DeadlineSweeper } from "./deadline_sweeper.ts";

Deno.test("DeadlineSweeper.sweep() expires passed deadlines once and keeps the rest", () => {
  const clock = new ManualClock(1_000);
  const sweeper = new DeadlineSweeper(clock);
  const expired: string[] = [];
  const cancelA = sweeper.watch(1_100, () => expired.push("a"));
  sweeper.watch(1_200, () => expired.push("b"));
  const cancelC = sweeper.watch(1_050, () => expired.push("c"));
  cancelC();
  clock.advance(100);
  sweeper.sweep();
  assert.deepEqual(expired, ["a"]);
  assert.equal(sweeper.size, 1);
  cancelA();
  clock.advance(100);
  sweeper.sweep();
  sweeper.sweep();
  assert.deepEqual(expired, ["a", "b"]);
  assert.equal(sweeper.size, 0);
});

Deno.test("DeadlineSweeper stops its interval when nothing is watched", async () => {
  const sweeper = new DeadlineSweeper();
  const fired = await new Promise<boolean>((resolve) => {
    sweeper.watch(Date.now() + 1, () => resolve(true));
  });
  assert.ok(fired);
  assert.equal(sweeper.size, 0);
  sweeper.sweep();
  // The test sanitizer fails the test if an interval were left running.
});

Deno.test("DeadlineSweeper.add() watches an object of the caller's until delete() or its deadline", () => {
  const clock = new ManualClock(1_000);
  const sweeper = new DeadlineSweeper(clock);
  const expired: string[] = [];
  const watch = (name: string, deadline: number) => ({
    deadline,
    expire: () => void expired.push(name),
  });
  const a = watch("a", 1_100);
  const b = watch("b", 1_100);
  sweeper.add(a);
  sweeper.add(b);
  sweeper.delete(b);
  sweeper.delete(b);
  clock.advance(100);
  sweeper.sweep();
  sweeper.sweep();
  assert.deepEqual(expired, ["a"]);
  assert.equal(sweeper.size, 0);
});
