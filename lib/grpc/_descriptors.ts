/**
 * Builds the `FileDescriptorProto`s that server reflection answers with,
 * from the parsed .proto files: one per source file, with its imports as
 * `dependency`, fully-qualified type names, JSON names, proto3 `optional`
 * fields and map entries as protoc writes them — what grpcurl-style clients
 * need to list and describe the services and build requests.
 *
 * @module
 */

import protobuf from "protobufjs";
import type { Enum, Field, MapField, Namespace, ReflectionObject, Service, Type } from "protobufjs";
import { encodeMessage, jsonName } from "./_codec.ts";
import { internalPlan, type ProtoSet } from "./_proto_set.ts";

/** Everything reflection needs, computed once. */
export interface Reflected {
  /** Each file's encoded `FileDescriptorProto`, by file name. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Each file's direct dependencies. */
  readonly dependencies: ReadonlyMap<string, readonly string[]>;
  /** The file of each fully-qualified symbol (types, enums, services, methods, fields). */
  readonly symbols: ReadonlyMap<string, string>;
  /** Message types, for extension queries. */
  readonly messages: ReadonlySet<string>;
}

interface FileRecord {
  name: string;
  package: string;
  syntax: string;
  dependency: Set<string>;
  messageType: unknown[];
  enumType: unknown[];
  service: unknown[];
}

const TYPES: Readonly<Record<string, number>> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REQUIRED = 2;
const LABEL_REPEATED = 3;

/** Describes every file of `set`. */
export function describeProtoSet(set: ProtoSet): Reflected {
  const records = new Map<string, FileRecord>();
  const symbols = new Map<string, string>();
  const messages = new Set<string>();
  const recordOf = (object: ReflectionObject): FileRecord => {
    const name = set.fileOf(object);
    let record = records.get(name);
    if (!record) {
      const edition = (object as unknown as { _edition?: string | null })._edition;
      record = {
        name,
        package: object.parent ? object.parent.fullName.replace(/^\./, "") : "",
        syntax: edition === "proto2" ? "proto2" : "proto3",
        dependency: new Set(),
        messageType: [],
        enumType: [],
        service: [],
      };
      records.set(name, record);
    }
    return record;
  };
  const walk = (namespace: Namespace) => {
    for (const object of namespace.nestedArray) {
      if (object instanceof protobuf.Type) {
        const record = recordOf(object);
        record.messageType.push(describeType(object, record, set, symbols, messages));
      } else if (object instanceof protobuf.Enum) {
        const record = recordOf(object);
        record.enumType.push(describeEnum(object));
        symbols.set(bare(object.fullName), record.name);
      } else if (object instanceof protobuf.Service) {
        const record = recordOf(object);
        record.service.push(describeService(object, record, set, symbols));
      } else if (object instanceof protobuf.Namespace) {
        walk(object);
      }
    }
  };
  walk(set.root);
  const plan = internalPlan("google.protobuf.FileDescriptorProto");
  const files = new Map<string, Uint8Array>();
  const dependencies = new Map<string, readonly string[]>();
  for (const record of records.values()) {
    record.dependency.delete(record.name);
    const dependency = [...record.dependency].sort();
    dependencies.set(record.name, dependency);
    files.set(
      record.name,
      encodeMessage(plan, {
        name: record.name,
        ...(record.package ? { package: record.package } : {}),
        dependency,
        messageType: record.messageType,
        enumType: record.enumType,
        service: record.service,
        syntax: record.syntax,
      }),
    );
  }
  return { files, dependencies, symbols, messages };
}

