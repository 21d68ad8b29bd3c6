import assert from "node:assert/strict";
import { MemoryOrderStore } from "./memory_order_store.ts";
import { testOrderStoreContract } from "./_store_contract.ts";

testOrderStoreContract("MemoryOrderStore", () => Promise.resolve(new MemoryOrderStore()));

Deno.test("MemoryOrderStore.close() makes ping() false and later calls throw", () => {
  const store = new MemoryOrderStore();
  store.close();
  assert.equal(store.ping(), false);
  assert.throws(() => store.listPending(), /closed/);
});
