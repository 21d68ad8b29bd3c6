/**
 * The consumer of the inbox crash test, run as a child process: it reads
 * the {@link LogBus} in batches, processes each copy through a
 * {@link SqliteInbox} and acknowledges the batch at its end — and freezes
 * in the middle of a batch so that the test can kill it with SIGKILL.
 * Private to the tests.
 *
 * Argument: a JSON {@link ConsumerConfig}.
 *
 * @module
 */

import { SqliteInbox } from "./inbox.ts";
import { LogBus } from "./_outbox_log_bus.ts";
import { addEffect, openEffects } from "./_outbox_test_util.ts";

/** What the consumer is told. */
export interface ConsumerConfig {
  /** The broker file. */
  readonly broker: string;
  /** The consumer's database. */
  readonly db: string;
  /** Copies per batch. */
  readonly batchSize: number;
  /** Freeze after processing this many copies (0: never). */
  readonly freezeAfter: number;
}

const encoder = new TextEncoder();

function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

if (import.meta.main) {
  const config = JSON.parse(Deno.args[0]!) as ConsumerConfig;
  const bus = new LogBus(config.broker);
  const db = openEffects(config.db);
  const inbox = new SqliteInbox(db, { group: "billing", retentionMs: 86_400_000 });
  let processed = 0;
  let skipped = 0;
  say("STARTED");
  for (;;) {
    const batch = bus.entries(bus.cursor("billing"), config.batchSize);
    if (batch.length === 0) break;
    for (const entry of batch) {
      const outcome = inbox.process(entry.event, () => addEffect(db, entry.event.id));
      if (!outcome.processed) skipped++;
      if (++processed === config.freezeAfter) {
        say("FROZEN mid_batch");
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
        Deno.exit(3);
      }
    }
    bus.ack("billing", batch.at(-1)!.pos);
  }
  say(`DONE ${skipped}`);
  db.close();
  await bus[Symbol.asyncDispose]();
}
