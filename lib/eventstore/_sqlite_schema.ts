/**
 * The tables of the SQLite event store. (A projection keeps its checkpoint
 * in its read model's database, in `projection_checkpoints`: see
 * `_projection_checkpoint.ts`.) Private to the package.
 *
 * @module
 */

/** The events, their snapshots and the named checkpoints. */
export const EVENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  stream TEXT NOT NULL,
  version INTEGER NOT NULL,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT,
  time TEXT NOT NULL,
  UNIQUE (stream, version)
);
CREATE TABLE IF NOT EXISTS snapshots (
  stream TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  state TEXT NOT NULL,
  time TEXT NOT NULL
) WITHOUT ROWID;
`;

/** Named checkpoints (positions as decimal text, so any adapter's fit). */
export const CHECKPOINTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoints (
  name TEXT PRIMARY KEY,
  position TEXT NOT NULL,
  time TEXT NOT NULL
) WITHOUT ROWID;
`;

/** Upserts a checkpoint: `(name, position, time)`. */
export const SAVE_CHECKPOINT = "INSERT INTO checkpoints (name, position, time) VALUES (?, ?, ?) " +
  "ON CONFLICT (name) DO UPDATE SET position = excluded.position, time = excluded.time";

/** Deletes a checkpoint: `(name)`. */
export const DELETE_CHECKPOINT = "DELETE FROM checkpoints WHERE name = ?";

/** Reads a checkpoint: `(name)` → `position`. */
export const LOAD_CHECKPOINT = "SELECT position FROM checkpoints WHERE name = ?";
