/**
 * The PostgreSQL event store's schema, as numbered migrations, and the
 * migrator that applies the missing ones on connect. Private to the package.
 *
 * Rules: a migration, once released, never changes — a change is a new
 * migration with the next number. All missing migrations run in one
 * transaction under an advisory lock on the schema's name, so two processes
 * connecting at once neither race nor half-apply; the table `migrations`
 * records what ran.
 *
 * @module
 */

import type postgres from "postgres";

/** One step of the schema. */
export interface Migration {
  /** Its number, from 1, without gaps. */
  readonly version: number;
  /** What it does, recorded beside the number. */
  readonly name: string;
  /** Its statements, for the schema named `schema` (already checked to be a plain identifier). */
  sql(schema: string): string;
}

/**
 * Bits of a position below the transaction id: `position = xid × 2^16 + index`,
 * so one append holds at most 65,536 events.
 */
export const POSITION_SHIFT = 16;

/** The migrations, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "events, snapshots and checkpoints",
    sql: (schema) => `
CREATE TABLE "${schema}".events (
  -- (transaction_id << ${POSITION_SHIFT}) + index in the append: increasing in transaction-id order,
  -- which is what makes reads gap-safe (see postgres_event_store.ts).
  position bigint PRIMARY KEY,
  transaction_id xid8 NOT NULL,
  stream text NOT NULL,
  version integer NOT NULL,
  id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  time timestamptz NOT NULL,
  CONSTRAINT events_stream_version UNIQUE (stream, version),
  CONSTRAINT events_id UNIQUE (id),
  CONSTRAINT events_version CHECK (version >= 0)
);
CREATE TABLE "${schema}".snapshots (
  stream text PRIMARY KEY,
  version integer NOT NULL,
  state jsonb NOT NULL,
  time timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE "${schema}".checkpoints (
  name text PRIMARY KEY,
  position bigint NOT NULL,
  time timestamptz NOT NULL DEFAULT now()
);
`,
  },
];

/** Applies the migrations `schema` lacks (creating the schema if needed); returns their numbers. */
export async function migrate(
  sql: postgres.Sql,
  schema: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`flotilla.eventstore.migrate:${schema}`}, 0))`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await tx.unsafe(
      `CREATE TABLE IF NOT EXISTS "${schema}".migrations (` +
        "version integer PRIMARY KEY, name text NOT NULL, " +
        "applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const rows = await tx.unsafe<{ version: number }[]>(
      `SELECT version FROM "${schema}".migrations`,
    );
    const applied = new Set(rows.map((row) => row.version));
    const ran: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await tx.unsafe(migration.sql(schema)).simple();
      await tx.unsafe(
        `INSERT INTO "${schema}".migrations (version, name) VALUES ($1, $2)`,
        [migration.version, migration.name],
      );
      ran.push(migration.version);
    }
    return ran;
  });
}
