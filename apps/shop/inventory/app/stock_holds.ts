/**
 * The inventory as a TCC participant: stock held per transaction (the order
 * id) behind the `@flotilla/tx` barrier, sold on Confirm, given back on
 * Cancel or when the hold expires.
 *
 * @module
 */

import type { Clock, TraceContext } from "@flotilla/core";
import type { CancelOutcome, ConfirmOutcome, TryOutcome } from "@flotilla/tx";
import { decideHold, decideReleaseHold, decideSell, type HoldRequest } from "../domain/hold.ts";
import type { ReservationLine } from "../domain/reservation.ts";
import { stockEvents } from "../domain/stock_events.ts";
import { outOfStock, unknownSku } from "../errors.ts";
import type { Emit, InventoryStore, InventoryTransaction, TccBarrier } from "./ports.ts";

/**
 * How long a hold lives without Confirm or Cancel: 5 minutes, well past the
 * order service's TCC coordinator timeout (30 s) so that a live coordinator
 * always decides first; past it, {@link StockHolds.expireStale} gives the
 * stock back and a late Confirm is refused (`TCC_CONFIRM_AFTER_CANCEL`).
 */
export const HOLD_TIMEOUT_MS = 5 * 60_000;

/** What a Try stores with its barrier row. */
interface HoldInput {
  readonly items: readonly ReservationLine[];
}

/** Options of {@link StockHolds}. */
export interface StockHoldsOptions {
  /** Where stock, holds and the barrier live. */
  store: InventoryStore;
  /**
   * Emits `stock.reserved` (a hold) and `stock.released` (a cancelled or
   * expired hold) in the transaction that moves the stock.
   * @default {an emitter that drops every event}
   */
  emit?: Emit;
  /** How long a hold lives without Confirm or Cancel. @default {HOLD_TIMEOUT_MS} */
  timeoutMs?: number;
  /** The source of time for expiry. @default {systemClock} */
  clock?: Clock;
}

/**
 * Stock holds for TCC transactions. Each call runs one local transaction
 * holding the business change, its event and the barrier row:
 *
 * - {@link try}: available stock decreases and a `HELD` hold records the
 *   lines (all or none); `OUT_OF_STOCK` or `UNKNOWN_SKU` refuse it and keep
 *   nothing; a replay is `REPLAYED`; after a Cancel it is refused
 *   (`TCC_TRY_AFTER_CANCEL`).
 * - {@link confirm}: the hold is `SOLD` (available stock does not move).
 * - {@link cancel}: the held stock is available again; before any Try it is
 *   an `EMPTY_ROLLBACK` that refuses the late Try.
 * - {@link expireStale}: cancels holds older than the timeout.
 *
 * The barrier's refusals are `TxError`s (`FlotillaError`s of kind
 * `FAILED_PRECONDITION`, not retryable), so they reach callers unchanged.
 *
 * @example
 * ```ts
 * const holds = new StockHolds({ store, emit });
 * holds.try({ txId: "o-1", items: [{ sku: "MUG", quantity: 1 }] }); // "TRIED"
 * holds.confirm("o-1"); // "CONFIRMED"
 * ```
 */
export class StockHolds {
  readonly #barrier: TccBarrier<HoldInput>;
  readonly #emit: Emit;
  /** The trace of the call being served, for the events its callbacks emit. */
  #trace: TraceContext | undefined;

  /** Creates the holds and their barrier in `options.store`. */
  constructor(options: StockHoldsOptions) {
    this.#emit = options.emit ?? (() => {});
    this.#barrier = options.store.tccParticipant<HoldInput>({
      name: "inventory",
      tryTimeoutMs: options.timeoutMs ?? HOLD_TIMEOUT_MS,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      try: (tx, { txId, input }) => {
        const decision = decideHold({ txId, items: input.items }, stockOf(tx, input.items));
        switch (decision.type) {
          case "unknown_sku":
            throw unknownSku(decision.lines);
          case "out_of_stock":
            throw outOfStock(decision.sku);
          case "hold":
            tx.setStock(decision.stock);
            tx.saveHold(decision.hold);
            this.#announce(txId, stockEvents(decision));
        }
      },
      confirm: (tx, { txId }) => {
        const decision = decideSell(tx.getHold(txId));
        if (decision.type === "sell") tx.saveHold(decision.hold);
        this.#announce(txId, stockEvents(decision));
      },
      cancel: (tx, { txId }) => {
        const hold = tx.getHold(txId);
        const decision = decideReleaseHold(hold, stockOf(tx, hold?.items ?? []));
        if (decision.type === "release_hold") {
          tx.setStock(decision.stock);
          tx.saveHold(decision.hold);
        }
        this.#announce(txId, stockEvents(decision));
      },
    });
  }

  /**
   * TCC Try: holds `request.items` for `request.txId`.
   *
   * @throws {FlotillaError} `OUT_OF_STOCK` (data `{ sku }`), `UNKNOWN_SKU`, `TCC_TRY_AFTER_CANCEL`.
   */
  try(request: HoldRequest, trace?: TraceContext): TryOutcome {
    const input: HoldInput = {
      items: request.items.map(({ sku, quantity }) => ({ sku, quantity })),
    };
    return this.#traced(trace, () => this.#barrier.try(request.txId, input));
  }

  /**
   * TCC Confirm: the hold of `txId` is sold.
   *
   * @throws {FlotillaError} `TCC_CONFIRM_AFTER_CANCEL`, `TCC_CONFIRM_WITHOUT_TRY`.
   */
  confirm(txId: string, trace?: TraceContext): ConfirmOutcome {
    return this.#traced(trace, () => this.#barrier.confirm(txId));
  }

  /**
   * TCC Cancel: the hold of `txId` is available stock again.
   *
   * @throws {FlotillaError} `TCC_CANCEL_AFTER_CONFIRM`.
   */
  cancel(txId: string, trace?: TraceContext): CancelOutcome {
    return this.#traced(trace, () => this.#barrier.cancel(txId));
  }

  /** Cancels every hold past its timeout at `now`; returns their transaction ids. */
  expireStale(now?: number): string[] {
    return this.#traced(undefined, () => this.#barrier.expireStale(now));
  }

  #traced<T>(trace: TraceContext | undefined, work: () => T): T {
    this.#trace = trace;
    try {
      return work();
    } finally {
      this.#trace = undefined;
    }
  }

  #announce(txId: string, events: ReturnType<typeof stockEvents>): void {
    for (const event of events) {
      this.#emit(event.type, event.data, { subject: txId, trace: this.#trace });
    }
  }
}

function stockOf(tx: InventoryTransaction, items: readonly ReservationLine[]) {
  return tx.getStock(items.map((line) => line.sku));
}
