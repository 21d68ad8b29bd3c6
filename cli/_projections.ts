// Internal to the CLI.

import { existsSync } from "node:fs";
import { join, normalize } from "node:path";
import { openDatabase } from "@flotilla/sqlite";
import {
  openEventStore,
  parseEventStoreUrl,
  rebuildProjection,
  type ServiceReadModel,
} from "@flotilla/eventstore";
import { resolveDataRoot } from "@flotilla/supervisor";
import type { Io } from "./_io.ts";
import { loadPlan } from "./_load_plan.ts";

/** Options of {@link rebuildProjections}. */
export interface RebuildProjectionsOptions {
  /** Only this service's read models. */
  service: string | undefined;
  /** The plan, as `flotilla up --plan` takes it. */
  plan: string | undefined;
  /** Where to write. */
  io: Io;
  /** The environment (`FLOTILLA_DATA_DIR`, `FLOTILLA_EVENTSTORE`). */
  env: Readonly<Record<string, string | undefined>>;
  /** The working directory. */
  cwd: string;
}

/**
 * `flotilla projections rebuild [service]`: empties each projection of the
 * plan's services (or of one) and builds it again from the first event of
 * the event store `FLOTILLA_EVENTSTORE` names. A running projector of the
 * same read model notices at its next batch and carries on from the rebuilt
 * checkpoint; nothing is applied twice. Returns the exit code.
 */
export async function rebuildProjections(options: RebuildProjectionsOptions): Promise<number> {
  const { io } = options;
  const plan = await loadPlan(options.plan, options.cwd);
  const services = plan.services.filter((s) =>
    options.service === undefined || s.contract.name === options.service
  );
  if (services.length === 0) {
    io.err(`flotilla: projections rebuild: the plan has no service "${options.service}"`);
    return 2;
  }
  const eventStore = options.env.FLOTILLA_EVENTSTORE?.trim() || "sqlite";
  const url = parseEventStoreUrl(eventStore);
  const dataRoot = resolveDataRoot(options.env, options.cwd);
  let rebuilt = 0;
  for (const service of services) {
    if (service.projections === undefined) continue;
    const name = service.contract.name;
    const module = await import(new URL(String(service.projections), import.meta.url).href);
    const readModels = module.readModels as ServiceReadModel[] | undefined;
    if (!Array.isArray(readModels)) {
      throw new Error(
        `Cannot rebuild the projections of "${name}" as ${service.projections} exports no 'readModels' array`,
      );
    }
    for (const readModel of readModels) {
      const folder = join(dataRoot, name);
      const path = normalize(join(folder, readModel.database));
      if (!path.startsWith(folder)) {
        throw new Error(`Cannot rebuild "${readModel.database}" of "${name}": outside its folder`);
      }
      if (!existsSync(path)) {
        io.out(`${name}: ${readModel.database} does not exist yet; nothing to rebuild`);
        continue;
      }
      const db = openDatabase(path);
      try {
        const { store } = await openEventStore(url, { db });
        try {
          for (const projection of readModel.projections) {
            const result = await rebuildProjection({ store, db, projection });
            io.out(
              `${name}: ${projection.name} rebuilt from ${result.events} events (to position ${
                result.position ?? "none"
              })`,
            );
            rebuilt++;
          }
        } finally {
          await store[Symbol.asyncDispose]();
        }
      } finally {
        db.close();
      }
    }
  }
  if (rebuilt === 0) io.out("No projection to rebuild.");
  return 0;
}
