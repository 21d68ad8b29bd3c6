/**
 * A TCC participant over `node:sqlite`: a barrier table written in the same
 * local transaction as the participant's business change.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { type Clock, systemClock } from "@flotilla/core";
import { immediate, integer, text } from "@flotilla/sqlite";
import { TxError } from "./errors.ts";
import type { TccCall, TccParticipant } from "./tcc_coordinator.ts";

/** A transaction's state at one participant, as its barrier row records it. */
export type BarrierState = "TRIED" | "CONFIRMED" | "CANCELLED";

/** Outcome of {@link SqliteTccParticipant.try}. `REPLAYED`: it was already tried; nothing ran. */
export type TryOutcome = "TRIED" | "REPLAYED";

/** Outcome of {@link SqliteTccParticipant.confirm}. */
export type ConfirmOutcome = "CONFIRMED" | "REPLAYED";

/**
 * Outcome of {@link SqliteTccParticipant.cancel}. `EMPTY_ROLLBACK`: the Try
 * never arrived; a cancel barrier now refuses it if it comes late.
 */
export type CancelOutcome = "CANCELLED" | "EMPTY_ROLLBACK" | "REPLAYED";

/** What the business callbacks of a {@link SqliteTccParticipant} receive besides the database. */
export interface BarrierContext<I> {
  /** The global transaction id. */
  readonly txId: string;
  /** The Try's input (as stored with the barrier for Confirm and Cancel). */
  readonly input: I;
  /** When the reservation expires, ms since the epoch. */
  readonly expiresAt: number;
}

/** Options of {@link SqliteTccParticipant}. */
export interface SqliteTccParticipantOptions<I> {
  /** The participant's name (the coordinator's key for its input). */
  name: string;
  /** The database holding the participant's business state; the barrier table is created in it. */
  db: DatabaseSync;
  /**
   * Makes the reservation: runs inside the barrier's transaction
   * (synchronous). Throw a {@link RejectedError} to refuse; the barrier is
   * rolled back with the change.
   */
  try(db: DatabaseSync, ctx: BarrierContext<I>): void;
  /** Makes the reservation final, in the barrier's transaction. */
  confirm(db: DatabaseSync, ctx: BarrierContext<I>): void;
  /** Releases the reservation, in the barrier's transaction. Never called for an empty rollback. */
  cancel(db: DatabaseSync, ctx: BarrierContext<I>): void;
  /**
   * How long a reservation lives without Confirm or Cancel; past it,
   * {@link SqliteTccParticipant.expireStale} cancels it. Must exceed the
   * coordinator's `timeoutMs`. @default {300_000}
   */
  tryTimeoutMs?: number;
  /** The barrier table's name (letters, digits, `_`). @default {"tcc_barrier"} */
  table?: string;
  /** The source of time for expiry. @default {systemClock} */
  clock?: Clock;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The participant side of TCC over SQLite. Each transaction has one row in
 * the barrier table, written in the same local `BEGIN IMMEDIATE`
 * transaction as the business change, which makes every pitfall of TCC a
 * rule of that row:
 *
 * | call    | no row                            | TRIED                 | CONFIRMED                   | CANCELLED                  |
 * |---------|-----------------------------------|-----------------------|-----------------------------|----------------------------|
 * | Try     | run `try`, row TRIED              | replay: no-op         | replay: no-op               | refused `TCC_TRY_AFTER_CANCEL` (hanging) |
 * | Confirm | refused `TCC_CONFIRM_WITHOUT_TRY` | run `confirm`         | replay: no-op               | refused `TCC_CONFIRM_AFTER_CANCEL` |
 * | Cancel  | row CANCELLED (empty rollback)    | run `cancel`          | refused `TCC_CANCEL_AFTER_CONFIRM` | replay: no-op        |
 *
 * A reservation left TRIED past `tryTimeoutMs` (its coordinator vanished)
 * is cancelled by {@link SqliteTccParticipant.expireStale}; a late Confirm
 * is then refused.
 *
 * @example
 * ```ts
 * import { RejectedError, SqliteTccParticipant } from "@flotilla/tx";
 *
 * const stock = new SqliteTccParticipant<{ sku: string; quantity: number }>({
 *   name: "inventory",
 *   db,
 *   try(db, { txId, input }) {
 *     const { changes } = db.prepare(
 *       "UPDATE stock SET available = available - ? WHERE sku = ? AND available >= ?",
 *     ).run(input.quantity, input.sku, input.quantity);
 *     if (changes === 0) throw new RejectedError("OUT_OF_STOCK", `Not enough ${input.sku}`);
 *     db.prepare("INSERT INTO holds VALUES (?, ?, ?)").run(txId, input.sku, input.quantity);
 *   },
 *   confirm(db, { txId }) {
 *     db.prepare("DELETE FROM holds WHERE tx_id = ?").run(txId);
 *   },
 *   cancel(db, { txId, input }) {
 *     db.prepare("UPDATE stock SET available = available + ? WHERE sku = ?").run(input.quantity, input.sku);
 *     db.prepare("DELETE FROM holds WHERE tx_id = ?").run(txId);
 *   },
 * });
 * stock.try("order-42", { sku: "TEA-01", quantity: 2 }); // "TRIED"
 * stock.cancel("order-42"); // "CANCELLED"
 * ```
 */
export class SqliteTccParticipant<I = unknown> {
  /** The participant's name. */
  readonly name: string;
  /** Its database. */
  readonly db: DatabaseSync;
  readonly #options: SqliteTccParticipantOptions<I>;
  readonly #table: string;
  readonly #tryTimeoutMs: number;
  readonly #clock: Clock;

