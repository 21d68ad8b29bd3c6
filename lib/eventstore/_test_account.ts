/**
 * A bank account, the aggregate of the tests. Private to the tests.
 *
 * @module
 */

import { defineAggregate } from "./aggregate.ts";

/** The account's events. */
export type AccountEvent =
  | { type: "Opened"; data: { owner: string }; id?: string }
  | { type: "Deposited"; data: { amount: number }; id?: string }
  | { type: "Withdrawn"; data: { amount: number }; id?: string };

/** The account's commands. */
export type AccountCommand =
  | { type: "open"; owner: string }
  | { type: "deposit"; amount: number; id?: string }
  | { type: "withdraw"; amount: number };

/** The account's state. */
export interface Account {
  readonly open: boolean;
  readonly balance: number;
  readonly history: readonly number[];
}

/** Refused commands. */
export class AccountError extends Error {}

/** The account. */
export const account = defineAggregate<Account, AccountEvent, AccountCommand>({
  initial: { open: false, balance: 0, history: [] },
  evolve: (state, event) => {
    switch (event.type) {
      case "Opened":
        return { ...state, open: true };
      case "Deposited":
        return {
          ...state,
          balance: state.balance + event.data.amount,
          history: [...state.history, event.data.amount],
        };
      case "Withdrawn":
        return {
          ...state,
          balance: state.balance - event.data.amount,
          history: [...state.history, -event.data.amount],
        };
    }
  },
  decide: (command, state) => {
    switch (command.type) {
      case "open":
        return state.open ? [] : [{ type: "Opened", data: { owner: command.owner } }];
      case "deposit":
        if (!state.open) throw new AccountError("the account is not open");
        return [{
          type: "Deposited",
          data: { amount: command.amount },
          ...(command.id === undefined ? {} : { id: command.id }),
        }];
      case "withdraw":
        if (!state.open) throw new AccountError("the account is not open");
        if (state.balance < command.amount) throw new AccountError("insufficient funds");
        return [{ type: "Withdrawn", data: { amount: command.amount } }];
    }
  },
});
