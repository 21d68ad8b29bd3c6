import assert from "node:assert/strict";
import { sameTerms } from "./payment.ts";

Deno.test("sameTerms() compares customer and amount", () => {
  const terms = { customerId: "alice", amount: 850 };
  assert.equal(sameTerms(terms, { ...terms }), true);
  assert.equal(sameTerms(terms, { ...terms, amount: 851 }), false);
  assert.equal(sameTerms(terms, { ...terms, customerId: "bob" }), false);
  assert.equal(sameTerms(terms, undefined), false);
  assert.equal(sameTerms(undefined, undefined), false);
});
