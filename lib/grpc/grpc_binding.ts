/**
 * How a contract's actions map onto a gRPC service.
 *
 * @module
 */

import { NotFoundError, type ServiceContract, type StandardSchema } from "@flotilla/core";
import type { Method, Service } from "protobufjs";
import { decodeMessage, encodeMessage, type MessagePlan, planOf } from "./_codec.ts";
import { loadProtoSet, type ProtoSet } from "./_proto_set.ts";
import { isWrapped, jsonSchemaOf, shapeProblems } from "./_schema_shape.ts";
import { streamItemOf } from "@flotilla/core";

/** One action as a gRPC method. */
export interface GrpcMethod {
  /** The contract's action: `getProducts`. */
  readonly action: string;
  /** The method's name in its service: `GetProducts`. */
  readonly method: string;
  /** The HTTP/2 path of the method: `/flotilla.shop.v1.InventoryService/GetProducts`. */
  readonly path: string;
  /** Whether the method streams its response (the action's output is a {@link streamOf} schema). */
  readonly stream: boolean;
}

/** A contract bound to a gRPC service. Make one with {@link grpcBinding} or {@link jsonBinding}. */
export interface GrpcBinding<C extends ServiceContract = ServiceContract> {
  /** The contract. */
  readonly contract: C;
  /** The full name of the proto service: `flotilla.shop.v1.InventoryService`. */
  readonly service: string;
  /** The method of each action, by action name. */
  readonly methods: ReadonlyMap<string, GrpcMethod>;
}

/** Options of {@link grpcBinding}. */
export interface GrpcBindingOptions<C extends ServiceContract = ServiceContract> {
  /** The .proto file(s) that define the service: paths or `file:` URLs (read with `--allow-read`). */
  proto: string | URL | readonly (string | URL)[];
  /** Folders that imports are looked up in, after the importing file's own. @default {[]} */
  includeDirs?: readonly (string | URL)[];
  /** The full name of the proto service: `flotilla.shop.v1.InventoryService`. */
  service: string;
  /** The method of an action whose method is not the action's name in PascalCase (`getProducts` → `GetProducts`). */
  methods?: { readonly [K in keyof C["actions"] & string]?: string };
}

/** The codec of one action over its method. */
export interface ActionCodec {
  /** The method. */
  readonly method: GrpcMethod;
  /** Request bytes → the action's input. @throws {ValidationError} */
  decodeInput(bytes: Uint8Array): { action: string; input: unknown };
  /** The action's input → request bytes. @throws {EncodeError} */
  encodeInput(input: unknown): Uint8Array;
  /** The action's output (or one stream item) → response bytes. @throws {EncodeError} */
  encodeOutput(output: unknown): Uint8Array;
  /** Response bytes → the action's output (or one stream item). @throws {ValidationError} */
  decodeOutput(bytes: Uint8Array): unknown;
}

/** What the transport and the caller need of a binding. */
export interface BindingInternals {
  /** The parsed .proto files, for reflection. */
  readonly protos: ProtoSet;
  /** The codec of each action. */
  readonly codecs: ReadonlyMap<string, ActionCodec>;
}

/** The full name of the JSON fallback service. */
export const JSON_SERVICE = "flotilla.json.v1.Json";

const internals = new WeakMap<GrpcBinding, BindingInternals>();

/** The codecs and protos behind a binding made by this module. */
export function bindingInternals(binding: GrpcBinding): BindingInternals {
  const found = internals.get(binding);
  if (!found) throw new TypeError("Cannot use the binding as grpcBinding() did not make it");
  return found;
}

