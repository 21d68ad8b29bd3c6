/**
 * Server-side fault injection: around a host's invocation of a handler, or
 * around a service's handlers.
 *
 * @module
 */

import {
  type Context,
  type InboundMeta,
  type InvokeResult,
  UnavailableError,
} from "@flotilla/core";
import type { ChaosEngine, ChaosPlan, ChaosPoint } from "./chaos_engine.ts";

/** The shape of `ServiceHost.invoke`: what every transport calls. */
export type Invoke = (action: string, input: unknown, meta: InboundMeta) => Promise<InvokeResult>;

/**
 * Wraps an invocation function shaped like `ServiceHost.invoke` (bind it:
 * `host.invoke.bind(host)`) so the engine's server-side rules apply: `peer`
 * is the calling service (empty for external callers), `action` the action.
 * Latency waits before the call (aborted with the caller's signal); an
 * `error` fault throws its {@link FlotillaError}, which the transport sends
 * as problem+json; `abort` throws `CONNECTION_RESET` before the handler runs
 * (`before_send`) or after it ran (`after_send`: the work is done, the
 * answer lost). Prefer {@link chaosService} where the host cannot be
 * wrapped: it injects inside the host's deadline.
 *
 * @example
 * ```ts
 * import { ServiceHost, defineService, defineContract } from "@flotilla/core";
 * import { ChaosEngine, chaosInvoke } from "@flotilla/chaos";
 *
 * declare const host: ServiceHost;
 * const engine = new ChaosEngine({ service: host.name });
 * const invoke = chaosInvoke(engine, host.invoke.bind(host));
 * ```
 */
export function chaosInvoke(engine: ChaosEngine, invoke: Invoke): Invoke {
  return async function chaosInvoked(action, input, meta) {
    const point: ChaosPoint = { side: "server", peer: meta.caller?.service ?? "", action };
    const plan = engine.plan(point);
    if (plan.fired.length === 0) return await invoke(action, input, meta);
    return await injectServer(engine, plan, point, meta.signal, () => invoke(action, input, meta));
  };
}

/**
 * A copy of `service` whose handlers go through the engine's server-side
 * rules (see {@link chaosInvoke}), inside the host: injected latency counts
 * against the call's deadline and is cut short by it. Needs no change to
 * the host or the transports: `node.serve(chaosService(engine, service))`.
 *
 * @example
 * ```ts
 * import type { Service } from "@flotilla/core";
 * import { ChaosEngine, chaosService } from "@flotilla/chaos";
 *
 * declare const service: Service;
 * const engine = new ChaosEngine({ service: service.contract.name });
 * const faulty = chaosService(engine, service);
 * ```
 */
export function chaosService<S extends { readonly handlers: object }>(
  engine: ChaosEngine,
  service: S,
): S {
  const handlers: Record<string, (input: unknown, ctx: Context) => unknown> = {};
  for (const [action, handler] of Object.entries(service.handlers)) {
    const run = handler as (input: unknown, ctx: Context) => unknown;
    handlers[action] = (input, ctx) => {
      const point: ChaosPoint = { side: "server", peer: ctx.caller.service ?? "", action };
      const plan = engine.plan(point);
      if (plan.fired.length === 0) return run(input, ctx);
      return injectServer(engine, plan, point, ctx.signal, async () => await run(input, ctx));
    };
  }
  return { ...service, handlers } as S;
}

async function injectServer<T>(
  engine: ChaosEngine,
  plan: ChaosPlan,
  point: ChaosPoint,
  signal: AbortSignal | undefined,
  run: () => Promise<T>,
): Promise<T> {
  await engine.delay(plan.delayMs, signal);
  const terminal = plan.terminal;
  if (terminal === undefined) return await run();
  if (terminal.fault.type === "error") throw engine.error(terminal.fault, terminal.rule, point);
  if (terminal.fault.type === "abort") {
    const after = terminal.fault.phase === "after_send";
    if (after) await run();
    throw new UnavailableError(
      `Connection reset ${
        after ? "after" : "before"
      } ${point.action} ran (chaos rule "${terminal.rule}")`,
      {
        code: "CONNECTION_RESET",
        data: { chaos: { rule: terminal.rule, side: "server" }, handled: after },
      },
    );
  }
  return await run();
}