function describeType(
  type: Type,
  record: FileRecord,
  set: ProtoSet,
  symbols: Map<string, string>,
  messages: Set<string>,
): unknown {
  const fullName = bare(type.fullName);
  symbols.set(fullName, record.name);
  messages.add(fullName);
  const real = type.oneofsArray.filter((oneof) =>
    !oneof.fieldsArray.every((field) => field.options?.proto3_optional === true)
  );
  const synthetic = type.oneofsArray.filter((oneof) => !real.includes(oneof));
  const oneofs = [...real, ...synthetic];
  const nestedType: unknown[] = [];
  const enumType: unknown[] = [];
  const field = type.fieldsArray.map((field) => {
    field.resolve();
    symbols.set(`${fullName}.${field.name}`, record.name);
    const out: Record<string, unknown> = {
      // protobufjs's bundled copies of google/protobuf/*.proto name fields in camelCase.
      name: record.name.startsWith("google/protobuf/") ? snake(field.name) : field.name,
      number: field.id,
      jsonName: jsonName(field.name),
    };
    if (field.map) {
      const entry = `${pascal(field.name)}Entry`;
      out.label = LABEL_REPEATED;
      out.type = TYPE_MESSAGE;
      out.typeName = `.${fullName}.${entry}`;
      const map = field as unknown as MapField;
      nestedType.push({
        name: entry,
        field: [
          {
            name: "key",
            number: 1,
            jsonName: "key",
            label: LABEL_OPTIONAL,
            type: TYPES[map.keyType],
          },
          {
            name: "value",
            number: 2,
            jsonName: "value",
            label: LABEL_OPTIONAL,
            ...typeOf(field, record, set),
          },
        ],
        options: { mapEntry: true },
      });
      return out;
    }
    out.label = field.repeated ? LABEL_REPEATED : field.required ? LABEL_REQUIRED : LABEL_OPTIONAL;
    Object.assign(out, typeOf(field, record, set));
    if (field.partOf) {
      out.oneofIndex = oneofs.indexOf(field.partOf);
      if (field.options?.proto3_optional === true) out.proto3Optional = true;
    }
    return out;
  });
  for (const nested of type.nestedArray) {
    if (nested instanceof protobuf.Type) {
      nestedType.push(describeType(nested, record, set, symbols, messages));
    } else if (nested instanceof protobuf.Enum) {
      enumType.push(describeEnum(nested));
      symbols.set(bare(nested.fullName), record.name);
    }
  }
  return {
    name: type.name,
    field,
    nestedType,
    enumType,
    oneofDecl: oneofs.map((oneof) => ({ name: oneof.name })),
  };
}

function typeOf(field: Field, record: FileRecord, set: ProtoSet): Record<string, unknown> {
  const resolved = field.resolvedType;
  if (resolved) {
    record.dependency.add(set.fileOf(resolved));
    return {
      type: resolved instanceof protobuf.Enum ? TYPE_ENUM : TYPE_MESSAGE,
      typeName: resolved.fullName,
    };
  }
  return { type: TYPES[field.type] };
}

function describeEnum(type: Enum): unknown {
  return {
    name: type.name,
    value: Object.entries(type.values).map(([name, number]) => ({ name, number })),
  };
}

function describeService(
  service: Service,
  record: FileRecord,
  set: ProtoSet,
  symbols: Map<string, string>,
): unknown {
  const fullName = bare(service.fullName);
  symbols.set(fullName, record.name);
  return {
    name: service.name,
    method: service.methodsArray.map((method) => {
      method.resolve();
      symbols.set(`${fullName}.${method.name}`, record.name);
      const input = method.resolvedRequestType!;
      const output = method.resolvedResponseType!;
      record.dependency.add(set.fileOf(input));
      record.dependency.add(set.fileOf(output));
      return {
        name: method.name,
        inputType: input.fullName,
        outputType: output.fullName,
        ...(method.requestStream ? { clientStreaming: true } : {}),
        ...(method.responseStream ? { serverStreaming: true } : {}),
      };
    }),
  };
}

function bare(fullName: string): string {
  return fullName.replace(/^\./, "");
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function pascal(name: string): string {
  const camel = jsonName(name);
  return camel.charAt(0).toUpperCase() + camel.slice(1);
}