/**
 * Binds `contract` to the gRPC service `options.service` of a runtime-loaded
 * .proto: each action to the method named after it in PascalCase (or
 * `options.methods`), its input to the method's request message and its
 * output to the response message (a {@link streamOf} output to a
 * `returns (stream …)` method). Field names map to their JSON names
 * (`order_id` ↔ `orderId`), enum values to their names without the enum's
 * prefix (`ORDER_STATUS_CONFIRMED` ↔ `"CONFIRMED"`); an input or output that
 * is not an object (a list, a string…) is the only field of its message.
 *
 * The contract's schemas are compared with the messages now, so a property
 * without a field, a field of another kind or a missing enum value fails
 * here, naming it. Declare request fields `optional` so that a missing one
 * reaches the contract's validation as missing rather than as `""` or `0`.
 *
 * @example
 * ```ts
 * const binding = grpcBinding(inventoryContract, {
 *   proto: new URL("./shop.proto", import.meta.url),
 *   service: "flotilla.shop.v1.InventoryService",
 * });
 * ```
 *
 * @throws {RangeError} when a file cannot be read or parsed, the service or
 * a method is missing, or a message does not fit its schema.
 */
export function grpcBinding<C extends ServiceContract>(
  contract: C,
  options: GrpcBindingOptions<C>,
): GrpcBinding<C> {
  const paths = typeof options.proto === "string" || options.proto instanceof URL
    ? [options.proto]
    : [...options.proto];
  const protos = loadProtoSet(paths, options.includeDirs ?? []);
  const name = options.service.replace(/^\./, "");
  let service: Service;
  try {
    service = protos.root.lookupService(name);
  } catch {
    throw new RangeError(
      `Cannot bind "${contract.name}" as the .proto files define no service "${name}"`,
    );
  }
  const problems: string[] = [];
  const methods = new Map<string, GrpcMethod>();
  const codecs = new Map<string, ActionCodec>();
  const overrides = (options.methods ?? {}) as Record<string, string | undefined>;
  for (const action of Object.keys(overrides)) {
    if (!Object.hasOwn(contract.actions, action)) {
      problems.push(`'methods' names "${action}", which is not an action of the contract`);
    }
  }
  for (const [action, spec] of Object.entries(contract.actions)) {
    const methodName = overrides[action] ?? pascal(action);
    const method: Method | undefined = service.methods[methodName];
    if (!method) {
      problems.push(`action "${action}" has no method "${methodName}" in ${name}`);
      continue;
    }
    method.resolve();
    const item = streamItemOf(spec.output);
    if (method.requestStream) {
      problems.push(`${name}.${methodName} streams its request, which actions cannot take`);
      continue;
    }
    if (Boolean(method.responseStream) !== (item !== undefined)) {
      problems.push(
        item
          ? `action "${action}" streams its output but ${name}.${methodName} does not`
          : `${name}.${methodName} streams its response but action "${action}" has no streamOf() output`,
      );
      continue;
    }
    const gm: GrpcMethod = {
      action,
      method: methodName,
      path: `/${name}/${methodName}`,
      stream: item !== undefined,
    };
    const request = planOf(method.resolvedRequestType!);
    const response = planOf(method.resolvedResponseType!);
    const inputWrap = wrapField(spec.input, "input", request, `${action} input`, problems);
    const outputWrap = wrapField(
      item ?? spec.output,
      "output",
      response,
      `${action} output`,
      problems,
    );
    methods.set(action, gm);
    codecs.set(action, protoCodec(gm, request, response, inputWrap, outputWrap));
  }
  if (problems.length > 0) {
    throw new RangeError(
      `Cannot bind "${contract.name}" to ${name} as ${problems.join("; ")}`,
    );
  }
  const binding: GrpcBinding<C> = { contract, service: name, methods };
  internals.set(binding, { protos, codecs });
  return binding;
}

/**
 * Binds `contract` to the JSON fallback service `flotilla.json.v1.Json`,
 * which every gRPC transport serves: `Call` (and `Stream` for
 * {@link streamOf} outputs) take a `JsonCall { service, action, input }`
 * whose input, like the answer, is a `google.protobuf.Value` — any JSON. For
 * contracts that have no .proto; the contract's schemas do all validation.
 * A caller needs this binding only for streaming actions: it reaches any
 * service without a binding over `Call`.
 *
 * @example
 * ```ts
 * const caller = grpcCaller({ bindings: [jsonBinding(clockContract)] });
 * ```
 */
