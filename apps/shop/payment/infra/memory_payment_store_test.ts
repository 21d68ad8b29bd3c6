import assert from "node:assert/strict";
import { MemoryPaymentStore } from "./memory_payment_store.ts";
import { CONTRACT_CUSTOMERS, testPaymentStoreContract } from "./_store_contract.ts";

testPaymentStoreContract(
  "MemoryPaymentStore",
  () => Promise.resolve(new MemoryPaymentStore(CONTRACT_CUSTOMERS)),
);

Deno.test("MemoryPaymentStore.close() makes ping() false and later calls throw", () => {
  const store = new MemoryPaymentStore(CONTRACT_CUSTOMERS);
  store.close();
  assert.equal(store.ping(), false);
  assert.throws(() => store.listCustomers(), /closed/);
});