  /**
   * Creates the participant and its barrier table if missing.
   *
   * @throws {RangeError} for a bad table name or a `tryTimeoutMs` that is not positive.
   */
  constructor(options: SqliteTccParticipantOptions<I>) {
    const table = options.table ?? "tcc_barrier";
    if (!TABLE_NAME.test(table)) {
      throw new RangeError(
        `Cannot create the TCC participant as 'table' must be a plain identifier: current value is ${
          JSON.stringify(table)
        }`,
      );
    }
    const tryTimeoutMs = options.tryTimeoutMs ?? 300_000;
    if (!(tryTimeoutMs > 0)) {
      throw new RangeError(
        `Cannot create the TCC participant as 'tryTimeoutMs' must be > 0: current value is ${tryTimeoutMs}`,
      );
    }
    this.name = options.name;
    this.db = options.db;
    this.#options = options;
    this.#table = table;
    this.#tryTimeoutMs = tryTimeoutMs;
    this.#clock = options.clock ?? systemClock;
    immediate(this.db, () =>
      this.db.exec(`CREATE TABLE IF NOT EXISTS "${table}" (
        tx_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        input TEXT,
        tried_at INTEGER,
        expires_at INTEGER,
        updated_at INTEGER NOT NULL,
        reason TEXT
      );
      CREATE INDEX IF NOT EXISTS "${table}_expiry" ON "${table}" (state, expires_at);`));
  }

  /**
   * Tries transaction `txId`: runs the business `try` and records the
   * barrier, in one local transaction. A replay is a no-op.
   *
   * @throws {TxError} `TCC_TRY_AFTER_CANCEL` when the transaction was
   * cancelled here (a late Try: nothing changes).
   * @throws {RejectedError} what the business `try` throws (nothing kept).
   */
  try(txId: string, input: I): TryOutcome {
    return immediate(this.db, () => {
      const row = this.#row(txId);
      if (row?.state === "CANCELLED") {
        throw new TxError(
          "TCC_TRY_AFTER_CANCEL",
          `Cannot try "${txId}" at ${this.name} as it was cancelled${
            row.reason ? ` (${row.reason})` : ""
          }`,
          { data: { txId, participant: this.name } },
        );
      }
      if (row !== undefined) return "REPLAYED";
      const now = this.#clock.now();
      const expiresAt = now + this.#tryTimeoutMs;
      this.db.prepare(
        `INSERT INTO "${this.#table}" (tx_id, state, input, tried_at, expires_at, updated_at)
         VALUES (?, 'TRIED', ?, ?, ?, ?)`,
      ).run(txId, JSON.stringify(input ?? null), now, expiresAt, now);
      this.#options.try(this.db, { txId, input, expiresAt });
      return "TRIED";
    });
  }

  /**
   * Confirms transaction `txId`: runs the business `confirm` once; replays are no-ops.
   *
   * @throws {TxError} `TCC_CONFIRM_AFTER_CANCEL` (cancelled or expired here),
   * `TCC_CONFIRM_WITHOUT_TRY` (never tried here).
   */
  confirm(txId: string): ConfirmOutcome {
    return immediate(this.db, () => {
      const row = this.#row(txId);
      if (row === undefined) {
        throw new TxError(
          "TCC_CONFIRM_WITHOUT_TRY",
          `Cannot confirm "${txId}" at ${this.name} as it was never tried`,
          {
            data: { txId, participant: this.name },
          },
        );
      }
      if (row.state === "CONFIRMED") return "REPLAYED";
      if (row.state === "CANCELLED") {
        throw new TxError(
          "TCC_CONFIRM_AFTER_CANCEL",
          `Cannot confirm "${txId}" at ${this.name} as it was cancelled${
            row.reason ? ` (${row.reason})` : ""
          }`,
          { data: { txId, participant: this.name } },
        );
      }
      this.#options.confirm(this.db, row.context);
      this.#setState(txId, "CONFIRMED", null);
      return "CONFIRMED";
    });
  }

