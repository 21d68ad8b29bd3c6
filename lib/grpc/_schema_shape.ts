/**
 * Compares a contract's schemas with the proto messages they are bound to,
 * once, when a binding is made: a property with no field, a field of the
 * wrong kind or an enum value the .proto lacks is reported then, naming it,
 * rather than on the first call. Uses the schema's Standard JSON Schema
 * (`~standard.jsonSchema`, which zod 4 provides); schemas without one are
 * not checked.
 *
 * @module
 */

import type { StandardSchema } from "@flotilla/core";
import type { FieldPlan, MessagePlan } from "./_codec.ts";

/** A JSON Schema document, loosely typed. */
export type JsonSchema = Record<string, unknown>;

/** The JSON Schema of a schema's input or output, when the schema can tell. */
export function jsonSchemaOf(
  schema: StandardSchema,
  io: "input" | "output",
): JsonSchema | undefined {
  const standard = schema["~standard"] as {
    jsonSchema?: Partial<Record<"input" | "output", (options: { target: string }) => JsonSchema>>;
  };
  try {
    return standard.jsonSchema?.[io]?.({ target: "draft-2020-12" });
  } catch {
    return undefined;
  }
}

/**
 * Whether values of `schema` are not objects (lists, strings, numbers…), so
 * they travel as the only field of their message.
 */
export function isWrapped(schema: JsonSchema | undefined): boolean {
  if (!schema) return false;
  const types = typesOf(schema);
  return types.length > 0 && !types.includes("object");
}

/**
 * Lists what does not fit between `schema` and the message of `plan`.
 * `strictInput`: the values are decoded into a contract input, so fields the
 * message always carries (those without presence) must be known properties
 * when the schema forbids unknown ones.
 */
export function shapeProblems(
  schema: JsonSchema,
  plan: MessagePlan,
  where: string,
  strictInput: boolean,
): string[] {
  const problems: string[] = [];
  checkMessage(schema, plan, where, problems, schema, strictInput, 0);
  return problems;
}

function checkMessage(
  schema: JsonSchema,
  plan: MessagePlan,
  where: string,
  problems: string[],
  root: JsonSchema,
  strictInput: boolean,
  depth: number,
): void {
  if (depth > 32) return;
  const resolved = deref(schema, root);
  for (const branch of branchesOf(resolved)) {
    checkMessage(branch, plan, where, problems, root, strictInput, depth + 1);
  }
  if (plan.wellKnown) return;
  const properties = resolved.properties as Record<string, JsonSchema> | undefined;
  if (!properties) return;
  for (const [name, property] of Object.entries(properties)) {
    const field = plan.byKey.get(name);
    if (!field) {
      problems.push(`${where}.${name} has no field "${name}" in ${plan.fullName}`);
      continue;
    }
    checkField(property, field, `${where}.${name}`, problems, root, strictInput, depth + 1);
  }
  if (strictInput && resolved.additionalProperties === false) {
    for (const field of plan.fields) {
      if (!field.presence && !(field.key in properties)) {
        problems.push(
          `${plan.fullName}.${field.name} is always present on the wire but ${where} has no property "${field.key}"`,
        );
      }
    }
  }
}

function checkField(
  schema: JsonSchema,
  field: FieldPlan,
  where: string,
  problems: string[],
  root: JsonSchema,
  strictInput: boolean,
  depth: number,
): void {
  const resolved = deref(schema, root);
  const branches = branchesOf(resolved).filter((branch) => !isNullOnly(branch));
  if (branches.length > 0) {
    for (const branch of branches) {
      checkField(branch, field, where, problems, root, strictInput, depth + 1);
    }
    return;
  }
  const types = typesOf(resolved).filter((type) => type !== "null");
  if (field.map) {
    if (types.length > 0 && !types.includes("object")) {
      problems.push(`${where} is ${types.join(" or ")} but ${field.name} is a map`);
      return;
    }
    const values = resolved.additionalProperties;
    if (typeof values === "object" && values !== null) {
      checkOne(values as JsonSchema, field, `${where}.*`, problems, root, strictInput, depth + 1);
    }
    return;
  }
  if (field.repeated) {
    if (types.length > 0 && !types.includes("array")) {
      problems.push(`${where} is ${types.join(" or ")} but ${field.name} is repeated`);
      return;
    }
    const items = resolved.items;
    if (typeof items === "object" && items !== null && !Array.isArray(items)) {
      checkOne(items as JsonSchema, field, `${where}[]`, problems, root, strictInput, depth + 1);
    }
    return;
  }
  checkOne(resolved, field, where, problems, root, strictInput, depth);
}

