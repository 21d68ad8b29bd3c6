import { MemorySagaStore } from "./memory_saga_store.ts";
import { storeConformance } from "./_store_conformance.ts";

Deno.test("MemorySagaStore passes the SagaStore conformance suite", async (t) => {
  await storeConformance(t, () => Promise.resolve(new MemorySagaStore()));
});
