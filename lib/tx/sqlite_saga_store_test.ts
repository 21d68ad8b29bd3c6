import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SqliteSagaStore } from "./sqlite_saga_store.ts";
import { record, storeConformance } from "./_store_conformance.ts";

Deno.test("SqliteSagaStore passes the SagaStore conformance suite", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-tx-" });
  try {
    let n = 0;
    await storeConformance(
      t,
      () => Promise.resolve(new SqliteSagaStore({ path: join(dir, `${n++}.db`) })),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteSagaStore keeps records across reopening and leaves a caller's database open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-tx-" });
  try {
    const path = join(dir, "sagas.db");
    const first = new SqliteSagaStore({ path });
    await first.insert(record("s-1"));
    await first.close();
    const db = new DatabaseSync(path);
    const second = new SqliteSagaStore({ db });
    assert.equal((await second.get("s-1"))?.id, "s-1");
    await second.close();
    assert.equal(db.isOpen, true);
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteSagaStore reports a failing database as TX_STORE_UNAVAILABLE", async () => {
  const store = new SqliteSagaStore({ path: ":memory:" });
  await store.close();
  await assert.rejects(store.get("s-1"), { code: "TX_STORE_UNAVAILABLE" });
});
