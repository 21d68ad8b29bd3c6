/**
 * The payment service as a TCC participant: an amount of a customer's
 * balance held per transaction (the order id) behind the `@flotilla/tx`
 * barrier, charged on Confirm, given back on Cancel or when the hold
 * expires.
 *
 * @module
 */

import type { Clock, TraceContext } from "@flotilla/core";
import type { CancelOutcome, ConfirmOutcome, TryOutcome } from "@flotilla/tx";
import {
  decideCapture,
  decideHoldFunds,
  decideReleaseFunds,
  type HoldFundsRequest,
} from "../domain/hold.ts";
import { paymentEvents } from "../domain/payment_events.ts";
import { insufficientFunds, unknownCustomer } from "../errors.ts";
import type { Emit, PaymentStore, TccBarrier } from "./ports.ts";

/**
 * How long a hold lives without Confirm or Cancel: 5 minutes, well past the
 * order service's TCC coordinator timeout (30 s) so that a live coordinator
 * always decides first; past it, {@link PaymentHolds.expireStale} gives the
 * amount back and a late Confirm is refused (`TCC_CONFIRM_AFTER_CANCEL`).
 */
export const HOLD_TIMEOUT_MS = 5 * 60_000;

/** What a Try stores with its barrier row. */
interface HoldInput {
  readonly customerId: string;
  readonly amount: number;
}

/** Options of {@link PaymentHolds}. */
export interface PaymentHoldsOptions {
  /** Where wallets, holds and the barrier live. */
  store: PaymentStore;
  /**
   * Emits `payment.held` (a Try), `payment.charged` (a Confirm) and
   * `payment.released` (a Cancel or an expiry) in the transaction that makes
   * the change.
   * @default {an emitter that drops every event}
   */
  emit?: Emit;
  /** How long a hold lives without Confirm or Cancel. @default {HOLD_TIMEOUT_MS} */
  timeoutMs?: number;
  /** The source of time for expiry. @default {systemClock} */
  clock?: Clock;
}

/**
 * Payment holds for TCC transactions. Each call runs one local transaction
 * holding the business change, its event and the barrier row:
 *
 * - {@link try}: the balance decreases by `amount` and a `HELD` hold records
 *   it; `INSUFFICIENT_FUNDS` or `UNKNOWN_CUSTOMER` refuse it and keep
 *   nothing; a replay is `REPLAYED`; after a Cancel it is refused
 *   (`TCC_TRY_AFTER_CANCEL`).
 * - {@link confirm}: the hold is `CHARGED` (the balance does not move).
 * - {@link cancel}: the held amount is back on the balance; before any Try
 *   it is an `EMPTY_ROLLBACK` that refuses the late Try.
 * - {@link expireStale}: cancels holds older than the timeout.
 *
 * The barrier's refusals are `TxError`s (`FlotillaError`s of kind
 * `FAILED_PRECONDITION`, not retryable), so they reach callers unchanged.
 *
 * @example
 * ```ts
 * const holds = new PaymentHolds({ store, emit });
 * holds.try({ txId: "o-1", customerId: "alice", amount: 850 }); // "TRIED"
 * holds.confirm("o-1"); // "CONFIRMED"
 * ```
 */
export class PaymentHolds {
  readonly #barrier: TccBarrier<HoldInput>;
  readonly #emit: Emit;
  /** The trace of the call being served, for the events its callbacks emit. */
  #trace: TraceContext | undefined;

  /** Creates the holds and their barrier in `options.store`. */
  constructor(options: PaymentHoldsOptions) {
    this.#emit = options.emit ?? (() => {});
    this.#barrier = options.store.tccParticipant<HoldInput>({
      name: "payment",
      tryTimeoutMs: options.timeoutMs ?? HOLD_TIMEOUT_MS,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      try: (tx, { txId, input }) => {
        const request = { txId, customerId: input.customerId, amount: input.amount };
        const decision = decideHoldFunds(request, tx.getWallet(input.customerId));
        switch (decision.type) {
          case "unknown_customer":
            throw unknownCustomer(input.customerId);
          case "insufficient_funds":
            throw insufficientFunds(input.customerId, input.amount);
          case "hold":
            tx.setBalance(input.customerId, {
              balance: decision.balance,
              version: decision.version,
            });
            tx.saveHold(decision.hold);
            this.#announce(txId, paymentEvents(decision));
        }
      },
      confirm: (tx, { txId }) => {
        const hold = tx.getHold(txId);
        const decision = decideCapture(hold, hold && tx.getWallet(hold.customerId));
        if (decision.type === "capture") tx.saveHold(decision.hold);
        this.#announce(txId, paymentEvents(decision));
      },
      cancel: (tx, { txId }) => {
        const hold = tx.getHold(txId);
        const decision = decideReleaseFunds(hold, hold && tx.getWallet(hold.customerId));
        if (decision.type === "release_funds") {
          tx.setBalance(decision.hold.customerId, {
            balance: decision.balance,
            version: decision.version,
          });
          tx.saveHold(decision.hold);
        }
        this.#announce(txId, paymentEvents(decision));
      },
    });
  }

  /**
   * TCC Try: holds `request.amount` of `request.customerId`'s balance for `request.txId`.
   *
   * @throws {FlotillaError} `INSUFFICIENT_FUNDS`, `UNKNOWN_CUSTOMER`, `TCC_TRY_AFTER_CANCEL`.
   */
  try(request: HoldFundsRequest, trace?: TraceContext): TryOutcome {
    const input: HoldInput = { customerId: request.customerId, amount: request.amount };
    return this.#traced(trace, () => this.#barrier.try(request.txId, input));
  }

  /**
   * TCC Confirm: the hold of `txId` is charged.
   *
   * @throws {FlotillaError} `TCC_CONFIRM_AFTER_CANCEL`, `TCC_CONFIRM_WITHOUT_TRY`.
   */
  confirm(txId: string, trace?: TraceContext): ConfirmOutcome {
    return this.#traced(trace, () => this.#barrier.confirm(txId));
  }

  /**
   * TCC Cancel: the hold of `txId` is back on its customer's balance.
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

  #announce(txId: string, events: ReturnType<typeof paymentEvents>): void {
    for (const event of events) {
      this.#emit(event.type, event.data, { subject: txId, trace: this.#trace });
    }
  }
}
