/**
 * The NATS connection Flotilla RPC needs, as a structural type: pass a
 * `NatsConnection` of `@nats-io/transport-node` (what `connect()` returns).
 * Declaring only the members used keeps this package's public types free
 * of the driver's.
 *
 * @module
 */

/** A message received, as the transport and the caller read it. */
export interface NatsRpcMsg {
  /** The subject it was published on. */
  readonly subject: string;
  /** Where to send the answer, if anywhere. */
  readonly reply?: string;
  /** The payload. */
  readonly data: Uint8Array;
  /** Its headers, if it has any. */
  readonly headers?: {
    /** The first value of header `key`, or `""`. */
    get(key: string): string;
    /** The status code of a status message (503: no responders), else 0. */
    readonly code: number;
  };
}

/** A subscription, as the transport and the caller use it. */
export interface NatsRpcSubscription {
  /** Unsubscribes at once. */
  unsubscribe(): void;
  /** Unsubscribes and resolves once every message sent to it before is processed. */
  drain(): Promise<void>;
}

/** An open NATS connection (a `NatsConnection` of `@nats-io/transport-node` fits). */
export interface NatsRpcConnection {
  /** Publishes `payload` (UTF-8 when a string) on `subject`. */
  publish(
    subject: string,
    payload: string | Uint8Array,
    options?: {
      /** Where the answer should go. */
      reply?: string;
      /**
       * Headers: iterable like the driver's `headers()`, and with the driver's
       * `encode()` to their wire bytes (all that nats.js reads of them).
       */
      headers?: Iterable<[string, string[]]>;
    },
  ): void;
  /** Subscribes `subject`, delivering each message to `callback`. */
  subscribe(
    subject: string,
    options: {
      /** The queue group, if any. */
      queue?: string;
      /** Receives every message (or an error of the subscription). */
      callback: (error: Error | null, msg: NatsRpcMsg) => void;
    },
  ): NatsRpcSubscription;
  /** Resolves once the server has processed everything sent before. */
  flush(): Promise<void>;
  /** The server connected to, `host:port`. */
  getServer(): string;
  /** Connection events; `disconnect` and `reconnect` are the ones read. */
  status(): AsyncIterable<{ readonly type: string }>;
  /** Resolves once the connection is closed. */
  closed(): Promise<void | Error>;
  /** Whether the connection is closed. */
  isClosed(): boolean;
  /** Closes the connection. */
  close(): Promise<void>;
}
