import assert from "node:assert/strict";
import { startExpirySweep } from "./expiry_sweep.ts";

Deno.test("startExpirySweep() sweeps until disposed, reporting expiries and errors", async () => {
  const results: Array<string[] | Error> = [["t-1"], [], new Error("database is locked"), ["t-2"]];
  const expired: string[][] = [];
  const errors: unknown[] = [];
  const done = Promise.withResolvers<void>();
  let sweeps = 0;
  const sweep = startExpirySweep({
    expireStale: () => {
      const result = results[sweeps++];
      if (sweeps === results.length) done.resolve();
      if (result instanceof Error) throw result;
      return result ?? [];
    },
  }, {
    intervalMs: 1,
    onExpired: (txIds) => expired.push(txIds),
    onError: (error) => errors.push(error),
  });
  // The sweep's timer is unref'd: a timer of the test's own keeps the process alive meanwhile.
  const alive = setTimeout(() => {}, 60_000);
  await done.promise;
  clearTimeout(alive);
  sweep[Symbol.dispose]();
  const after = sweeps;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(sweeps, after, "no sweep after dispose");
  assert.deepEqual(expired, [["t-1"], ["t-2"]]);
  assert.equal((errors[0] as Error).message, "database is locked");
});

Deno.test("startExpirySweep() refuses a bad interval", () => {
  assert.throws(() => startExpirySweep({ expireStale: () => [] }, { intervalMs: 0 }), RangeError);
});
