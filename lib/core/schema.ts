/**
 * Schemas in contracts are any [Standard Schema](https://standardschema.dev)
 * v1 — zod 4 (what the shop uses), valibot, arktype… — so the kernel knows
 * no schema library. Validation failures become {@link FieldIssue}s whose
 * JSON Pointers name the offending fields.
 *
 * @module
 */

import { type FieldIssue, toPointer, ValidationError } from "./errors.ts";

/** A Standard Schema v1: what zod, valibot and arktype schemas all implement. */
export interface StandardSchema<Input = unknown, Output = Input> {
  /** The standard interface. */
  readonly "~standard": StandardSchemaProps<Input, Output>;
}

/** The properties of a {@link StandardSchema}. */
export interface StandardSchemaProps<Input = unknown, Output = Input> {
  /** Version of the standard. */
  readonly version: 1;
  /** The schema library. */
  readonly vendor: string;
  /** Validates a value. */
  readonly validate: (value: unknown) => SchemaResult<Output> | Promise<SchemaResult<Output>>;
  /** Type carriers, for inference only. */
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

/** The result of a validation. */
export type SchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<SchemaIssue> };

/** One problem a schema found. */
export interface SchemaIssue {
  /** What is wrong. */
  readonly message: string;
  /** Where: keys and indexes from the root. */
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The input type of a schema. */
export type InferInput<S extends StandardSchema> = NonNullable<S["~standard"]["types"]>["input"];
/** The output type of a schema. */
export type InferOutput<S extends StandardSchema> = NonNullable<S["~standard"]["types"]>["output"];

/**
 * Validates `value` with `schema`, resolving to the parsed output or
 * throwing a {@link ValidationError} that lists every offending field.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * const n = await parseInput(z.number().int(), 3); // 3
 * ```
 */
export async function parseInput<S extends StandardSchema>(
  schema: S,
  value: unknown,
): Promise<InferOutput<S>> {
  const result = await validate(schema, value);
  if (result.issues) throw new ValidationError(toFieldIssues(result.issues));
  return result.value;
}

/** Validates `value`, returning the standard result (a promise only for async schemas). */
export function validate<S extends StandardSchema>(
  schema: S,
  value: unknown,
): SchemaResult<InferOutput<S>> | Promise<SchemaResult<InferOutput<S>>> {
  return schema["~standard"].validate(value) as SchemaResult<InferOutput<S>>;
}

/** Converts schema issues into field issues with JSON Pointers. */
export function toFieldIssues(issues: ReadonlyArray<SchemaIssue>): FieldIssue[] {
  return issues.map((issue) => ({
    pointer: toPointer(
      (issue.path ?? []).map((part) => typeof part === "object" ? part.key : part),
    ),
    message: humanize(issue),
  }));
}

function humanize(issue: SchemaIssue): string {
  // zod names unknown keys "Unrecognized key"; say it the way an API user reads it.
  const keys = (issue as { code?: unknown; keys?: unknown }).keys;
  if ((issue as { code?: unknown }).code === "unrecognized_keys" && Array.isArray(keys)) {
    return `unknown field${keys.length > 1 ? "s" : ""} ${
      keys.map((k) => `"${String(k)}"`).join(", ")
    }`;
  }
  return issue.message;
}
