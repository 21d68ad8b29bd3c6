/**
 * Test support of `crash_test.ts`, run as a script: an orchestrator (and a
 * TCC coordinator) over SQLite files in `dir` that SIGKILLs its own process
 * at the `killAt`th step boundary (never when 0), reporting the boundaries
 * it passed on stdout when it is not killed. Private to the tests.
 *
 * `deno run -A _crash_child.ts saga <dir> <killAt> <sagaId> <ok|fail|deadline>`
 * `deno run -A _crash_child.ts load <dir> <killAt> <round>`
 *
 * @module
 */

import { join } from "node:path";
import { openDatabase } from "@flotilla/sqlite";
import type { FaultHook } from "./faults.ts";
import { SagaOrchestrator } from "./saga_orchestrator.ts";
import { SqliteSagaStore } from "./sqlite_saga_store.ts";
import { TccCoordinator } from "./tcc_coordinator.ts";
import { ledgerSaga } from "./_ledger.ts";
import { loadParticipants } from "./_load.ts";

const [mode, dir, killAtText, arg1, arg2] = Deno.args;
if (dir === undefined || killAtText === undefined) throw new TypeError("usage: see the module doc");
const killAt = Number(killAtText);
let boundaries = 0;
const faults: FaultHook = () => {
  boundaries++;
  if (boundaries === killAt) Deno.kill(Deno.pid, "SIGKILL");
};

const store = new SqliteSagaStore({ path: join(dir, "sagas.db") });
const ledger = openDatabase(join(dir, "ledger.db"));
const saga = ledgerSaga(ledger);
const orchestrator = new SagaOrchestrator({
  store,
  sagas: [saga],
  faults,
  owner: `child-${Deno.pid}`,
});

if (mode === "saga") {
  // arg2: "ok", "fail" (the last step refuses) or "deadline" (a deadline the recovery will find passed).
  await orchestrator.start(
    saga,
    arg1 ?? "s-1",
    { fail: arg2 === "fail" },
    arg2 === "deadline" ? { timeoutMs: 600_000 } : {},
  );
} else if (mode === "load") {
  const round = arg1 ?? "0";
  const { participants } = loadParticipants(openDatabase(join(dir, "participants.db")));
  const coordinator = new TccCoordinator({
    store,
    participants,
    faults,
    owner: `child-${Deno.pid}`,
    timeoutMs: 60_000,
  });
  await Promise.all([orchestrator.recover(), coordinator.recover()]);
  await Promise.all([
    ...Array.from({ length: 12 }, (_, i) =>
      coordinator.run(`r${round}-t${i}`, {
        inventory: { sku: "TEA", quantity: 1 + (i % 3) },
        payment: { sku: "TEA", quantity: i % 5 === 4 ? 1_000 : 2 },
      })),
    ...Array.from(
      { length: 6 },
      (_, i) => orchestrator.start(saga, `r${round}-s${i}`, { fail: i % 3 === 2 }),
    ),
  ]);
}
Deno.stdout.writeSync(new TextEncoder().encode(`${JSON.stringify({ boundaries })}\n`));
