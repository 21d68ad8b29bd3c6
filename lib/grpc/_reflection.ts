/**
 * gRPC server reflection (`grpc.reflection.v1` and `v1alpha`): lists the
 * services a transport serves and answers the file descriptors that
 * describe them, so grpcurl-style clients can list, describe and call them
 * without the .proto files.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { decodeMessage, encodeMessage, type MessagePlan, planOf, toBuffer } from "./_codec.ts";
import { describeProtoSet, type Reflected } from "./_descriptors.ts";
import type { ProtoSet } from "./_proto_set.ts";
import { serverError } from "./errors.ts";

const identity = <T>(value: T): T => value;

interface ReflectionRequest {
  host: string;
  fileByFilename?: string;
  fileContainingSymbol?: string;
  fileContainingExtension?: { containingType: string; extensionNumber: number };
  allExtensionNumbersOfType?: string;
  listServices?: string;
}

/** Registers both reflection versions on `server`, answering for `services` of `protos`. */
export function registerReflection(
  server: grpc.Server,
  protos: ProtoSet,
  services: readonly string[],
): void {
  let reflected: Reflected | undefined;
  const reflect = () => reflected ??= describeProtoSet(protos);
  for (const version of ["v1", "v1alpha"]) {
    const request = planOf(
      protos.root.lookupType(`grpc.reflection.${version}.ServerReflectionRequest`),
    );
    const response = planOf(
      protos.root.lookupType(`grpc.reflection.${version}.ServerReflectionResponse`),
    );
    server.register<Buffer, Buffer>(
      `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
      ((call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on("data", (bytes: Buffer) => {
          try {
            const asked = decodeMessage(request, bytes) as ReflectionRequest;
            call.write(answer(asked, reflect(), services, response));
          } catch (error) {
            call.emit("error", serverError(error));
          }
        });
        call.on("end", () => call.end());
      }) as grpc.handleBidiStreamingCall<Buffer, Buffer>,
      identity,
      identity,
      "bidi",
    );
  }
}

function answer(
  asked: ReflectionRequest,
  reflected: Reflected,
  services: readonly string[],
  plan: MessagePlan,
): Buffer {
  const base = { validHost: asked.host, originalRequest: asked };
  const files = (name: string) => ({
    fileDescriptorResponse: {
      fileDescriptorProto: [name, ...dependenciesOf(name, reflected)].map((file) =>
        reflected.files.get(file)!
      ),
    },
  });
  const notFound = (message: string) => ({
    errorResponse: { errorCode: grpc.status.NOT_FOUND, errorMessage: message },
  });
  let body: Record<string, unknown>;
  if (asked.listServices !== undefined) {
    body = { listServicesResponse: { service: services.map((name) => ({ name })) } };
  } else if (asked.fileByFilename !== undefined) {
    body = reflected.files.has(asked.fileByFilename)
      ? files(asked.fileByFilename)
      : notFound(`No file "${asked.fileByFilename}"`);
  } else if (asked.fileContainingSymbol !== undefined) {
    const file = reflected.symbols.get(asked.fileContainingSymbol.replace(/^\./, ""));
    body = file ? files(file) : notFound(`No symbol "${asked.fileContainingSymbol}"`);
  } else if (asked.allExtensionNumbersOfType !== undefined) {
    const type = asked.allExtensionNumbersOfType.replace(/^\./, "");
    body = reflected.messages.has(type)
      ? { allExtensionNumbersResponse: { baseTypeName: type, extensionNumber: [] } }
      : notFound(`No message type "${type}"`);
  } else if (asked.fileContainingExtension !== undefined) {
    body = notFound("No extensions are defined");
  } else {
    body = {
      errorResponse: {
        errorCode: grpc.status.UNIMPLEMENTED,
        errorMessage: "Unknown reflection request",
      },
    };
  }
  return toBuffer(encodeMessage(plan, { ...base, ...body }));
}

/** Every file `name` depends on, directly or not. */
function dependenciesOf(name: string, reflected: Reflected): string[] {
  const seen = new Set<string>([name]);
  const order: string[] = [];
  const visit = (file: string) => {
    for (const dependency of reflected.dependencies.get(file) ?? []) {
      if (seen.has(dependency)) continue;
      seen.add(dependency);
      order.push(dependency);
      visit(dependency);
    }
  };
  visit(name);
  return order;
}
