import assert from "node:assert/strict";
import { defineAggregate } from "./aggregate.ts";
import { account } from "./_test_account.ts";

Deno.test("defineAggregate() folds events with evolve from the initial state", () => {
  const state = account.fold([
    { type: "Opened", data: { owner: "ada" } },
    { type: "Deposited", data: { amount: 10 } },
    { type: "Withdrawn", data: { amount: 3 } },
  ]);
  assert.deepEqual(state, { open: true, balance: 7, history: [10, -3] });
  assert.deepEqual(account.fold([{ type: "Deposited", data: { amount: 1 } }], state).balance, 8);
  assert.deepEqual(account.fold([]), account.initial);
  assert.ok(Object.isFrozen(account));
});

Deno.test("defineAggregate() keeps decide pure: same state and command, same events", () => {
  const state = account.fold([{ type: "Opened", data: { owner: "ada" } }]);
  const command = { type: "deposit", amount: 5 } as const;
  assert.deepEqual(account.decide!(command, state), account.decide!(command, state));
  assert.throws(() => account.decide!({ type: "withdraw", amount: 1 }, state), /insufficient/);
});

Deno.test("defineAggregate() refuses a definition without evolve or with a bad revision", () => {
  assert.throws(
    () => defineAggregate({ initial: 0, evolve: undefined as never }),
    /Cannot define the aggregate as 'evolve' must be a function/,
  );
  assert.throws(
    () => defineAggregate({ initial: 0, evolve: (s) => s, decide: 1 as never }),
    /'decide' must be a function/,
  );
  assert.throws(
    () => defineAggregate({ initial: 0, evolve: (s) => s, snapshot: { revision: 0 } }),
    /'snapshot.revision' must be a positive integer: current value is 0/,
  );
});
