import assert from "node:assert/strict";
import { join } from "node:path";
import { immediate, integer, openDatabase, text } from "./mod.ts";

async function tempDb(schema?: string) {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-sqlite-" });
  const path = join(dir, "test.db");
  const db = openDatabase(path, schema === undefined ? {} : { schema });
  return {
    db,
    path,
    async [Symbol.asyncDispose]() {
      if (db.isOpen) db.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const SCHEMA = "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)";

Deno.test("openDatabase() opens in WAL mode and applies the schema idempotently", async () => {
  await using t = await tempDb(SCHEMA);
  const mode = t.db.prepare("PRAGMA journal_mode").get();
  assert.equal(mode?.journal_mode, "wal");
  t.db.close();
  const again = openDatabase(t.path, { schema: SCHEMA });
  assert.equal(again.prepare("SELECT count(*) AS n FROM kv").get()?.n, 0);
  again.close();
});

Deno.test("openDatabase() rejects a negative busy timeout", () => {
  assert.throws(() => openDatabase(":memory:", { busyTimeoutMs: -1 }), RangeError);
});

Deno.test("immediate() commits on success and rolls back on a throw", async () => {
  await using t = await tempDb(SCHEMA);
  immediate(t.db, () => t.db.prepare("INSERT INTO kv VALUES ('a', 1)").run());
  assert.throws(() =>
    immediate(t.db, () => {
      t.db.prepare("INSERT INTO kv VALUES ('b', 2)").run();
      throw new Error("decided against it");
    }), /decided against it/);
  const rows = t.db.prepare("SELECT k FROM kv ORDER BY k").all();
  assert.deepEqual(rows.map((r) => r.k), ["a"]);
  assert.equal(t.db.isTransaction, false);
});

Deno.test("immediate() refuses async work", async () => {
  await using t = await tempDb(SCHEMA);
  assert.throws(() => immediate(t.db, () => Promise.resolve(1)), TypeError);
  assert.equal(t.db.isTransaction, false);
});

Deno.test("text() and integer() read typed columns and fail loudly otherwise", () => {
  assert.equal(text({ a: "x" }, "a"), "x");
  assert.equal(integer({ a: 3n }, "a"), 3);
  assert.equal(integer({ a: 3 }, "a"), 3);
  assert.throws(() => text({ a: 1 }, "a"), TypeError);
  assert.throws(() => integer({ a: "1" }, "a"), TypeError);
  assert.throws(() => integer({ a: 2n ** 60n }, "a"), TypeError);
});
