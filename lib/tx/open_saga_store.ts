/**
 * Picking the saga store by configuration.
 *
 * @module
 */

import type { SagaStore } from "./saga_store.ts";
import { SqliteSagaStore } from "./sqlite_saga_store.ts";

/** What {@link openSagaStore} opens: SQLite (the default) or PostgreSQL. */
export type SagaStoreConfig =
  | {
    /** SQLite through `node:sqlite`. */
    kind: "sqlite";
    /** The database file. */
    path: string;
  }
  | {
    /** PostgreSQL through npm `postgres` (loaded only for this kind). */
    kind: "postgres";
    /** The server's URL, e.g. `postgres://app@127.0.0.1:5432/shop`. */
    url: string;
    /** The schema of the tables. @default {"flotilla"} */
    schema?: string;
  };

/**
 * Opens the {@link SagaStore} that `config` names; the PostgreSQL adapter
 * (and its driver) is imported only when asked for. Close the store when done.
 *
 * @example
 * ```ts
 * import { openSagaStore } from "@flotilla/tx";
 *
 * const store = await openSagaStore(
 *   Deno.env.get("SAGA_STORE_URL")
 *     ? { kind: "postgres", url: Deno.env.get("SAGA_STORE_URL")! }
 *     : { kind: "sqlite", path: ".flotilla/order/sagas.db" },
 * );
 * ```
 */
export async function openSagaStore(config: SagaStoreConfig): Promise<SagaStore> {
  if (config.kind === "sqlite") return new SqliteSagaStore({ path: config.path });
  if (config.kind === "postgres") {
    const { PostgresSagaStore } = await import("./postgres_saga_store.ts");
    return await PostgresSagaStore.open(
      config.url,
      config.schema === undefined ? {} : { schema: config.schema },
    );
  }
  throw new RangeError(
    `Cannot open the saga store as 'kind' must be "sqlite" or "postgres": current value is ${
      JSON.stringify((config as { kind: unknown }).kind)
    }`,
  );
}
