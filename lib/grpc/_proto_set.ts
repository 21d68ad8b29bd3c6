/**
 * Loads .proto files at run time with protobufjs — the user's files beside
 * the embedded health, reflection and JSON services — and remembers which
 * file defines each top-level type, for reflection.
 *
 * @module
 */

import protobuf from "protobufjs";
import type { ReflectionObject, Root, Type } from "protobufjs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { DESCRIPTOR_PROTO, RPC_STATUS_PROTO, SERVED_PROTOS } from "./_protos.ts";
import { type MessagePlan, planOf } from "./_codec.ts";

/** Parsed .proto files and the file of each of their top-level objects. */
export interface ProtoSet {
  /** Everything parsed, with field names as written (`keepCase`). */
  readonly root: Root;
  /** The user's files, by the name importers spell them with. */
  readonly files: readonly string[];
  /** The file that defines `object` (or its outermost enclosing type), as importers name it. */
  fileOf(object: ReflectionObject): string;
}

const KEEP_CASE = { keepCase: true };

/**
 * Parses `paths` (absolute paths or `file:` URLs) and what they import, plus
 * the embedded services. Imports resolve against the importing file's
 * folder, then `includeDirs`; `google/protobuf/*.proto` are protobufjs's
 * bundled copies.
 *
 * @throws {RangeError} when a file cannot be read or parsed.
 */
export function loadProtoSet(
  paths: readonly (string | URL)[],
  includeDirs: readonly (string | URL)[] = [],
): ProtoSet {
  const absolute = paths.map(toPath);
  const dirs = [...includeDirs.map(toPath), ...absolute.map((path) => dirname(path))];
  const root = new protobuf.Root();
  for (const [name, source] of Object.entries(SERVED_PROTOS)) parseEmbedded(root, name, source);
  root.resolvePath = (origin, target) => {
    if (target in SERVED_PROTOS || target.startsWith("google/protobuf/") || isAbsolute(target)) {
      return target;
    }
    const candidates = [
      ...(origin ? [join(dirname(origin), target)] : []),
      ...dirs.map((dir) => join(dir, target)),
    ];
    return candidates.find(exists) ?? candidates[0] ?? target;
  };
  try {
    if (absolute.length > 0) root.loadSync(absolute, KEEP_CASE);
    root.resolveAll();
  } catch (error) {
    throw new RangeError(
      `Cannot load the .proto files ${absolute.join(", ")}: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  const names = new Map<string, string>();
  const nameOf = (filename: string): string => {
    let name = names.get(filename);
    if (name === undefined) {
      name = filename in SERVED_PROTOS || filename.startsWith("google/protobuf/")
        ? filename
        : userFileName(filename, dirs);
      names.set(filename, name);
    }
    return name;
  };
  return {
    root,
    files: absolute.map(nameOf),
    fileOf(object) {
      let top = object;
      while (top.parent && top.parent instanceof protobuf.Type) top = top.parent;
      if (top.filename) return nameOf(top.filename);
      return bundledFileOf(top.fullName) ?? "google/protobuf/unknown.proto";
    },
  };
}

function parseEmbedded(root: Root, name: string, source: string): void {
  if (root.files.includes(name)) return;
  root.files.push(name);
  (protobuf.parse as unknown as { filename: string | null }).filename = name;
  const parsed = protobuf.parse(source, root, KEEP_CASE);
  for (const dependency of parsed.imports ?? []) {
    const embedded = SERVED_PROTOS[dependency];
    if (embedded !== undefined) parseEmbedded(root, dependency, embedded);
    else root.loadSync(dependency, KEEP_CASE);
  }
}

function toPath(path: string | URL): string {
  if (path instanceof URL) return fileURLToPath(path);
  return path.startsWith("file:") ? fileURLToPath(path) : resolve(path);
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function userFileName(filename: string, dirs: readonly string[]): string {
  for (const dir of dirs) {
    if (filename.startsWith(dir + sep)) return relative(dir, filename).split(sep).join("/");
  }
  return filename.split(sep).pop() ?? filename;
}

let bundled: Map<string, string> | undefined;

/** The bundled `google/protobuf/*.proto` file that defines a top-level name. */
function bundledFileOf(fullName: string): string | undefined {
  if (!bundled) {
    bundled = new Map();
    const common = protobuf.common as unknown as Record<string, unknown>;
    for (const [file, json] of Object.entries(common)) {
      if (!file.endsWith(".proto")) continue;
      const nested = (json as { nested?: Record<string, unknown> }).nested;
      collect(nested, "", file, bundled);
    }
  }
  return bundled.get(fullName.replace(/^\./, ""));
}

function collect(
  nested: Record<string, unknown> | undefined,
  prefix: string,
  file: string,
  into: Map<string, string>,
): void {
  for (const [name, value] of Object.entries(nested ?? {})) {
    const full = prefix ? `${prefix}.${name}` : name;
    const object = value as {
      nested?: Record<string, unknown>;
      fields?: unknown;
      values?: unknown;
    };
    if (object.fields !== undefined || object.values !== undefined) into.set(full, file);
    else collect(object.nested, full, file, into);
  }
}

let internal: Root | undefined;

/** The plan of a message of the transport's own protocol (`google.rpc.Status`, descriptors). */
export function internalPlan(fullName: string): MessagePlan {
  if (!internal) {
    internal = new protobuf.Root();
    protobuf.parse(RPC_STATUS_PROTO, internal, KEEP_CASE);
    protobuf.parse(DESCRIPTOR_PROTO, internal, KEEP_CASE);
    internal.loadSync("google/protobuf/any.proto", KEEP_CASE);
    internal.resolveAll();
  }
  return planOf(internal.lookupType(fullName) as Type);
}
