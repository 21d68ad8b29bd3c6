import assert from "node:assert/strict";
import { join } from "node:path";
import { ManualClock } from "@flotilla/core";
import { openDatabase } from "@flotilla/sqlite";
import { SagaOrchestrator } from "./saga_orchestrator.ts";
import { isTerminal } from "./saga_store.ts";
import { SqliteSagaStore } from "./sqlite_saga_store.ts";
import { TccCoordinator } from "./tcc_coordinator.ts";
import { checkLedgerSaga, effectsOf, ledgerSaga } from "./_ledger.ts";
import { checkLoad, loadParticipants } from "./_load.ts";

const CHILD = new URL("./_crash_child.ts", import.meta.url).pathname;

/** Runs the child; returns how it ended and the boundaries it reported. */
async function child(args: string[]): Promise<{ signal: Deno.Signal | null; boundaries: number }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CHILD, ...args],
    cwd: new URL("../../", import.meta.url).pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  if (output.signal === null && !output.success) {
    throw new Error(`the child failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return {
    signal: output.signal,
    boundaries: stdout === ""
      ? 0
      : (JSON.parse(stdout.split("\n").at(-1)!) as { boundaries: number }).boundaries,
  };
}

async function tempDir(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-tx-crash-" });
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** A clock past every lease and deadline the children took (they use the wall clock). */
function afterTheCrash(): ManualClock {
  return new ManualClock(Date.now() + 3_600_000);
}

/** The ledger's effects after an uninterrupted run, by scenario. */
const EXPECTED: Record<string, string[] | undefined> = {
  ok: ["s0/action/applied", "s1/action/applied", "s2/action/applied"],
  fail: [
    "s0/action/applied",
    "s0/compensation/undone",
    "s1/action/applied",
    "s1/compensation/undone",
    "s2/compensation/noop",
  ],
  // With the deadline passed during the crash, what is compensated depends on the kill point.
  deadline: undefined,
};

for (const scenario of ["ok", "fail", "deadline"]) {
  Deno.test(`crash: an orchestrator SIGKILLed at every step boundary (${scenario}) is recovered by a new process, each effect applied at most once per key`, async () => {
    await using probe = await tempDir();
    const clean = await child(["saga", probe.dir, "0", "probe", scenario]);
    assert.equal(clean.signal, null);
    assert.ok(
      clean.boundaries >= (scenario === "fail" ? 20 : 12),
      `boundaries: ${clean.boundaries}`,
    );
    const expected = EXPECTED[scenario];
    const probeLedger = openDatabase(join(probe.dir, "ledger.db"));
    try {
      assert.deepEqual(effectsOf(probeLedger, "probe"), expected ?? EXPECTED.ok);
    } finally {
      probeLedger.close();
    }

    const seen = new Set<string>();
    for (let killAt = 1; killAt <= clean.boundaries; killAt++) {
      await using t = await tempDir();
      const id = `saga-${killAt}`;
      const run = await child(["saga", t.dir, String(killAt), id, scenario]);
      assert.equal(run.signal, "SIGKILL", `killed at boundary ${killAt}`);

      const store = new SqliteSagaStore({ path: join(t.dir, "sagas.db") });
      const ledger = openDatabase(join(t.dir, "ledger.db"));
      try {
        const orchestrator = new SagaOrchestrator({
          store,
          sagas: [ledgerSaga(ledger)],
          clock: afterTheCrash(),
          owner: "recovery",
        });
        await orchestrator.recover();
        const view = await orchestrator.getSaga(id);
        assert.ok(
          view !== undefined,
          `killed at ${killAt}: the saga was persisted before any step`,
        );
        if (expected !== undefined) {
          assert.equal(
            view.status,
            scenario === "fail" ? "COMPENSATED" : "COMPLETED",
            `killed at ${killAt}`,
          );
          assert.deepEqual(effectsOf(ledger, id), expected, `killed at ${killAt}`);
        } else {
          assert.ok(
            view.status === "COMPENSATED" || killAt > clean.boundaries - 3,
            `killed at ${killAt}`,
          );
        }
        checkLedgerSaga(ledger, view);
        seen.add(effectsOf(ledger, id).join(","));
      } finally {
        ledger.close();
        await store.close();
      }
    }
    if (scenario === "deadline") {
      // Kills before, inside and after actions: compensation found both applied and never-applied steps.
      assert.ok([...seen].some((s) => s.includes("compensation/noop")), [...seen].join(" | "));
      assert.ok([...seen].some((s) => s.includes("compensation/undone")));
    }
  });
}

Deno.test("crash: an orchestrator and a TCC coordinator killed repeatedly under load leave nothing non-terminal once faults stop", async () => {
  await using t = await tempDir();
  let seed = 7;
  const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
  let kills = 0;
  for (let round = 0; round < 6; round++) {
    const killAt = 5 + Math.floor(random() * 150);
    const run = await child(["load", t.dir, String(killAt), String(round)]);
    if (run.signal === "SIGKILL") kills++;
  }
  assert.ok(kills >= 4, `the child was killed ${kills} times`);

  const store = new SqliteSagaStore({ path: join(t.dir, "sagas.db") });
  const ledger = openDatabase(join(t.dir, "ledger.db"));
  const participantsDb = openDatabase(join(t.dir, "participants.db"));
  try {
    const clock = afterTheCrash();
    const orchestrator = new SagaOrchestrator({
      store,
      sagas: [ledgerSaga(ledger)],
      clock,
      owner: "recovery",
    });
    const coordinator = new TccCoordinator({
      store,
      participants: loadParticipants(participantsDb).participants,
      clock,
      owner: "recovery",
    });
    await orchestrator.recover({ limit: 1_000 });
    await coordinator.recover({ limit: 1_000 });

    const records = await store.list({ limit: 10_000 });
    assert.ok(records.length > 20, `records: ${records.length}`);
    const open = records.filter((r) => !isTerminal(r.status));
    assert.deepEqual(open.map((r) => `${r.id}:${r.status}`), []);
    for (const saga of await orchestrator.listSagas({ limit: 10_000 })) {
      checkLedgerSaga(ledger, saga);
    }
    checkLoad(participantsDb, await coordinator.listTransactions({ limit: 10_000 }));
  } finally {
    participantsDb.close();
    ledger.close();
    await store.close();
  }
});
