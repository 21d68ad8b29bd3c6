/**
 * Protobuf messages ↔ the plain JSON-like values contracts validate.
 *
 * One pass over the wire bytes per message, driven by a plan built once per
 * message type from the parsed .proto: field names become their JSON names
 * (`order_id` → `orderId`), enums their value names without the enum's
 * prefix (`ORDER_STATUS_CONFIRMED` → `CONFIRMED`; a zero `…_UNSPECIFIED`
 * value reads as absent), 64-bit integers numbers, and the well-known types
 * their JSON form (`Struct` an object, `Value` any JSON value, `ListValue`
 * an array, `Timestamp` an RFC 3339 string, wrappers their value).
 *
 * Presence follows the .proto: a field with presence (`optional`, a message,
 * a oneof member) is left out when it is not on the wire, so a contract sees
 * a missing field as missing; a proto3 scalar without presence reads as its
 * default. A field sent with the wrong wire type (a string where the .proto
 * says an integer) is reported as a field issue naming it, not silently
 * misread.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import protobuf from "protobufjs";
import type { Enum, Field, MapField, Reader, Type, Writer } from "protobufjs";
import { type FieldIssue, ValidationError } from "@flotilla/core";

type ScalarKind =
  | "double"
  | "float"
  | "int32"
  | "uint32"
  | "sint32"
  | "fixed32"
  | "sfixed32"
  | "int64"
  | "uint64"
  | "sint64"
  | "fixed64"
  | "sfixed64"
  | "bool"
  | "string"
  | "bytes"
  | "enum";

type Kind = ScalarKind | "message";

/** A well-known type with a JSON form of its own. */
export type WellKnown = "struct" | "value" | "list" | "timestamp" | "empty" | "wrapper";

const WIRE: Readonly<Record<Kind, number>> = {
  double: 1,
  float: 5,
  int32: 0,
  uint32: 0,
  sint32: 0,
  fixed32: 5,
  sfixed32: 5,
  int64: 0,
  uint64: 0,
  sint64: 0,
  fixed64: 1,
  sfixed64: 1,
  bool: 0,
  string: 2,
  bytes: 2,
  enum: 0,
  message: 2,
};

const WIRE_NAMES = [
  "a varint",
  "a 64-bit value",
  "a length-delimited value",
  "a group",
  "a group end",
  "a 32-bit value",
];

const WELL_KNOWN: Readonly<Record<string, WellKnown>> = {
  ".google.protobuf.Struct": "struct",
  ".google.protobuf.Value": "value",
  ".google.protobuf.ListValue": "list",
  ".google.protobuf.Timestamp": "timestamp",
  ".google.protobuf.Empty": "empty",
  ".google.protobuf.DoubleValue": "wrapper",
  ".google.protobuf.FloatValue": "wrapper",
  ".google.protobuf.Int64Value": "wrapper",
  ".google.protobuf.UInt64Value": "wrapper",
  ".google.protobuf.Int32Value": "wrapper",
  ".google.protobuf.UInt32Value": "wrapper",
  ".google.protobuf.BoolValue": "wrapper",
  ".google.protobuf.StringValue": "wrapper",
  ".google.protobuf.BytesValue": "wrapper",
};

/** How one enum's values read and write. */
export interface EnumPlan {
  /** The enum's full name, without the leading dot. */
  readonly fullName: string;
  /** The value's name as contracts see it, by number; `undefined` for an unspecified zero. */
  readonly byNumber: ReadonlyMap<number, string | undefined>;
  /** The number of each accepted name, stripped and full. */
  readonly byName: ReadonlyMap<string, number>;
  /** The names contracts see, in declaration order. */
  readonly names: readonly string[];
}

