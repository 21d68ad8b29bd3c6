/**
 * A service contract: what a service is, once, as data.
 *
 * The contract names the service, its actions with input and output schemas,
 * the events it emits and handles, and what it needs from its host (a port,
 * a data folder, environment variables, peers). Transports derive routes
 * from it, clients derive types from it, and the supervisor derives the
 * process permissions from it. It holds no handler, so a caller can import a
 * peer's contract without importing its implementation.
 *
 * @module
 */

import type { InferInput, InferOutput, StandardSchema } from "./schema.ts";

/** HTTP methods a REST route can use. */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * A schema of any input and output: the erased form that lets a specific
 * service be used where any service is expected (handlers take their input
 * contravariantly, so `unknown` would not do).
 */
// deno-lint-ignore no-explicit-any
export type AnySchema = StandardSchema<any, any>;

/** How an action is exposed as a REST route, besides its RPC route. */
export interface HttpRoute {
  /** The method. */
  method: HttpMethod;
  /** Path with `:param` placeholders, e.g. `/orders/:orderId`. */
  path: string;
  /** Status of a successful response. @default {200} */
  status?: number;
}

/** One request/response operation of a service. */
export interface ActionSpec<
  I extends StandardSchema = AnySchema,
  O extends StandardSchema = AnySchema,
> {
  /** Schema of the input; validated before the handler runs. */
  input: I;
  /** Schema of the output; validated before it leaves the service. */
  output: O;
  /** What the action does, for generated documents. */
  description?: string;
  /**
   * Whether calling twice with the same input has the effect of calling once,
   * so a caller may retry it after an ambiguous failure. @default {false}
   */
  idempotent?: boolean;
  /** A REST route for the action, for public APIs. */
  http?: HttpRoute;
}

/** One event type a service emits or handles. */
export interface EventSpec<D extends StandardSchema = AnySchema> {
  /** Schema of the event's `data`. */
  data: D;
  /** What the event means. */
  description?: string;
}

/** The port a service listens on. */
export interface PortNeed {
  /** Environment variable that overrides the port. @default {"PORT"} */
  env?: string;
  /** Port to use when the variable is unset; `0` lets the host pick a free one. @default {0} */
  default?: number;
  /** Whether the port is reachable by users, not just by peers. @default {false} */
  public?: boolean;
}

/** What a service needs from the host that runs it. Least privilege is derived from this. */
export interface ServiceNeeds {
  /** The port it listens on. */
  port?: PortNeed;
  /** Whether it keeps data in a folder of its own (read and write granted there only). @default {false} */
  dataDir?: boolean;
  /** Environment variables it reads, beyond the `FLOTILLA_*` ones the kernel reads. */
  env?: readonly string[];
  /** Names of the services it calls. */
  peers?: readonly string[];
  /**
   * Whether it keeps event-sourced state in an event store
   * (`FLOTILLA_EVENTSTORE`: SQLite in its data folder, or PostgreSQL).
   * @default {false}
   */
  eventStore?: boolean;
}

/** A map of action names to their specs. */
export type ActionMap = Record<string, ActionSpec>;
/** A map of event types to their specs. */
export type EventMap = Record<string, EventSpec>;

/** A service contract. Create one with {@link defineContract}. */
export interface ServiceContract<A extends ActionMap = ActionMap> {
  /** Service name: lowercase letters, digits and dashes. */
  name: string;
  /** Semantic version of the contract. */
  version: string;
  /** What the service is for. */
  description?: string;
  /** Its actions. */
  actions: A;
  /** Events it emits and handles. */
  events?: { emits?: EventMap; handles?: EventMap };
  /** What it needs from its host. */
  needs?: ServiceNeeds;
}

/** The input a caller passes to action `K` (before schema defaults and transforms). */
export type ActionInput<
  C extends ServiceContract,
  K extends keyof C["actions"],
> = InferInput<
  C["actions"][K]["input"]
>;
/** The input a handler receives for action `K` (after validation). */
export type ParsedInput<
  C extends ServiceContract,
  K extends keyof C["actions"],
> = InferOutput<
  C["actions"][K]["input"]
>;
/** The output a caller receives from action `K`. */
export type ActionOutput<
  C extends ServiceContract,
  K extends keyof C["actions"],
> = InferOutput<
  C["actions"][K]["output"]
>;

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const ACTION_NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * Declares a service contract, checking it eagerly so mistakes surface at
 * import time rather than on the first request.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * export const greeter = defineContract({
 *   name: "greeter",
 *   version: "1.0.0",
 *   actions: {
 *     greet: { input: z.object({ name: z.string() }), output: z.object({ text: z.string() }) },
 *   },
 * });
 * ```
 *
 * @throws {RangeError} on an invalid name, action name, env var or duplicate route.
 */
export function defineContract<const A extends ActionMap>(
  contract: ServiceContract<A>,
): ServiceContract<A> {
  if (!NAME.test(contract.name)) {
    throw new RangeError(
      `Cannot define the service as 'name' must be lowercase letters, digits and dashes: current value is "${contract.name}"`,
    );
  }
  const routes = new Set<string>();
  for (const [action, spec] of Object.entries(contract.actions)) {
    if (!ACTION_NAME.test(action)) {
      throw new RangeError(
        `Cannot define action "${action}" of "${contract.name}" as its name is not an identifier`,
      );
    }
    if (spec.http) {
      if (!spec.http.path.startsWith("/")) {
        throw new RangeError(
          `Cannot define route of "${contract.name}.${action}" as its path must start with "/"`,
        );
      }
      const key = `${spec.http.method} ${spec.http.path.replace(/:[^/]+/g, ":")}`;
      if (routes.has(key)) {
        throw new RangeError(
          `Cannot define route of "${contract.name}.${action}" as "${key}" is already taken`,
        );
      }
      routes.add(key);
    }
  }
  for (const variable of contract.needs?.env ?? []) {
    if (!ENV_NAME.test(variable)) {
      throw new RangeError(
        `Cannot declare env var of "${contract.name}" as "${variable}" is not a valid name`,
      );
    }
  }
  for (const peer of contract.needs?.peers ?? []) {
    if (!NAME.test(peer) || peer === contract.name) {
      throw new RangeError(
        `Cannot declare peer of "${contract.name}" as "${peer}" is not another service's name`,
      );
    }
  }
  const port = contract.needs?.port?.default;
  if (
    port !== undefined &&
    !(Number.isInteger(port) && port >= 0 && port <= 65535)
  ) {
    throw new RangeError(
      `Cannot declare port of "${contract.name}" as it must be 0-65535: current value is ${port}`,
    );
  }
  return contract;
}

/** The environment variable that tells a service where peer `name` lives: `FLOTILLA_PEER_<NAME>_URL`. */
export function peerUrlVariable(name: string): string {
  return `FLOTILLA_PEER_${name.toUpperCase().replaceAll("-", "_")}_URL`;
}