function checkOne(
  schema: JsonSchema,
  field: FieldPlan,
  where: string,
  problems: string[],
  root: JsonSchema,
  strictInput: boolean,
  depth: number,
): void {
  const resolved = deref(schema, root);
  const branches = branchesOf(resolved).filter((branch) => !isNullOnly(branch));
  if (branches.length > 0) {
    for (const branch of branches) {
      checkOne(branch, field, where, problems, root, strictInput, depth + 1);
    }
    return;
  }
  const types = typesOf(resolved).filter((type) => type !== "null");
  const expect = (allowed: readonly string[], what: string) => {
    if (types.length > 0 && !types.some((type) => allowed.includes(type))) {
      problems.push(`${where} is ${types.join(" or ")} but ${field.name} is ${what}`);
      return false;
    }
    return true;
  };
  switch (field.kind) {
    case "message": {
      const message = field.message();
      switch (message.wellKnown) {
        case "value":
          return;
        case "struct":
        case "empty":
          expect(["object"], `a ${message.fullName}`);
          return;
        case "list":
          expect(["array"], `a ${message.fullName}`);
          return;
        case "timestamp":
          expect(["string"], "a google.protobuf.Timestamp (an RFC 3339 string)");
          return;
        case "wrapper":
          expect(["string", "number", "integer", "boolean"], `a ${message.fullName}`);
          return;
      }
      if (expect(["object"], `a ${message.fullName} message`)) {
        checkMessage(resolved, message, where, problems, root, strictInput, depth + 1);
      }
      return;
    }
    case "enum": {
      if (!expect(["string", "integer"], `the enum ${field.enumPlan!.fullName}`)) return;
      const values = [
        ...(Array.isArray(resolved.enum) ? resolved.enum : []),
        ...("const" in resolved ? [resolved.const] : []),
      ];
      for (const value of values) {
        if (typeof value === "string" && !field.enumPlan!.byName.has(value)) {
          problems.push(
            `${where} may be "${value}", which the enum ${field.enumPlan!.fullName} lacks`,
          );
        }
      }
      return;
    }
    case "string":
      expect(["string"], "a string");
      return;
    case "bytes":
      return;
    case "bool":
      expect(["boolean"], "a bool");
      return;
    case "double":
    case "float":
      expect(["number", "integer"], `a ${field.kind}`);
      return;
    default:
      if (types.includes("number") && !types.includes("integer")) {
        problems.push(`${where} is any number but ${field.name} is an integer (${field.kind})`);
        return;
      }
      expect(["integer"], `an integer (${field.kind})`);
  }
}

function typesOf(schema: JsonSchema): string[] {
  const type = schema.type;
  if (typeof type === "string") return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === "string");
  return [];
}

function branchesOf(schema: JsonSchema): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const list = schema[key];
    if (Array.isArray(list)) out.push(...list.filter(isObject));
  }
  return out;
}

function isNullOnly(schema: JsonSchema): boolean {
  const types = typesOf(schema);
  return types.length === 1 && types[0] === "null";
}

function deref(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let current = schema;
  for (let hops = 0; hops < 8 && typeof current.$ref === "string"; hops++) {
    const ref = current.$ref as string;
    if (!ref.startsWith("#/")) return current;
    let target: unknown = root;
    for (const part of ref.slice(2).split("/")) {
      target = isObject(target)
        ? target[part.replaceAll("~1", "/").replaceAll("~0", "~")]
        : undefined;
    }
    if (!isObject(target)) return current;
    current = target;
  }
  return current;
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
