import assert from "node:assert/strict";
import { z } from "zod";
import { createContext, defineContract, defineService } from "@flotilla/core";
import { CrashPoints } from "./crash_points.ts";

const contract = defineContract({
  name: "inventory",
  version: "1.0.0",
  actions: {
    reserve: { input: z.object({}), output: z.object({ ok: z.boolean() }) },
    release: { input: z.object({}), output: z.object({ ok: z.boolean() }) },
  },
});

Deno.test("CrashPoints fires a point of its own service once per marker folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kills: string[] = [];
    const points = CrashPoints.parse(
      "order:saga:afterAction:reserveStock, inventory:after:reserve",
      "order",
      dir,
      () => kills.push("kill"),
    );
    assert.equal(points.armed, true);
    points.reach("after:reserve"); // inventory's, not order's
    points.reach("saga:beforeAction:reserveStock");
    assert.equal(kills.length, 0);
    points.reach("saga:afterAction:reserveStock");
    assert.deepEqual(kills, ["kill"]);
    // The restarted process reads the same variable and the marker: it goes on.
    const again = CrashPoints.parse("order:saga:afterAction:reserveStock", "order", dir, () => {
      kills.push("again");
    });
    again.reach("saga:afterAction:reserveStock");
    assert.deepEqual(kills, ["kill"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CrashPoints.wrap() crashes before or after the named handlers only", async () => {
  const events: string[] = [];
  const service = defineService(contract, {
    reserve: () => (events.push("reserve ran"), { ok: true }),
    release: () => (events.push("release ran"), { ok: true }),
  });
  const wrapped = CrashPoints.parse(
    "inventory:after:reserve,inventory:before:release",
    "inventory",
    undefined,
    () => events.push("killed"),
  ).wrap(service);
  using ctx = createContext({ service: "inventory", action: "test" });
  await wrapped.handlers.reserve({}, ctx);
  await wrapped.handlers.release({}, ctx);
  assert.deepEqual(events, ["reserve ran", "killed", "killed", "release ran"]);
  assert.equal(CrashPoints.parse(undefined, "inventory", undefined).wrap(service), service);
});

Deno.test("CrashPoints.parse() refuses an entry without a service", () => {
  assert.throws(() => CrashPoints.parse("reserve", "x", undefined), RangeError);
  assert.throws(() => CrashPoints.parse(":reserve", "x", undefined), RangeError);
  assert.throws(() => CrashPoints.parse("inventory:", "x", undefined), RangeError);
});
