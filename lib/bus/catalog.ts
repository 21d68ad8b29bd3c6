/**
 * The event catalog: which event types exist and the schema of each one's
 * `data`.
 *
 * @module
 */

import {
  type FieldIssue,
  fieldName,
  type SchemaResult,
  type StandardSchema,
  toFieldIssues,
  validate,
} from "@flotilla/core";
import type { CloudEvent } from "./cloud_event.ts";
import { cloudEventIssue } from "./is_cloud_event.ts";

/** Event types mapped to the Standard Schema of their `data`. */
export type EventSchemas = Readonly<Record<string, StandardSchema>>;

/**
 * The part of a service contract (`ServiceContract` of `@flotilla/core`)
 * that {@link EventCatalog.fromContract} reads.
 */
export interface ContractWithEvents {
  /** The events the contract emits and handles, each with the schema of its `data`. */
  readonly events?: {
    readonly emits?: Readonly<Record<string, { readonly data: StandardSchema }>>;
    readonly handles?: Readonly<Record<string, { readonly data: StandardSchema }>>;
  } | undefined;
}

/** Which events of a contract {@link EventCatalog.fromContract} takes. */
export type ContractEvents = "emits" | "handles" | "all";

/** Options of {@link EventCatalog.fromContract}. */
export interface FromContractOptions {
  /** The contract's emitted events, handled events, or both. @default {"all"} */
  include?: ContractEvents;
}

/** The verdict of {@link EventCatalog.check}, discriminated on `ok`. */
export type EventCheck =
  | {
    readonly ok: true;
    /** The event, its `data` replaced by the schema's output (defaults and transforms applied). */
    readonly event: CloudEvent;
  }
  | {
    readonly ok: false;
    /** Why, naming the field: `"event 0190… of type 'order.created' has invalid data: data.total: …"`. */
    readonly reason: string;
    /** The offending fields of `data`, as JSON Pointers from the event root (`/data/total`). */
    readonly issues: readonly FieldIssue[];
  };

/**
 * A map of event type → Standard Schema of its `data`, built by hand or
 * from a service contract's `events`. {@link validatedBus} checks events
 * against it on publish and on receipt.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { EventCatalog } from "@flotilla/bus";
 *
 * const catalog = new EventCatalog({
 *   "order.created": z.object({ orderId: z.string(), total: z.number().positive() }),
 * });
 * const check = await catalog.check(event);
 * if (!check.ok) console.log(check.reason);
 * ```
 */
export class EventCatalog {
  #schemas: Map<string, StandardSchema>;

  /**
   * Creates a catalog of `schemas`.
   *
   * @throws {RangeError} when a type is empty or a schema is not a Standard Schema.
   */
  constructor(schemas: EventSchemas | Iterable<readonly [string, StandardSchema]> = {}) {
    this.#schemas = new Map();
    const entries = Symbol.iterator in schemas
      ? schemas as Iterable<readonly [string, StandardSchema]>
      : Object.entries(schemas as EventSchemas);
    for (const [type, schema] of entries) this.#add(type, schema, "create the catalog");
  }

  /**
   * A catalog of the events a contract declares: what it emits (validated on
   * publish) and what it handles (validated on receipt). A type declared in
   * both must use the same schema object.
   *
   * @example
   * ```ts
   * import { EventCatalog } from "@flotilla/bus";
   * import { orderContract } from "./contract.ts";
   *
   * const catalog = EventCatalog.fromContract(orderContract);
   * ```
   *
   * @throws {RangeError} when a type is declared twice with different schemas.
   */
  static fromContract(
    contract: ContractWithEvents,
    options: FromContractOptions = {},
  ): EventCatalog {
    const include = options.include ?? "all";
    if (include !== "emits" && include !== "handles" && include !== "all") {
      throw new RangeError(
        `Cannot build the catalog as 'include' must be "emits", "handles" or "all": current value is ${
          JSON.stringify(include)
        }`,
      );
    }
    const catalog = new EventCatalog();
    const maps = [
      include === "handles" ? undefined : contract.events?.emits,
      include === "emits" ? undefined : contract.events?.handles,
    ];
    for (const map of maps) {
      for (const [type, spec] of Object.entries(map ?? {})) {
        catalog.#add(type, spec.data, "build the catalog");
      }
    }
    return catalog;
  }

