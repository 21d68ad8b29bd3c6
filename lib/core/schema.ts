/**
 * Validation of values against a contract's zod schemas, with zod's issues
 * turned into {@link FieldIssue}s that name the offending field.
 *
 * @module
 */

import type { z } from "zod";
import { type FieldIssue, toPointer, ValidationError } from "./errors.ts";

/**
 * Parses `value` with `schema`, throwing a {@link ValidationError} that lists
 * every offending field.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * const n = parseInput(z.number().int(), 3); // 3
 * ```
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(toFieldIssues(result.error));
}

/** Converts a zod error into field issues with JSON Pointers. */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    pointer: toPointer(issue.path),
    message: issue.code === "unrecognized_keys"
      ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${
        issue.keys.map((k) => `"${k}"`).join(", ")
      }`
      : issue.message,
  }));
}