  /**
   * Cancels transaction `txId`: runs the business `cancel` once if it was
   * tried; if it never was, records a cancel barrier (empty rollback) so a
   * late Try is refused. Replays are no-ops.
   *
   * @throws {TxError} `TCC_CANCEL_AFTER_CONFIRM` when it was confirmed here.
   */
  cancel(txId: string): CancelOutcome {
    return immediate(this.db, () => this.#cancel(txId, "cancelled by the coordinator"));
  }

  /**
   * Cancels every reservation still TRIED whose `tryTimeoutMs` ran out by
   * `now` (its coordinator disappeared), recording the cancel barrier so a
   * late Confirm is refused; returns their transaction ids.
   */
  expireStale(now: number = this.#clock.now()): string[] {
    const stale = this.db.prepare(
      `SELECT tx_id FROM "${this.#table}" WHERE state = 'TRIED' AND expires_at <= ? ORDER BY expires_at`,
    ).all(now).map((row) => text(row, "tx_id"));
    const expired: string[] = [];
    for (const txId of stale) {
      const outcome = immediate(this.db, () => {
        const row = this.#row(txId);
        if (row?.state !== "TRIED" || row.context.expiresAt > now) return undefined; // decided meanwhile
        return this.#cancel(txId, `expired at ${row.context.expiresAt}`);
      });
      if (outcome === "CANCELLED") expired.push(txId);
    }
    return expired;
  }

  /** The barrier state of `txId` here, or undefined when nothing arrived. */
  status(txId: string): BarrierState | undefined {
    return this.#row(txId)?.state;
  }

  /**
   * This participant as a {@link TccParticipant} the coordinator calls in
   * process (tests, or a coordinator living beside its participant).
   */
  asParticipant(): TccParticipant<I> {
    return {
      name: this.name,
      try: (input: I, call: TccCall) => void this.try(call.txId, input),
      confirm: (call: TccCall) => void this.confirm(call.txId),
      cancel: (call: TccCall) => void this.cancel(call.txId),
    };
  }

  #cancel(txId: string, reason: string): CancelOutcome {
    const row = this.#row(txId);
    const now = this.#clock.now();
    if (row === undefined) {
      this.db.prepare(
        `INSERT INTO "${this.#table}" (tx_id, state, updated_at, reason) VALUES (?, 'CANCELLED', ?, ?)`,
      ).run(txId, now, "empty rollback: cancelled before any Try arrived");
      return "EMPTY_ROLLBACK";
    }
    if (row.state === "CANCELLED") return "REPLAYED";
    if (row.state === "CONFIRMED") {
      throw new TxError(
        "TCC_CANCEL_AFTER_CONFIRM",
        `Cannot cancel "${txId}" at ${this.name} as it was confirmed`,
        {
          data: { txId, participant: this.name },
        },
      );
    }
    this.#options.cancel(this.db, row.context);
    this.#setState(txId, "CANCELLED", reason);
    return "CANCELLED";
  }

  #setState(txId: string, state: BarrierState, reason: string | null): void {
    this.db.prepare(
      `UPDATE "${this.#table}" SET state = ?, updated_at = ?, reason = ? WHERE tx_id = ?`,
    )
      .run(state, this.#clock.now(), reason, txId);
  }

  #row(
    txId: string,
  ): { state: BarrierState; reason: string | null; context: BarrierContext<I> } | undefined {
    const row = this.db.prepare(`SELECT * FROM "${this.#table}" WHERE tx_id = ?`).get(txId);
    if (row === undefined) return undefined;
    const input = row.input;
    const reason = row.reason;
    return {
      state: text(row, "state") as BarrierState,
      reason: typeof reason === "string" ? reason : null,
      context: {
        txId,
        input: (typeof input === "string" ? JSON.parse(input) : null) as I,
        expiresAt: row.expires_at === null ? 0 : integer(row, "expires_at"),
      },
    };
  }
}
