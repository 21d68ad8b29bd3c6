/**
 * Test support: the two SQLite TCC participants of the load crash test
 * (inventory and payment, one stock row each, in one database), and their
 * conservation check. Private to the tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { integer } from "@flotilla/sqlite";
import { RejectedError } from "./errors.ts";
import type { TccParticipant } from "./tcc_coordinator.ts";
import type { TccView } from "./tcc_coordinator.ts";
import { SqliteTccParticipant } from "./tcc_participant.ts";

/** Units each participant starts with. */
export const INITIAL = 1_000_000;

interface Hold {
  sku: string;
  quantity: number;
}

/** Both participants over `db`. */
export function loadParticipants(db: DatabaseSync): {
  sqlite: SqliteTccParticipant<Hold>[];
  participants: TccParticipant<Hold>[];
} {
  db.exec(
    `CREATE TABLE IF NOT EXISTS pools (name TEXT PRIMARY KEY, available INTEGER NOT NULL, held INTEGER NOT NULL, used INTEGER NOT NULL);
    INSERT OR IGNORE INTO pools VALUES ('inventory', ${INITIAL}, 0, 0), ('payment', ${INITIAL}, 0, 0);`,
  );
  const sqlite = ["inventory", "payment"].map((name) =>
    new SqliteTccParticipant<Hold>({
      name,
      db,
      table: `${name}_barrier`,
      try(db, { input }) {
        if (input.quantity > 100) throw new RejectedError("TOO_MUCH", "refused");
        db.prepare("UPDATE pools SET available = available - ?, held = held + ? WHERE name = ?")
          .run(
            input.quantity,
            input.quantity,
            name,
          );
      },
      confirm(db, { input }) {
        db.prepare("UPDATE pools SET held = held - ?, used = used + ? WHERE name = ?").run(
          input.quantity,
          input.quantity,
          name,
        );
      },
      cancel(db, { input }) {
        db.prepare("UPDATE pools SET held = held - ?, available = available + ? WHERE name = ?")
          .run(
            input.quantity,
            input.quantity,
            name,
          );
      },
    })
  );
  return { sqlite, participants: sqlite.map((p) => p.asParticipant()) };
}

/** Checks the participants against terminal transactions: all or nothing, nothing held, nothing lost. */
export function checkLoad(db: DatabaseSync, transactions: readonly TccView[]): void {
  const { sqlite } = loadParticipants(db);
  let used = 0;
  for (const tx of transactions) {
    for (const participant of sqlite) {
      const state = participant.status(tx.id);
      if (tx.status === "CONFIRMED") {
        assert.equal(state, "CONFIRMED", `${tx.id} at ${participant.name}`);
      } else {
        assert.equal(tx.status, "CANCELLED", `${tx.id} is ${tx.status}`);
        assert.ok(
          state === undefined || state === "CANCELLED",
          `${tx.id} at ${participant.name}: ${state}`,
        );
      }
    }
    if (tx.status === "CONFIRMED") used += (tx.branches[0]?.input as Hold).quantity;
  }
  const pool = (name: string) => db.prepare("SELECT * FROM pools WHERE name = ?").get(name)!;
  const inventory = pool("inventory");
  assert.equal(integer(inventory, "held"), 0);
  assert.equal(integer(pool("payment"), "held"), 0);
  assert.equal(integer(inventory, "used"), used);
  for (const name of ["inventory", "payment"]) {
    const row = pool(name);
    assert.equal(integer(row, "available") + integer(row, "used"), INITIAL);
  }
}
