// Internal to the CLI.

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { SystemPlan } from "@flotilla/supervisor";

/** The plan `flotilla up` runs by default: the `shop` export of the shop's topology. */
export const DEFAULT_PLAN = "apps/shop/topology.ts#shop";
const DEFAULT_PLAN_URL = new URL("../apps/shop/topology.ts", import.meta.url);

/**
 * Imports the system plan named by `spec`: `path/to/module.ts` or
 * `path/to/module.ts#exportName`, a path relative to `cwd` or a URL. Without
 * an export name, it takes the default export if it is a plan, else the
 * module's only export that is one. Without `spec`, the shop's topology.
 */
export async function loadPlan(spec: string | undefined, cwd: string): Promise<SystemPlan> {
  let url: URL;
  let exportName: string | undefined;
  if (spec === undefined) {
    url = DEFAULT_PLAN_URL;
    exportName = "shop";
  } else {
    const hash = spec.lastIndexOf("#");
    const path = hash > 0 ? spec.slice(0, hash) : spec;
    exportName = hash > 0 ? spec.slice(hash + 1) : undefined;
    url = /^[a-z][a-z0-9+.-]+:/i.test(path) ? new URL(path) : pathToFileURL(resolve(cwd, path));
  }
  const shown = spec ?? DEFAULT_PLAN;
  let module: Record<string, unknown>;
  try {
    module = await import(url.href);
  } catch (error) {
    throw new Error(
      `Cannot load the plan "${shown}": ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
  if (exportName !== undefined) {
    const plan = module[exportName];
    if (!isSystemPlan(plan)) {
      throw new Error(
        `Cannot load the plan "${shown}" as the module has no export "${exportName}" that is a system plan`,
      );
    }
    return plan;
  }
  if (isSystemPlan(module.default)) return module.default;
  const plans = Object.entries(module).filter(([, value]) => isSystemPlan(value));
  if (plans.length === 1) return plans[0]![1] as SystemPlan;
  throw new Error(
    plans.length === 0
      ? `Cannot load the plan "${shown}" as the module exports no system plan`
      : `Cannot load the plan "${shown}" as the module exports several plans (${
        plans.map(([name]) => name).join(", ")
      }): name one with "${spec}#<export>"`,
  );
}

function isSystemPlan(value: unknown): value is SystemPlan {
  if (typeof value !== "object" || value === null) return false;
  const plan = value as Partial<SystemPlan>;
  return typeof plan.name === "string" && Array.isArray(plan.services) &&
    plan.services.every((service: unknown) => {
      if (typeof service !== "object" || service === null) return false;
      const { contract, entry } = service as Partial<SystemPlan["services"][number]>;
      return typeof contract === "object" && contract !== null &&
        typeof contract.name === "string" && (typeof entry === "string" || entry instanceof URL);
    });
}
