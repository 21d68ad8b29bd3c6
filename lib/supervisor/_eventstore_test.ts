import assert from "node:assert/strict";
import { InvalidSettingError } from "./errors.ts";
import { eventStoreSetting } from "./_eventstore.ts";

Deno.test("eventStoreSetting() defaults to SQLite in the data folders", () => {
  for (const raw of [undefined, "", "  ", "sqlite"]) {
    assert.deepEqual(eventStoreSetting(raw), {
      value: "sqlite",
      type: "sqlite",
      addresses: [],
      envPrefixes: [],
    });
  }
});

Deno.test("eventStoreSetting() grants PostgreSQL's address and its driver's variables", () => {
  assert.deepEqual(eventStoreSetting("postgres://app:secret@db.internal/shop?schema=orders"), {
    value: "postgres://app:secret@db.internal/shop?schema=orders",
    type: "postgres",
    addresses: [{ hostname: "db.internal", port: 5432 }],
    envPrefixes: ["PG"],
  });
  assert.deepEqual(eventStoreSetting("postgresql://app@[::1]:6543/shop").addresses, [
    { hostname: "::1", port: 6543 },
  ]);
});

Deno.test("eventStoreSetting() refuses memory, a SQLite path, no user and nonsense, hiding passwords", () => {
  for (const raw of ["memory", "sqlite:/tmp/x.db", "postgres://db/shop", "mysql://a@b/c"]) {
    assert.throws(() => eventStoreSetting(raw), InvalidSettingError, raw);
  }
  assert.throws(
    () => eventStoreSetting("postgres://:hunter2@db/shop"),
    (error: Error) => !error.message.includes("hunter2"),
  );
});
