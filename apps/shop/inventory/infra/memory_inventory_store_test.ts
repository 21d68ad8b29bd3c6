import assert from "node:assert/strict";
import { MemoryInventoryStore } from "./memory_inventory_store.ts";
import { CONTRACT_PRODUCTS, testInventoryStoreContract } from "./_store_contract.ts";

testInventoryStoreContract(
  "MemoryInventoryStore",
  () => Promise.resolve(new MemoryInventoryStore(CONTRACT_PRODUCTS)),
);

Deno.test("MemoryInventoryStore.close() makes ping() false and later calls throw", () => {
  const store = new MemoryInventoryStore(CONTRACT_PRODUCTS);
  store.close();
  assert.equal(store.ping(), false);
  assert.throws(() => store.listProducts(), /closed/);
});
