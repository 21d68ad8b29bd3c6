/**
 * A service: a contract plus the handlers that implement its actions.
 *
 * @module
 */

import type { Context } from "./context.ts";
import type { ParsedInput, ServiceContract } from "./contract.ts";
import type { InferInput } from "./schema.ts";

/** The handler of action `K` of contract `C`. */
export type Handler<C extends ServiceContract, K extends keyof C["actions"]> = (
  input: ParsedInput<C, K>,
  ctx: Context,
) =>
  | Promise<InferInput<C["actions"][K]["output"]>>
  | InferInput<C["actions"][K]["output"]>;

/** One handler per action of contract `C`. */
export type Handlers<C extends ServiceContract> = {
  [K in keyof C["actions"]]: Handler<C, K>;
};

/** A named check that must pass before the service reports ready. */
export interface ReadinessCheck {
  /** Name shown in `/readyz`. */
  name: string;
  /** Resolves true when the dependency is usable. A throw counts as not ready. */
  check(): boolean | Promise<boolean>;
}

/** Options of {@link defineService}. */
export interface ServiceOptions {
  /** Checks `/readyz` runs; all must pass. */
  readiness?: readonly ReadinessCheck[];
  /** Runs once after the service has drained, to close databases and connections. */
  onStop?: () => void | Promise<void>;
}

/** A runnable service. */
// The erased default: a specific service must be usable where any service is expected.
// deno-lint-ignore no-explicit-any
export interface Service<C extends ServiceContract = ServiceContract<any>> {
  /** What it is. */
  readonly contract: C;
  /** How it does it. */
  readonly handlers: Handlers<C>;
  /** Readiness checks. */
  readonly readiness: readonly ReadinessCheck[];
  /** Clean-up after drain. */
  readonly onStop: (() => void | Promise<void>) | undefined;
}

/**
 * Binds handlers to a contract. The compiler checks there is exactly one
 * handler per action, with the contract's input and output types.
 *
 * @example
 * ```ts
 * const service = defineService(greeter, {
 *   greet: ({ name }) => ({ text: `Hello, ${name}` }),
 * });
 * ```
 */
export function defineService<C extends ServiceContract>(
  contract: C,
  handlers: Handlers<C>,
  options: ServiceOptions = {},
): Service<C> {
  for (const action of Object.keys(contract.actions)) {
    if (typeof (handlers as Record<string, unknown>)[action] !== "function") {
      throw new TypeError(
        `Cannot define service "${contract.name}" as action "${action}" has no handler`,
      );
    }
  }
  return {
    contract,
    handlers,
    readiness: options.readiness ?? [],
    onStop: options.onStop,
  };
}