/** How one field reads and writes. */
export interface FieldPlan {
  /** Field number. */
  readonly id: number;
  /** Name in the .proto. */
  readonly name: string;
  /** Key in the plain value: the field's JSON name. */
  readonly key: string;
  /** The key as a JSON Pointer segment. */
  readonly pointerKey: string;
  /** Its type, or the map value's type. */
  readonly kind: Kind;
  /** Its tag for a single (unpacked) element. */
  readonly tag: number;
  /** Wire type of a single element. */
  readonly wire: number;
  /** `repeated`. */
  readonly repeated: boolean;
  /** Whether repeated numbers are written packed. */
  readonly packed: boolean;
  /** A `map<…>`. */
  readonly map: boolean;
  /** The key type of a map. */
  readonly keyKind: ScalarKind | undefined;
  /** Whether absence is distinct from the default value. */
  readonly presence: boolean;
  /** Keys of the other members of its oneof. */
  readonly siblings: readonly string[];
  /** Its enum, for enum fields. */
  readonly enumPlan: EnumPlan | undefined;
  /** Its message, for message fields (built on first use: types can be recursive). */
  message(): MessagePlan;
  /** Name of its type, for messages. */
  readonly typeName: string;
}

/** How one message type reads and writes. */
export interface MessagePlan {
  /** The message's full name, without the leading dot. */
  readonly fullName: string;
  /** Its fields in declaration order. */
  readonly fields: readonly FieldPlan[];
  /** Its fields by number. */
  readonly byId: ReadonlyMap<number, FieldPlan>;
  /** Its fields by JSON name. */
  readonly byKey: ReadonlyMap<string, FieldPlan>;
  /** The JSON form it has, for well-known types. */
  readonly wellKnown: WellKnown | undefined;
  /** A fresh value with the defaults of fields without presence, empty lists and maps. */
  init(): Record<string, unknown>;
}

/** A value that does not fit the message it is encoded as. */
export class EncodeError extends Error {
  /** JSON Pointer to the value. */
  readonly pointer: string;
  /** What is wrong with it. */
  readonly detail: string;

  /** Creates the error for the value at `pointer`. */
  constructor(pointer: string, detail: string) {
    super(`${pointer || "(message)"}: ${detail}`);
    this.name = "EncodeError";
    this.pointer = pointer;
    this.detail = detail;
  }
}

const plans = new WeakMap<Type, MessagePlan>();
const enumPlans = new WeakMap<Enum, EnumPlan>();

/** The plan of a message type, built once per type. */
export function planOf(type: Type): MessagePlan {
  let plan = plans.get(type);
  if (plan) return plan;
  const fields: FieldPlan[] = [];
  const byId = new Map<number, FieldPlan>();
  const byKey = new Map<string, FieldPlan>();
  plan = {
    fullName: type.fullName.replace(/^\./, ""),
    fields,
    byId,
    byKey,
    wellKnown: WELL_KNOWN[type.fullName],
    init: () => ({}),
  };
  plans.set(type, plan);
  for (const field of type.fieldsArray) {
    field.resolve();
    const fieldPlan = planField(field);
    fields.push(fieldPlan);
    byId.set(fieldPlan.id, fieldPlan);
    byKey.set(fieldPlan.key, fieldPlan);
  }
  (plan as { init: () => Record<string, unknown> }).init = initializer(fields);
  return plan;
}

function planField(field: Field): FieldPlan {
  const map = field.map;
  const resolved = field.resolvedType;
  const isEnum = resolved instanceof protobuf.Enum;
  const isMessage = resolved instanceof protobuf.Type;
  const kind: Kind = isEnum ? "enum" : isMessage ? "message" : field.type as ScalarKind;
  if (!(kind in WIRE)) {
    throw new RangeError(
      `Cannot use field "${field.fullName}" as its type "${field.type}" is not supported`,
    );
  }
  const oneof = field.partOf;
  const synthetic = field.options?.proto3_optional === true;
  const explicit =
    (field as unknown as { _features?: { field_presence?: string } })._features?.field_presence ===
      "EXPLICIT";
  const presence = !field.repeated && !map &&
    (oneof != null || synthetic || isMessage || explicit);
  const siblings = oneof && !synthetic
    ? oneof.fieldsArray.filter((f) => f !== field).map((f) => jsonName(f.name))
    : [];
  const repeated = field.repeated && !map;
  const packable = repeated && kind !== "string" && kind !== "bytes" && kind !== "message";
  let message: MessagePlan | undefined;
  return {
    id: field.id,
    name: field.name,
    key: jsonName(field.name),
    pointerKey: escapeKey(jsonName(field.name)),
    kind,
    tag: (field.id << 3 | WIRE[kind]) >>> 0,
    wire: WIRE[kind],
    repeated,
    packed: packable && field.packed,
    map,
    keyKind: map ? (field as unknown as MapField).keyType as ScalarKind : undefined,
    presence,
    siblings,
    enumPlan: isEnum ? enumPlanOf(resolved as Enum) : undefined,
    message: () => {
      if (!isMessage) throw new TypeError(`Field "${field.fullName}" is not a message`);
      return message ??= planOf(resolved as Type);
    },
    typeName: resolved ? resolved.fullName.replace(/^\./, "") : field.type,
  };
}

