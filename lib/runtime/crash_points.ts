/**
 * `FLOTILLA_CRASH_AT`: named points where a service kills itself with
 * SIGKILL, once, so a crash suite can stop a process exactly at a step
 * boundary instead of hoping a timer lands there.
 *
 * @module
 */

import { join } from "node:path";
import type { Context, Service } from "@flotilla/core";

type AnyHandler = (input: unknown, ctx: Context) => unknown;

/**
 * The crash points of one service, from `FLOTILLA_CRASH_AT`: a comma-separated
 * list of `<service>:<point>`. A point is `before:<action>` (the handler is
 * about to run), `after:<action>` (it returned and its work is committed,
 * the reply is not sent), or any name the service passes to
 * {@link CrashPoints.reach} (the order service's checkout uses
 * `saga:<boundary>:<step>` and `tcc:<boundary>:<participant>`).
 *
 * Each point fires once per data folder: a marker file written before the
 * kill keeps the restarted process from dying there again.
 *
 * @example
 * ```ts
 * // FLOTILLA_CRASH_AT=inventory:after:reserve,order:saga:afterAction:chargePayment
 * const crash = CrashPoints.parse(Deno.env.get("FLOTILLA_CRASH_AT"), "order", dataDir);
 * crash.reach("saga:afterAction:chargePayment"); // SIGKILL, the first time
 * ```
 */
export class CrashPoints {
  readonly #points: ReadonlySet<string>;
  readonly #markerDir: string | undefined;
  readonly #kill: () => void;

  private constructor(
    points: ReadonlySet<string>,
    markerDir: string | undefined,
    kill: () => void,
  ) {
    this.#points = points;
    this.#markerDir = markerDir;
    this.#kill = kill;
  }

  /**
   * The points of `service` in `value`; `markerDir` holds the markers
   * (without one, a point fires every time it is reached).
   *
   * @throws {RangeError} for an entry that is not `<service>:<point>`.
   */
  static parse(
    value: string | undefined,
    service: string,
    markerDir: string | undefined,
    kill: () => void = () => Deno.kill(Deno.pid, "SIGKILL"),
  ): CrashPoints {
    const points = new Set<string>();
    for (const entry of (value ?? "").split(",").map((e) => e.trim()).filter(Boolean)) {
      const colon = entry.indexOf(":");
      if (colon <= 0 || colon === entry.length - 1) {
        throw new RangeError(
          `Cannot read FLOTILLA_CRASH_AT as each entry must be "<service>:<point>": current entry is "${entry}"`,
        );
      }
      if (entry.slice(0, colon) === service) points.add(entry.slice(colon + 1));
    }
    return new CrashPoints(points, markerDir, kill);
  }

  /** Whether any point is set for this service. */
  get armed(): boolean {
    return this.#points.size > 0;
  }

  /** Kills the process if `point` is armed and has not fired yet. */
  reach(point: string): void {
    if (!this.#points.has(point)) return;
    if (this.#markerDir !== undefined) {
      const marker = join(this.#markerDir, `.crashed-${point.replaceAll(/[^\w.-]/g, "_")}`);
      try {
        Deno.writeTextFileSync(marker, new Date().toISOString(), { createNew: true });
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) return;
        throw error;
      }
    }
    this.#kill();
  }

  /** `service` with its handlers crashing at their `before:`/`after:` points. */
  wrap<S extends Service>(service: S): S {
    if (!this.armed) return service;
    const handlers: Record<string, AnyHandler> = {};
    for (
      const [action, handler] of Object.entries(service.handlers as Record<string, AnyHandler>)
    ) {
      const before = `before:${action}`;
      const after = `after:${action}`;
      if (!this.#points.has(before) && !this.#points.has(after)) {
        handlers[action] = handler;
        continue;
      }
      handlers[action] = async (input, ctx) => {
        this.reach(before);
        const output = await handler(input, ctx);
        this.reach(after);
        return output;
      };
    }
    return { ...service, handlers } as S;
  }
}