  /** The event types, in the order they were added. */
  get types(): string[] {
    return [...this.#schemas.keys()];
  }

  /** Whether `type` is in the catalog. */
  has(type: string): boolean {
    return this.#schemas.has(type);
  }

  /** The schema of `type`'s data, if the type is in the catalog. */
  schema(type: string): StandardSchema | undefined {
    return this.#schemas.get(type);
  }

  /**
   * Checks `event`: a CloudEvents envelope (see `cloudEventIssue`), a type
   * in the catalog, and `data` valid against the type's schema. Never
   * throws for a bad event; a schema that throws is reported as an issue.
   */
  async check(event: unknown): Promise<EventCheck> {
    const prepared = this.#prepare(event);
    if ("check" in prepared) return prepared.check;
    try {
      return this.#finish(
        prepared.event,
        prepared.what,
        await validate(prepared.schema, prepared.event.data),
      );
    } catch (error) {
      return this.#failed(prepared.what, error);
    }
  }

  /**
   * {@link check} for synchronous schemas, for use inside a database
   * transaction (the outbox emitter), where nothing may be awaited.
   *
   * @throws {TypeError} when the type's schema validates asynchronously.
   */
  checkSync(event: unknown): EventCheck {
    const prepared = this.#prepare(event);
    if ("check" in prepared) return prepared.check;
    let result;
    try {
      result = validate(prepared.schema, prepared.event.data);
    } catch (error) {
      return this.#failed(prepared.what, error);
    }
    if (result instanceof Promise) {
      throw new TypeError(`Cannot check ${prepared.what} synchronously as its schema is async`);
    }
    return this.#finish(prepared.event, prepared.what, result);
  }

  #prepare(
    event: unknown,
  ): { check: EventCheck } | { event: CloudEvent; schema: StandardSchema; what: string } {
    const envelope = cloudEventIssue(event);
    if (envelope !== undefined) {
      return { check: { ok: false, reason: `not a CloudEvent: ${envelope}`, issues: [] } };
    }
    const valid = event as CloudEvent;
    const schema = this.#schemas.get(valid.type);
    const what = `event ${valid.id} of type '${valid.type}'`;
    if (schema === undefined) {
      return { check: { ok: false, reason: `${what} is not in the event catalog`, issues: [] } };
    }
    return { event: valid, schema, what };
  }

  #failed(what: string, error: unknown): EventCheck {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `${what} could not be validated: ${message}`, issues: [] };
  }

  #finish(valid: CloudEvent, what: string, result: SchemaResult<unknown>): EventCheck {
    if (result.issues) {
      const issues = toFieldIssues(result.issues).map((issue) => ({
        pointer: `/data${issue.pointer}`,
        message: issue.message,
      }));
      const fields = issues.map((issue) => `${fieldName(issue.pointer)}: ${issue.message}`);
      return {
        ok: false,
        reason: `${what} has invalid data: ${fields.join("; ") || "invalid"}`,
        issues,
      };
    }
    return {
      ok: true,
      event: result.value === valid.data ? valid : { ...valid, data: result.value },
    };
  }

  #add(type: string, schema: StandardSchema, action: string): void {
    if (typeof type !== "string" || type === "") {
      throw new RangeError(
        `Cannot ${action} as an event type must be a non-empty string: current value is ${
          JSON.stringify(type)
        }`,
      );
    }
    if (typeof schema?.["~standard"]?.validate !== "function") {
      throw new RangeError(
        `Cannot ${action} as the schema of '${type}' must be a Standard Schema: current value is ${typeof schema}`,
      );
    }
    const known = this.#schemas.get(type);
    if (known !== undefined && known !== schema) {
      throw new RangeError(
        `Cannot ${action} as '${type}' must have one schema: current value is two different schemas`,
      );
    }
    this.#schemas.set(type, schema);
  }
}