function initializer(fields: readonly FieldPlan[]): () => Record<string, unknown> {
  const scalars: Array<[string, unknown]> = [];
  const lists: string[] = [];
  const maps: string[] = [];
  for (const field of fields) {
    if (field.map) maps.push(field.key);
    else if (field.repeated) lists.push(field.key);
    else if (!field.presence) {
      const value = defaultOf(field);
      if (value !== undefined) scalars.push([field.key, value]);
    }
  }
  return () => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of scalars) {
      out[key] = value instanceof Uint8Array ? new Uint8Array(0) : value;
    }
    for (const key of lists) out[key] = [];
    for (const key of maps) out[key] = {};
    return out;
  };
}

function defaultOf(field: FieldPlan): unknown {
  switch (field.kind) {
    case "bool":
      return false;
    case "string":
      return "";
    case "bytes":
      return new Uint8Array(0);
    case "enum":
      return field.enumPlan!.byNumber.get(0);
    case "message":
      return undefined;
    default:
      return 0;
  }
}

/** The plan of an enum: names without the enum's `UPPER_SNAKE_` prefix; an `…UNSPECIFIED` zero reads as absent. */
export function enumPlanOf(type: Enum): EnumPlan {
  let plan = enumPlans.get(type);
  if (plan) return plan;
  const prefix = upperSnake(type.name) + "_";
  const byNumber = new Map<number, string | undefined>();
  const byName = new Map<string, number>();
  const names: string[] = [];
  for (const [name, number] of Object.entries(type.values)) {
    const short = name.startsWith(prefix) && name.length > prefix.length
      ? name.slice(prefix.length)
      : name;
    byName.set(name, number);
    byName.set(short, number);
    if (number === 0 && /(^|_)UNSPECIFIED$/.test(short)) {
      if (!byNumber.has(0)) byNumber.set(0, undefined);
      continue;
    }
    if (!byNumber.has(number)) byNumber.set(number, short);
    names.push(short);
  }
  plan = { fullName: type.fullName.replace(/^\./, ""), byNumber, byName, names };
  enumPlans.set(type, plan);
  return plan;
}

/** `order_id` → `orderId`: protoc's default JSON name of a field. */
export function jsonName(name: string): string {
  let out = "";
  let upper = false;
  for (const char of name) {
    if (char === "_") upper = true;
    else if (upper) {
      out += char.toUpperCase();
      upper = false;
    } else out += char;
  }
  return out;
}

/** `OrderStatus` → `ORDER_STATUS`. */
export function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes a message into its plain value.
 *
 * @throws {ValidationError} `INVALID_ARGUMENT` naming each field sent with
 * the wrong wire type, or `MALFORMED_MESSAGE` for bytes that are not a
 * message at all.
 */