export function jsonBinding<C extends ServiceContract>(contract: C): GrpcBinding<C> {
  const methods = new Map<string, GrpcMethod>();
  const codecs = new Map<string, ActionCodec>();
  for (const [action, spec] of Object.entries(contract.actions)) {
    const stream = streamItemOf(spec.output) !== undefined;
    const method: GrpcMethod = {
      action,
      method: stream ? "Stream" : "Call",
      path: `/${JSON_SERVICE}/${stream ? "Stream" : "Call"}`,
      stream,
    };
    methods.set(action, method);
    codecs.set(action, jsonCodec(contract.name, action, method));
  }
  const binding: GrpcBinding<C> = { contract, service: JSON_SERVICE, methods };
  internals.set(binding, { protos: defaultProtoSet(), codecs });
  return binding;
}

let defaults: ProtoSet | undefined;

/** The embedded services alone: health, reflection and the JSON fallback. */
export function defaultProtoSet(): ProtoSet {
  return defaults ??= loadProtoSet([]);
}

/** The codec of `service.action` over the JSON fallback's `Call` or `Stream`. */
export function jsonCodec(service: string, action: string, method?: GrpcMethod): ActionCodec {
  const root = defaultProtoSet().root;
  const call = planOf(root.lookupType("flotilla.json.v1.JsonCall"));
  const value = planOf(root.lookupType("google.protobuf.Value"));
  return {
    method: method ?? { action, method: "Call", path: `/${JSON_SERVICE}/Call`, stream: false },
    decodeInput(bytes) {
      const decoded = decodeMessage(call, bytes) as {
        service: string;
        action: string;
        input?: unknown;
      };
      if (decoded.service !== "" && decoded.service !== service) {
        throw new NotFoundError(
          "UNKNOWN_SERVICE",
          `This server hosts "${service}", not "${decoded.service}"`,
        );
      }
      return { action: decoded.action, input: decoded.input ?? {} };
    },
    encodeInput: (input) => encodeMessage(call, { service, action, input: input ?? {} }),
    encodeOutput: (output) => encodeMessage(value, output ?? null),
    decodeOutput: (bytes) => decodeMessage(value, bytes),
  };
}

function protoCodec(
  method: GrpcMethod,
  request: MessagePlan,
  response: MessagePlan,
  inputWrap: string | undefined,
  outputWrap: string | undefined,
): ActionCodec {
  const action = method.action;
  return {
    method,
    decodeInput(bytes) {
      const decoded = decodeMessage(request, bytes) as Record<string, unknown>;
      return { action, input: inputWrap === undefined ? decoded : decoded[inputWrap] };
    },
    encodeInput: (input) =>
      encodeMessage(request, inputWrap === undefined ? input : { [inputWrap]: input }),
    encodeOutput: (output) =>
      encodeMessage(response, outputWrap === undefined ? output : { [outputWrap]: output }),
    decodeOutput(bytes) {
      const decoded = decodeMessage(response, bytes) as Record<string, unknown>;
      return outputWrap === undefined ? decoded : decoded[outputWrap];
    },
  };
}

/**
 * The key of the one field that carries a value that is not an object, or
 * `undefined` when the schema's values are objects; records what does not fit.
 */
function wrapField(
  schema: StandardSchema,
  io: "input" | "output",
  plan: MessagePlan,
  where: string,
  problems: string[],
): string | undefined {
  const json = jsonSchemaOf(schema, io);
  if (!isWrapped(json)) {
    if (json) problems.push(...shapeProblems(json, plan, where, io === "input"));
    return undefined;
  }
  if (plan.fields.length !== 1) {
    problems.push(
      `${where} is not an object, so ${plan.fullName} must have exactly one field to carry it`,
    );
    return undefined;
  }
  const field = plan.fields[0]!;
  const wrapper = { type: "object", properties: { [field.key]: json } };
  problems.push(...shapeProblems(wrapper, plan, where, false));
  return field.key;
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
