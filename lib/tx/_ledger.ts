/**
 * Test support: a saga whose steps write effects into a SQLite "ledger"
 * keyed by idempotency key (each action's effect applied at most once per
 * key, each compensation undoing it once, or recording a no-op for an
 * action that never took effect), and the checks of the crash tests.
 * Private to the tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { immediate, text } from "@flotilla/sqlite";
import { RejectedError } from "./errors.ts";
import { defineSaga, type SagaDefinition } from "./saga.ts";
import type { SagaView } from "./saga_orchestrator.ts";

/** The ledger's table. */
export const LEDGER_SCHEMA = `CREATE TABLE IF NOT EXISTS effects (
  key TEXT PRIMARY KEY, saga TEXT NOT NULL, step TEXT NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL
)`;

/** The steps of {@link ledgerSaga}. */
export const LEDGER_STEPS = ["s0", "s1", "s2"] as const;

/** The input of {@link ledgerSaga}: `fail` makes its last step refuse. */
export interface LedgerInput {
  fail: boolean;
}

function has(db: DatabaseSync, key: string): boolean {
  return db.prepare("SELECT 1 FROM effects WHERE key = ?").get(key) !== undefined;
}

/** A three-step saga over the ledger in `db`. */
export function ledgerSaga(db: DatabaseSync): SagaDefinition<LedgerInput, Record<string, unknown>> {
  db.exec(LEDGER_SCHEMA);
  // deno-lint-ignore no-explicit-any
  let builder: any = defineSaga<LedgerInput>("ledger");
  for (const step of LEDGER_STEPS) {
    builder = builder.step(step, {
      action: (
        { sagaId, idempotencyKey, input }: {
          sagaId: string;
          idempotencyKey: string;
          input: LedgerInput;
        },
      ) =>
        immediate(db, () => {
          if (has(db, `${idempotencyKey}:compensate`)) {
            throw new RejectedError("COMPENSATED", "too late");
          }
          if (step === "s2" && input.fail) {
            throw new RejectedError("REFUSED", "s2 refuses");
          }
          db.prepare("INSERT OR IGNORE INTO effects VALUES (?, ?, ?, 'action', 'applied')").run(
            idempotencyKey,
            sagaId,
            step,
          );
          return { step };
        }),
      compensate: (
        { sagaId, idempotencyKey, actionKey }: {
          sagaId: string;
          idempotencyKey: string;
          actionKey: string;
        },
      ) =>
        immediate(db, () => {
          if (has(db, idempotencyKey)) return;
          db.prepare("INSERT INTO effects VALUES (?, ?, ?, 'compensation', ?)").run(
            idempotencyKey,
            sagaId,
            step,
            has(db, actionKey) ? "undone" : "noop",
          );
        }),
    });
  }
  return builder.build();
}

/** The effects of saga `id`: `step/kind/outcome` strings, sorted. */
export function effectsOf(db: DatabaseSync, id: string): string[] {
  return db.prepare(
    "SELECT key, step, kind, outcome FROM effects WHERE saga = ? ORDER BY step, kind",
  ).all(id)
    .map((row) => {
      const step = text(row, "step");
      const kind = text(row, "kind");
      assert.equal(
        text(row, "key"),
        kind === "action" ? `${id}:${step}` : `${id}:${step}:compensate`,
      );
      return `${step}/${kind}/${text(row, "outcome")}`;
    });
}

/**
 * Checks a terminal saga against the ledger: a completed saga applied each
 * action once and compensated nothing; a compensated one undid every
 * applied action, and nothing else changed.
 */
export function checkLedgerSaga(db: DatabaseSync, view: SagaView): void {
  const effects = effectsOf(db, view.id);
  for (const step of view.steps) {
    if (step.action === "PENDING") {
      assert.ok(
        !effects.some((e) => e.startsWith(`${step.name}/`)),
        `${view.id}: ${step.name} never ran`,
      );
    } else if (view.status === "COMPENSATED") {
      assert.ok(
        effects.some((e) => e.startsWith(`${step.name}/compensation/`)),
        `${view.id}: the started ${step.name} was compensated (a no-op if it never took effect)`,
      );
    }
  }
  if (view.status === "COMPLETED") {
    assert.deepEqual(effects, LEDGER_STEPS.map((s) => `${s}/action/applied`), view.id);
    return;
  }
  assert.equal(view.status, "COMPENSATED", `${view.id} is ${view.status}`);
  for (const step of LEDGER_STEPS) {
    const applied = effects.includes(`${step}/action/applied`);
    if (applied) {
      assert.ok(effects.includes(`${step}/compensation/undone`), `${view.id}: ${step} undone`);
    } else {assert.ok(
        !effects.includes(`${step}/compensation/undone`),
        `${view.id}: ${step} not undone`,
      );}
  }
}