export function decodeMessage(plan: MessagePlan, bytes: Uint8Array): unknown {
  const reader = protobuf.Reader.create(bytes);
  const issues: FieldIssue[] = [];
  let value: unknown;
  try {
    value = readMessage(reader, reader.len, plan, "", issues);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError([{
      pointer: "",
      message: `the message is not a valid ${plan.fullName} (${
        error instanceof Error ? error.message : String(error)
      })`,
    }], { code: "MALFORMED_MESSAGE", cause: error });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return value;
}

function readMessage(
  reader: Reader,
  end: number,
  plan: MessagePlan,
  path: string,
  issues: FieldIssue[],
): unknown {
  const out = plan.init();
  while (reader.pos < end) {
    const tag = reader.uint32();
    const wire = tag & 7;
    const field = plan.byId.get(tag >>> 3);
    if (field === undefined) {
      reader.skipType(wire);
      continue;
    }
    if (field.map) {
      if (wire !== 2) {
        mismatch(issues, path, field, wire);
        reader.skipType(wire);
        continue;
      }
      readMapEntry(
        reader,
        field,
        out[field.key] as Record<string, unknown>,
        segment(path, plan, field),
        issues,
      );
      continue;
    }
    if (field.repeated) {
      const list = out[field.key] as unknown[];
      if (
        wire === 2 && field.kind !== "string" && field.kind !== "bytes" && field.kind !== "message"
      ) {
        const packedEnd = lengthEnd(reader);
        while (reader.pos < packedEnd) list.push(readScalar(reader, field, true));
        if (reader.pos !== packedEnd) throw new RangeError("packed field overruns its length");
        continue;
      }
      if (wire !== field.wire) {
        mismatch(issues, path, field, wire);
        reader.skipType(wire);
        continue;
      }
      list.push(
        field.kind === "message"
          ? readValue(reader, field, `${segment(path, plan, field)}/${list.length}`, issues)
          : readScalar(reader, field, true),
      );
      continue;
    }
    if (wire !== field.wire) {
      mismatch(issues, path, field, wire);
      reader.skipType(wire);
      continue;
    }
    const value = field.kind === "message"
      ? readValue(reader, field, segment(path, plan, field), issues)
      : readScalar(reader, field, false);
    for (const sibling of field.siblings) delete out[sibling];
    if (value === undefined) delete out[field.key];
    else out[field.key] = value;
  }
  if (reader.pos !== end) throw new RangeError(`${plan.fullName} overruns its length`);
  return plan.wellKnown ? fromWellKnown(plan.wellKnown, out) : out;
}

function readValue(reader: Reader, field: FieldPlan, path: string, issues: FieldIssue[]): unknown {
  if (field.kind === "message") {
    const end = lengthEnd(reader);
    return readMessage(reader, end, field.message(), path, issues);
  }
  return readScalar(reader, field, field.repeated);
}

function readMapEntry(
  reader: Reader,
  field: FieldPlan,
  target: Record<string, unknown>,
  path: string,
  issues: FieldIssue[],
): void {
  const end = lengthEnd(reader);
  let key: unknown = field.keyKind === "string" ? "" : field.keyKind === "bool" ? false : 0;
  let value: unknown = undefined;
  let valueSeen = false;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const wire = tag & 7;
    const id = tag >>> 3;
    if (id === 1 && wire === WIRE[field.keyKind!]) {
      key = readScalarKind(reader, field.keyKind!, undefined, false);
    } else if (id === 2 && wire === field.wire) {
      value = readValue(
        reader,
        field,
        `${path}/${field.pointerKey}/${escapeKey(String(key))}`,
        issues,
      );
      valueSeen = true;
    } else if (id === 1 || id === 2) {
      issues.push({
        pointer: path,
        message: `expected ${describeField(field)}, got ${WIRE_NAMES[wire] ?? `wire type ${wire}`}`,
      });
      reader.skipType(wire);
    } else reader.skipType(wire);
  }
  if (reader.pos !== end) throw new RangeError("map entry overruns its length");
  if (!valueSeen) {
    value = field.kind === "message"
      ? (field.message().wellKnown
        ? fromWellKnown(field.message().wellKnown!, field.message().init())
        : field.message().init())
      : defaultOf(field);
  }
  target[String(key)] = value;
}

function readScalar(reader: Reader, field: FieldPlan, inList: boolean): unknown {
  return readScalarKind(reader, field.kind as ScalarKind, field.enumPlan, inList);
}

