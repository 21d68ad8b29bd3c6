import assert from "node:assert/strict";
import { FlotillaError, NotFoundError, UnavailableError } from "@flotilla/core";
import { BulkheadFullError, CircuitOpenError } from "./errors.ts";
import { withFallback } from "./fallback.ts";

Deno.test("withFallback() returns the result when the call succeeds", async () => {
  assert.equal(await withFallback(() => 1, () => 2), 1);
});

Deno.test("withFallback() falls back on the callee's failures and local rejections", async () => {
  const seen: unknown[] = [];
  const fallback = (error: unknown) => {
    seen.push(error);
    return "cached";
  };
  const down = new UnavailableError("down");
  assert.equal(await withFallback(() => Promise.reject(down), fallback), "cached");
  assert.equal(
    await withFallback(() => Promise.reject(new CircuitOpenError(1)), fallback),
    "cached",
  );
  assert.equal(
    await withFallback(() => {
      throw new BulkheadFullError({ reason: "full", maxConcurrent: 1, maxQueue: 0 });
    }, fallback),
    "cached",
  );
  assert.equal(seen[0], down);
});

Deno.test("withFallback() rethrows a caller's mistakes and cancellations", async () => {
  await assert.rejects(
    withFallback(() => Promise.reject(new NotFoundError("X", "x")), () => "cached"),
    NotFoundError,
  );
  await assert.rejects(
    withFallback(
      () => Promise.reject(new FlotillaError("C", "c", { kind: "CANCELLED" })),
      () => "cached",
    ),
    { code: "C" },
  );
});

Deno.test("withFallback() takes a `when` predicate and throws the fallback's own error", async () => {
  assert.equal(
    await withFallback(() => Promise.reject(new NotFoundError("X", "x")), () => [], {
      when: (error) => error instanceof NotFoundError,
    }).then((value) => JSON.stringify(value)),
    "[]",
  );
  await assert.rejects(
    withFallback(() => Promise.reject(new UnavailableError("down")), () => {
      throw new Error("no cache either");
    }),
    { message: "no cache either" },
  );
});
