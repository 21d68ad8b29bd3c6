/**
 * Validation, normalisation and comparison of instances, shared by the
 * adapters. Private to the package.
 *
 * @module
 */

import type { Registration, ServiceInstance } from "./registry.ts";

/** The TTL of a registration that names none, in milliseconds. */
export const DEFAULT_TTL_MS = 10_000;

/** A registration checked and split into its instance and TTL. */
export interface CheckedRegistration {
  /** The instance to list (a frozen copy). */
  instance: ServiceInstance;
  /** How long it stays listed after its last renewal. */
  ttlMs: number;
}

/**
 * Checks `registration` and copies its instance.
 *
 * @throws {RangeError} naming the offending field.
 */
export function checkRegistration(registration: Registration): CheckedRegistration {
  const { service, id, address, port } = registration;
  checkName("service", service);
  checkName("id", id);
  if (typeof address !== "string" || address === "") {
    throw new RangeError(
      `Cannot register the instance as 'address' must be a non-empty string: current value is ${
        JSON.stringify(address)
      }`,
    );
  }
  checkPort(port, "register the instance");
  const ttlMs = registration.ttlMs ?? DEFAULT_TTL_MS;
  if (!(Number.isSafeInteger(ttlMs) && ttlMs > 0)) {
    throw new RangeError(
      `Cannot register the instance as 'ttlMs' must be a positive integer: current value is ${ttlMs}`,
    );
  }
  return {
    instance: toInstance({
      service,
      id,
      address,
      port,
      metadata: checkMetadata(registration.metadata),
    }),
    ttlMs,
  };
}

/** Throws a RangeError unless `port` is an integer in 1–65535. */
export function checkPort(port: unknown, action: string): void {
  if (!(typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535)) {
    throw new RangeError(
      `Cannot ${action} as 'port' must be an integer between 1 and 65535: current value is ${
        String(port)
      }`,
    );
  }
}

/** Throws a RangeError unless `service` is a usable service name. */
export function checkService(service: unknown, action = "list instances"): void {
  if (typeof service !== "string" || service === "" || service.includes("/")) {
    throw new RangeError(
      `Cannot ${action} as 'service' must be a non-empty string without '/': current value is ${
        JSON.stringify(service)
      }`,
    );
  }
}

function checkName(field: "service" | "id", value: unknown): void {
  if (typeof value !== "string" || value === "" || value.includes("/")) {
    throw new RangeError(
      `Cannot register the instance as '${field}' must be a non-empty string without '/': current value is ${
        JSON.stringify(value)
      }`,
    );
  }
}

function checkMetadata(metadata: unknown): Record<string, string> {
  if (metadata === undefined) return {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new RangeError(
      `Cannot register the instance as 'metadata' must be a record of strings: current value is ${
        JSON.stringify(metadata)
      }`,
    );
  }
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") {
      throw new RangeError(
        `Cannot register the instance as 'metadata.${key}' must be a string: current value is ${
          JSON.stringify(value)
        }`,
      );
    }
    copy[key] = value;
  }
  return copy;
}

/** A frozen copy of `instance` with exactly the port's fields. */
export function toInstance(instance: ServiceInstance): ServiceInstance {
  return Object.freeze({
    service: instance.service,
    id: instance.id,
    address: instance.address,
    port: instance.port,
    metadata: Object.freeze({ ...instance.metadata }),
  });
}

/** Sorts instances by id (then address and port), in place, and returns them. */
export function sortInstances(instances: ServiceInstance[]): ServiceInstance[] {
  return instances.sort((a, b) =>
    compare(a.id, b.id) || compare(a.address, b.address) || a.port - b.port
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A string that changes whenever a sorted list of instances changes. */
export function fingerprint(instances: readonly ServiceInstance[]): string {
  return JSON.stringify(
    instances.map((i) => [
      i.service,
      i.id,
      i.address,
      i.port,
      Object.entries(i.metadata).sort(([a], [b]) => compare(a, b)),
    ]),
  );
}

/** Parses a JSON-encoded instance, returning undefined when it is not one. */
export function parseInstance(json: string): ServiceInstance | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (
    typeof v.service !== "string" || typeof v.id !== "string" ||
    typeof v.address !== "string" || typeof v.port !== "number"
  ) {
    return undefined;
  }
  return toInstance({
    service: v.service,
    id: v.id,
    address: v.address,
    port: v.port,
    metadata: stringEntries(v.metadata),
  });
}

/** Parses JSON-encoded metadata, keeping only its string values. */
export function parseMetadata(json: string): Record<string, string> {
  try {
    return stringEntries(JSON.parse(json));
  } catch {
    return {};
  }
}

function stringEntries(value: unknown): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === "string") metadata[key] = item;
    }
  }
  return metadata;
}