function readScalarKind(
  reader: Reader,
  kind: ScalarKind,
  enumPlan: EnumPlan | undefined,
  inList: boolean,
): unknown {
  switch (kind) {
    case "double":
      return reader.double();
    case "float":
      return reader.float();
    case "int32":
      return reader.int32();
    case "uint32":
      return reader.uint32();
    case "sint32":
      return reader.sint32();
    case "fixed32":
      return reader.fixed32();
    case "sfixed32":
      return reader.sfixed32();
    case "int64":
      return toNumber(reader.int64());
    case "uint64":
      return toNumber(reader.uint64());
    case "sint64":
      return toNumber(reader.sint64());
    case "fixed64":
      return toNumber(reader.fixed64());
    case "sfixed64":
      return toNumber(reader.sfixed64());
    case "bool":
      return reader.bool();
    case "string":
      return reader.string();
    case "bytes":
      return new Uint8Array(reader.bytes());
    case "enum": {
      const number = reader.int32();
      if (enumPlan!.byNumber.has(number)) {
        const name = enumPlan!.byNumber.get(number);
        return name === undefined && inList ? "UNSPECIFIED" : name;
      }
      // An open enum may carry a number this .proto does not know: the contract will say so.
      return number;
    }
  }
}

function toNumber(value: unknown): number {
  // protobufjs gives a Long when long.js is around, a number otherwise.
  return typeof value === "number" ? value : (value as { toNumber(): number }).toNumber();
}

function lengthEnd(reader: Reader): number {
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len) throw new RangeError(`length ${length} overruns the message`);
  return end;
}

/**
 * The pointer of a field below `path`. The fields of a well-known type add no
 * segment: `data/x` of a `Struct`, not `data/fields/x`.
 */
function segment(path: string, plan: MessagePlan, field: FieldPlan): string {
  return plan.wellKnown ? path : `${path}/${field.pointerKey}`;
}

function mismatch(issues: FieldIssue[], path: string, field: FieldPlan, wire: number): void {
  issues.push({
    pointer: `${path}/${field.pointerKey}`,
    message: `expected ${describeField(field)}, got ${WIRE_NAMES[wire] ?? `wire type ${wire}`}`,
  });
}

/** What a field holds, for messages: "an integer (int64)". */
export function describeField(field: FieldPlan): string {
  const one = describeKind(field);
  if (field.map) return `a map of ${one}`;
  if (field.repeated) return `a list of ${one}`;
  return one;
}

function describeKind(field: FieldPlan): string {
  switch (field.kind) {
    case "double":
    case "float":
      return `a number (${field.kind})`;
    case "bool":
      return "a boolean";
    case "string":
      return "a string";
    case "bytes":
      return "bytes";
    case "enum":
      return `one of ${field.enumPlan!.names.join(", ")}`;
    case "message":
      return `a ${field.typeName} message`;
    default:
      return `an integer (${field.kind})`;
  }
}

