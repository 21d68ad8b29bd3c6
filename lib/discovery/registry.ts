/**
 * The port every discovery adapter implements.
 *
 * @module
 */

/** One running instance of a service, as discovery reports it. */
export interface ServiceInstance {
  /** The service's name, e.g. `payment`. */
  readonly service: string;
  /** Unique id of this instance, e.g. `payment-7f3a`. */
  readonly id: string;
  /** Host name or IP address to connect to. */
  readonly address: string;
  /** Port to connect to. */
  readonly port: number;
  /** Free-form labels: `protocol` (`http`, `grpc`), `version`, `zone`… */
  readonly metadata: Readonly<Record<string, string>>;
}

/** What an instance announces when it registers. */
export interface Registration extends ServiceInstance {
  /**
   * How long the instance stays listed after its last heartbeat (local),
   * lease renewal (etcd) or TTL check pass (Consul). The handle renews it
   * well within this time until deregistered. @default {10_000}
   */
  readonly ttlMs?: number;
  /** A URL the registry itself may probe for health (Consul HTTP checks). */
  readonly healthCheckUrl?: string;
}

/** A live registration: it keeps the instance listed until deregistered or disposed. */
export interface RegistrationHandle extends AsyncDisposable {
  /** The registered instance. */
  readonly instance: ServiceInstance;
  /** Removes the instance from the registry and stops renewing it. Idempotent. */
  deregister(): Promise<void>;
}

/** Options shared by the registry's operations. */
export interface RegistryCallOptions {
  /** Aborts the operation (or ends a watch). */
  signal?: AbortSignal;
}

/**
 * A service registry. Instances expire when their heartbeat, lease or TTL
 * check stops; `instances()` lists only live ones.
 */
export interface Registry extends AsyncDisposable {
  /** The adapter: `memory`, `local`, `static`, `etcd`, `dns`, `consul`. */
  readonly kind: string;
  /**
   * Registers an instance and keeps it alive until the handle is
   * deregistered or disposed.
   *
   * @throws {DiscoveryError} `REGISTRATION_UNSUPPORTED` where the registry is
   * read-only (DNS, static), `REGISTRY_UNAVAILABLE` when it cannot be reached.
   */
  register(registration: Registration, options?: RegistryCallOptions): Promise<RegistrationHandle>;
  /** The live instances of `service` (an empty list when there are none). */
  instances(service: string, options?: RegistryCallOptions): Promise<ServiceInstance[]>;
  /**
   * Yields the live instances of `service` now, then again every time the
   * set changes, until `signal` aborts or the registry is disposed.
   */
  watch(service: string, options?: RegistryCallOptions): AsyncIterable<ServiceInstance[]>;
}
