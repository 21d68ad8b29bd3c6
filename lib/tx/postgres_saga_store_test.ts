import assert from "node:assert/strict";
import postgres from "postgres";
import { startPostgres } from "@flotilla/testing";
import { PostgresSagaStore } from "./postgres_saga_store.ts";
import { record, storeConformance } from "./_store_conformance.ts";
import { openSagaStore } from "./open_saga_store.ts";

Deno.test("PostgresSagaStore passes the SagaStore conformance suite (a throwaway database)", async (t) => {
  await using server = await startPostgres({ mode: "database" });
  const sql = postgres(server.url, { max: 8, onnotice: () => {} });
  try {
    let n = 0;
    await storeConformance(t, () => PostgresSagaStore.open(sql, { schema: `tx_${n++}` }));
  } finally {
    await sql.end();
  }
});

Deno.test("openSagaStore() opens PostgreSQL by config, on a pool of its own", async () => {
  await using server = await startPostgres({ mode: "database" });
  const store = await openSagaStore({ kind: "postgres", url: server.url, schema: "cfg" });
  try {
    assert.ok(store instanceof PostgresSagaStore);
    assert.equal(await store.insert(record("s-1")), true);
    assert.equal((await store.get("s-1"))?.status, "RUNNING");
  } finally {
    await store.close();
  }
});

Deno.test("PostgresSagaStore.open() rejects a schema that is not a plain identifier", async () => {
  await assert.rejects(
    PostgresSagaStore.open("postgres://127.0.0.1:1/x", { schema: "Bad;" }),
    RangeError,
  );
});

Deno.test("PostgresSagaStore.open() reports an unreachable server as TX_STORE_UNAVAILABLE", async () => {
  await assert.rejects(
    PostgresSagaStore.open("postgres://postgres@127.0.0.1:1/none", { schema: "x" }),
    { code: "TX_STORE_UNAVAILABLE" },
  );
});