function fromWellKnown(kind: WellKnown, value: Record<string, unknown>): unknown {
  switch (kind) {
    case "struct":
      return value.fields;
    case "list":
      return value.values;
    case "value":
      if ("nullValue" in value) return null;
      if ("numberValue" in value) return value.numberValue;
      if ("stringValue" in value) return value.stringValue;
      if ("boolValue" in value) return value.boolValue;
      if ("structValue" in value) return value.structValue;
      if ("listValue" in value) return value.listValue;
      return null;
    case "timestamp": {
      const ms = (value.seconds as number) * 1000 + Math.floor((value.nanos as number) / 1e6);
      const date = new Date(ms);
      if (Number.isNaN(date.getTime())) throw new RangeError("timestamp out of range");
      return date.toISOString();
    }
    case "empty":
      return {};
    case "wrapper":
      return value.value;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Encodes a plain value as a message.
 *
 * @throws {EncodeError} naming the first value that does not fit its field.
 */
export function encodeMessage(plan: MessagePlan, value: unknown): Uint8Array {
  const writer = protobuf.Writer.create();
  writeMessage(writer, plan, value, "");
  return writer.finish();
}

function writeMessage(writer: Writer, plan: MessagePlan, value: unknown, path: string): void {
  const object = plan.wellKnown ? toWellKnown(plan.wellKnown, value, path) : value;
  if (typeof object !== "object" || object === null || Array.isArray(object)) {
    throw new EncodeError(path, `expected an object (${plan.fullName}), got ${typeName(object)}`);
  }
  const record = object as Record<string, unknown>;
  for (const field of plan.fields) {
    const item = record[field.key];
    if (item === undefined) continue;
    if (item === null && !acceptsNull(field)) continue;
    const base = plan.wellKnown ? path : undefined;
    if (field.map) {
      writeMap(writer, field, item, base ?? `${path}/${field.pointerKey}`);
    } else if (field.repeated) {
      if (!Array.isArray(item)) {
        throw new EncodeError(
          base ?? `${path}/${field.pointerKey}`,
          `expected ${describeField(field)}, got ${typeName(item)}`,
        );
      }
      if (field.packed) {
        if (item.length === 0) continue;
        writer.uint32((field.id << 3 | 2) >>> 0).fork();
        for (let index = 0; index < item.length; index++) {
          writeScalar(
            writer,
            field.kind as ScalarKind,
            normalize(field, item[index], path, index, base),
          );
        }
        writer.ldelim();
      } else {
        for (let index = 0; index < item.length; index++) {
          writeOne(writer, field, item[index], path, index, true, base);
        }
      }
    } else {
      writeOne(writer, field, item, path, undefined, field.presence, base);
    }
  }
}

function acceptsNull(field: FieldPlan): boolean {
  return field.kind === "message" && !field.repeated && !field.map &&
    field.message().wellKnown === "value";
}

function writeOne(
  writer: Writer,
  field: FieldPlan,
  value: unknown,
  path: string,
  index: number | undefined,
  always: boolean,
  base: string | undefined,
): void {
  if (field.kind === "message") {
    writer.uint32(field.tag).fork();
    writeMessage(writer, field.message(), value, pointerOf(path, field, index, base));
    writer.ldelim();
    return;
  }
  const normalized = normalize(field, value, path, index, base);
  if (!always && isZero(normalized)) return;
  writer.uint32(field.tag);
  writeScalar(writer, field.kind as ScalarKind, normalized);
}

function writeMap(writer: Writer, field: FieldPlan, value: unknown, path: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new EncodeError(path, `expected ${describeField(field)}, got ${typeName(value)}`);
  }
  const keyKind = field.keyKind!;
  for (const [rawKey, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const here = `${path}/${escapeKey(rawKey)}`;
    const key = keyKind === "string"
      ? rawKey
      : keyKind === "bool"
      ? rawKey === "true"
      : /^-?\d+$/.test(rawKey)
      ? (keyKind.endsWith("64") ? rawKey : Number(rawKey))
      : undefined;
    if (key === undefined) throw new EncodeError(here, `expected an integer key (${keyKind})`);
    writer.uint32((field.id << 3 | 2) >>> 0).fork();
    writer.uint32((1 << 3 | WIRE[keyKind]) >>> 0);
    writeScalar(writer, keyKind, key);
    if (field.kind === "message") {
      writer.uint32((2 << 3 | 2) >>> 0).fork();
      writeMessage(writer, field.message(), item, here);
      writer.ldelim();
    } else {
      writer.uint32((2 << 3 | field.wire) >>> 0);
      writeScalar(writer, field.kind as ScalarKind, normalizeAt(field, item, here));
    }
    writer.ldelim();
  }
}

const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;
const UINT32 = [0, 2 ** 32 - 1] as const;

function pointerOf(
  path: string,
  field: FieldPlan,
  index: number | undefined,
  base: string | undefined,
): string {
  const own = base ?? `${path}/${field.pointerKey}`;
  return index === undefined ? own : `${own}/${index}`;
}

function normalize(
  field: FieldPlan,
  value: unknown,
  path: string,
  index: number | undefined,
  base: string | undefined,
): unknown {
  const normalized = tryNormalize(field, value);
  if (normalized !== INVALID) return normalized;
  return normalizeAt(field, value, pointerOf(path, field, index, base));
}

const INVALID = Symbol("invalid");

function normalizeAt(field: FieldPlan, value: unknown, pointer: string): unknown {
  const normalized = tryNormalize(field, value);
  if (normalized !== INVALID) return normalized;
  throw new EncodeError(
    pointer,
    `expected ${describeKind(field)}, got ${
      typeof value === "string" ? JSON.stringify(value) : typeName(value)
    }`,
  );
}

function tryNormalize(field: FieldPlan, value: unknown): unknown {
  const kind = field.kind as ScalarKind;
  switch (kind) {
    case "double":
    case "float":
      if (typeof value === "number") return value;
      break;
    case "int32":
    case "sint32":
    case "sfixed32":
      if (
        Number.isInteger(value) && (value as number) >= INT32[0] && (value as number) <= INT32[1]
      ) {
        return value;
      }
      break;
    case "uint32":
    case "fixed32":
      if (
        Number.isInteger(value) && (value as number) >= UINT32[0] && (value as number) <= UINT32[1]
      ) return value;
      break;
    case "int64":
    case "sint64":
    case "sfixed64":
    case "uint64":
    case "fixed64": {
      const unsigned = kind === "uint64" || kind === "fixed64";
      if (Number.isInteger(value) && (!unsigned || (value as number) >= 0)) return value;
      if (typeof value === "bigint" && (!unsigned || value >= 0n)) return value.toString();
      if (typeof value === "string" && (unsigned ? /^\d+$/ : /^-?\d+$/).test(value)) return value;
      break;
    }
    case "bool":
      if (typeof value === "boolean") return value;
      break;
    case "string":
      if (typeof value === "string") return value;
      break;
    case "bytes":
      if (value instanceof Uint8Array) return value;
      break;
    case "enum": {
      if (typeof value === "string") {
        const number = field.enumPlan!.byName.get(value);
        if (number !== undefined) return number;
      } else if (Number.isInteger(value)) return value;
      break;
    }
  }
  return INVALID;
}

function isZero(value: unknown): boolean {
  return value === 0 || value === "" || value === false || value === "0" ||
    (value instanceof Uint8Array && value.length === 0);
}

function writeScalar(writer: Writer, kind: ScalarKind, value: unknown): void {
  switch (kind) {
    case "double":
      writer.double(value as number);
      return;
    case "float":
      writer.float(value as number);
      return;
    case "int32":
    case "enum":
      writer.int32(value as number);
      return;
    case "uint32":
      writer.uint32(value as number);
      return;
    case "sint32":
      writer.sint32(value as number);
      return;
    case "fixed32":
      writer.fixed32(value as number);
      return;
    case "sfixed32":
      writer.sfixed32(value as number);
      return;
    case "int64":
      writer.int64(value as number);
      return;
    case "uint64":
      writer.uint64(value as number);
      return;
    case "sint64":
      writer.sint64(value as number);
      return;
    case "fixed64":
      writer.fixed64(value as number);
      return;
    case "sfixed64":
      writer.sfixed64(value as number);
      return;
    case "bool":
      writer.bool(value as boolean);
      return;
    case "string":
      writer.string(value as string);
      return;
    case "bytes":
      writer.bytes(value as Uint8Array);
      return;
  }
}

function toWellKnown(kind: WellKnown, value: unknown, path: string): unknown {
  switch (kind) {
    case "struct":
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        return { fields: value };
      }
      throw new EncodeError(path, `expected an object, got ${typeName(value)}`);
    case "list":
      if (Array.isArray(value)) return { values: value };
      throw new EncodeError(path, `expected a list, got ${typeName(value)}`);
    case "value":
      if (value === null) return { nullValue: 0 };
      switch (typeof value) {
        case "number":
          if (!Number.isFinite(value)) {
            throw new EncodeError(path, `expected a finite number, got ${value}`);
          }
          return { numberValue: value };
        case "string":
          return { stringValue: value };
        case "boolean":
          return { boolValue: value };
        case "object":
          return Array.isArray(value) ? { listValue: value } : { structValue: value };
      }
      throw new EncodeError(path, `expected a JSON value, got ${typeName(value)}`);
    case "timestamp": {
      const ms = value instanceof Date
        ? value.getTime()
        : typeof value === "string"
        ? Date.parse(value)
        : Number.NaN;
      if (Number.isNaN(ms)) {
        throw new EncodeError(path, `expected an RFC 3339 time, got ${typeName(value)}`);
      }
      const seconds = Math.floor(ms / 1000);
      return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
    }
    case "empty":
      return {};
    case "wrapper":
      return { value };
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Uint8Array) return "bytes";
  return typeof value === "object" ? "an object" : typeof value;
}

function escapeKey(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** grpc-js frames messages with `Buffer` methods; protobufjs gives a Buffer already under Deno. */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
