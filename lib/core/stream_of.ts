/**
 * The output schema of a streaming action.
 *
 * @module
 */

import { FlotillaError } from "./errors.ts";
import {
  type InferInput,
  type InferOutput,
  type StandardSchema,
  type StandardSchemaProps,
  toFieldIssues,
  validate,
} from "./schema.ts";

const STREAM = Symbol.for("flotilla.grpc.stream");

/** The output schema of a streaming action: an async iterable of items that each match `item`. */
export interface StreamSchema<S extends StandardSchema = StandardSchema>
  extends StandardSchema<AsyncIterable<InferInput<S>>, AsyncIterable<InferOutput<S>>> {
  /** The schema of each item. */
  readonly item: S;
}

/**
 * Declares an action's output as a stream of `item`s: its handler returns an
 * `AsyncIterable` (an `async function*`), which the gRPC transport serves as
 * a server-streaming method, each item validated against `item` as it
 * leaves. A typed client's call resolves to an `AsyncIterable` of the items,
 * validated as they arrive; stop iterating (`break`) to cancel the stream.
 *
 * The gRPC transport serves a streaming action as a server-streaming
 * method; the HTTP and NATS transports do not serve it.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { defineContract } from "./mod.ts";
 * const feed = defineContract({
 *   name: "clock",
 *   version: "1.0.0",
 *   actions: {
 *     ticks: { input: z.strictObject({ count: z.number().int() }), output: streamOf(z.object({ n: z.number() })) },
 *   },
 * });
 * ```
 */
export function streamOf<S extends StandardSchema>(item: S): StreamSchema<S> {
  const props: StandardSchemaProps<AsyncIterable<InferInput<S>>, AsyncIterable<InferOutput<S>>> = {
    version: 1,
    vendor: "flotilla",
    validate(value) {
      if (!isAsyncIterable(value)) {
        return { issues: [{ message: "expected a stream (an async iterable)" }] };
      }
      return { value: checkedItems(value, item) as AsyncIterable<InferOutput<S>> };
    },
  };
  return Object.freeze({ "~standard": props, item, [STREAM]: true });
}

/** The item schema of a {@link streamOf} schema, or `undefined` for any other schema. */
export function streamItemOf(schema: StandardSchema): StandardSchema | undefined {
  return (schema as { [STREAM]?: boolean })[STREAM] === true
    ? (schema as StreamSchema).item
    : undefined;
}

/** Whether `value` can be iterated with `for await`. */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";
}

async function* checkedItems(
  source: AsyncIterable<unknown>,
  item: StandardSchema,
): AsyncGenerator<unknown> {
  let index = 0;
  for await (const value of source) {
    let result = validate(item, value);
    if (result instanceof Promise) result = await result;
    if (result.issues) {
      throw new FlotillaError(
        "INVALID_STREAM_ITEM",
        `Item ${index} of the stream breaks its schema`,
        { kind: "INTERNAL", issues: toFieldIssues(result.issues) },
      );
    }
    index++;
    yield result.value;
  }
}
