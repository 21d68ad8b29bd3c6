import assert from "node:assert/strict";
import { FlotillaError, UnavailableError } from "@flotilla/core";
import { classifyError, errorInfo, RejectedError, TxError } from "./errors.ts";

Deno.test("classifyError() treats non-retryable FlotillaErrors as business failures, everything else as transient", () => {
  assert.equal(classifyError(new RejectedError("OUT_OF_STOCK", "none")), "business");
  assert.equal(
    classifyError(new FlotillaError("UNKNOWN_SKU", "?", { kind: "INVALID_ARGUMENT" })),
    "business",
  );
  assert.equal(classifyError(new TxError("TCC_TRY_AFTER_CANCEL", "late")), "business");
  assert.equal(classifyError(new UnavailableError("down")), "transient");
  assert.equal(classifyError(new TxError("TX_STEP_TIMEOUT", "slow")), "transient");
  assert.equal(classifyError(new TypeError("fetch failed")), "transient");
  assert.equal(classifyError("a string"), "transient");
});

Deno.test("TxError and RejectedError carry a stable code, kind and retryability", () => {
  const lost = new TxError("TX_LEASE_LOST", "taken over");
  assert.equal(lost.kind, "ABORTED");
  assert.equal(lost.retryable, true);
  assert.equal(lost.name, "TxError");
  const refused = new TxError("TCC_CONFIRM_AFTER_CANCEL", "no");
  assert.equal(refused.retryable, false);
  assert.equal(refused.httpStatus, 422);
  const rejected = new RejectedError("DECLINED", "card declined", { data: { amount: 3 } });
  assert.equal(rejected.retryable, false);
  assert.deepEqual(rejected.data, { amount: 3 });
  assert.deepEqual(errorInfo(rejected, true), {
    code: "DECLINED",
    message: "card declined",
    business: true,
  });
  assert.deepEqual(errorInfo(new RangeError("bad")), { code: "RangeError", message: "bad" });
  assert.deepEqual(errorInfo(42), { code: "UNKNOWN", message: "42" });
});
