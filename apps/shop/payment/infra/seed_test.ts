import assert from "node:assert/strict";
import { z } from "zod";
import { Customer } from "../../contracts/mod.ts";
import { SEED_CUSTOMERS } from "./seed.ts";

Deno.test("SEED_CUSTOMERS are valid customers with unique ids", () => {
  z.array(Customer).parse(SEED_CUSTOMERS);
  assert.equal(new Set(SEED_CUSTOMERS.map((c) => c.id)).size, SEED_CUSTOMERS.length);
  assert.deepEqual(SEED_CUSTOMERS.map((c) => c.id), ["alice", "bob", "carol"]);
});
