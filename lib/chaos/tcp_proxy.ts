/**
 * A TCP fault proxy for tests, in the spirit of Toxiproxy: it forwards
 * connections to an upstream and applies "toxics" to the bytes.
 *
 * @module
 */

import { type Clock, systemClock } from "@flotilla/core";
import { sleep, systemTimers, type Timers } from "@flotilla/resilience";
import { deriveSeed, Prng } from "./prng.ts";

/** Which bytes a toxic acts on: `upstream` client → server, `downstream` server → client. */
export type ToxicDirection = "upstream" | "downstream";

/** What a toxic does to the bytes of its direction. */
export type ToxicSpec =
  | {
    /** Delays every chunk by `latencyMs` ± `jitterMs` (order kept). */
    readonly type: "latency";
    /** The delay, in milliseconds. */
    readonly latencyMs: number;
    /** Uniform jitter added or taken off, in milliseconds. @default {0} */
    readonly jitterMs?: number;
  }
  | {
    /** Limits throughput to `bytesPerSecond`. */
    readonly type: "bandwidth";
    /** Bytes per second. */
    readonly bytesPerSecond: number;
  }
  | {
    /**
     * Cuts the connection (both sides) when bytes arrive, after `afterMs`.
     * Closed with unread data, Linux answers with RST; otherwise the peer
     * sees the connection end mid-exchange.
     */
    readonly type: "reset_peer";
    /** Wait before cutting, in milliseconds. @default {0} */
    readonly afterMs?: number;
  }
  | {
    /**
     * A black hole: bytes stop getting through (held, not lost) while the
     * connection stays open; removing the toxic lets them through. With
     * `timeoutMs` > 0 the connection is closed that long after bytes were
     * first held.
     */
    readonly type: "timeout";
    /** Close after this long, in milliseconds; 0 keeps it open. @default {0} */
    readonly timeoutMs?: number;
  }
  | {
    /** Splits the bytes into small writes with a pause between them. */
    readonly type: "slicer";
    /** Average size of a slice, in bytes. */
    readonly averageSize: number;
    /** Slices vary by up to this many bytes. @default {0} */
    readonly sizeVariation?: number;
    /** Pause between slices, in milliseconds. @default {0} */
    readonly delayMs?: number;
  };

/** A toxic to add: a spec, a direction, and how many connections it affects. */
export type ToxicInput = ToxicSpec & {
  /** Its name, to remove it. @default {`<type>_<direction>`} */
  readonly name?: string;
  /** The bytes it acts on. */
  readonly direction: ToxicDirection;
  /** Share of connections affected, 0–1, drawn per connection from the seeded PRNG. @default {1} */
  readonly toxicity?: number;
};

/** A toxic in force. */
export type Toxic = ToxicSpec & {
  /** Its name. */
  readonly name: string;
  /** The bytes it acts on. */
  readonly direction: ToxicDirection;
  /** Share of connections affected. */
  readonly toxicity: number;
};

/** Byte counters of one direction. */
export interface DirectionStats {
  /** Bytes read from the sending side. */
  readonly bytesIn: number;
  /** Bytes written to the receiving side. */
  readonly bytesOut: number;
  /** Writes made to the receiving side. */
  readonly writes: number;
  /** Bytes read but not yet written (held by latency, a black hole, a slow link). */
  readonly held: number;
}

/** Counters of a proxy. */
export interface TcpProxyStats {
  /** Connections accepted since start. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Connections cut by `reset_peer`, `timeout` or {@link TcpProxy.resetAll}. */
  readonly reset: number;
  /** Client → server. */
  readonly upstream: DirectionStats;
  /** Server → client. */
  readonly downstream: DirectionStats;
}

/** Options of {@link TcpProxy.listen}. */
export interface TcpProxyOptions {
  /** Where connections are forwarded. */
  upstream: { hostname?: string; port: number };
  /** Address to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** Port to listen on. @default {0: any free port} */
  port?: number;
  /** Seed of jitter, slice sizes and toxicity. @default {1} */
  seed?: number;
  /** Timers of delays (tests pass fake ones). @default {systemTimers} */
  timers?: Timers;
  /** Clock of latency deadlines. @default {systemClock} */
  clock?: Clock;
}

interface Counters {
  bytesIn: number;
  bytesOut: number;
  writes: number;
  held: number;
}

const MAX_QUEUED = 1024 * 1024;

/**
 * A TCP proxy that injects faults: listens on a port, forwards each
 * connection to the upstream, and runs the bytes of each direction through
 * the toxics in force — added and removed at runtime, taking effect on the
 * next chunk of every open connection.
 *
 * @example
 * ```ts
 * import { TcpProxy } from "@flotilla/chaos";
 *
 * await using proxy = TcpProxy.listen({ upstream: { port: 5432 } });
 * proxy.addToxic({ type: "latency", direction: "downstream", latencyMs: 100, jitterMs: 20 });
 * // connect to proxy.port instead of 5432…
 * proxy.addToxic({ name: "cut", type: "timeout", direction: "upstream" }); // black hole
 * proxy.removeToxic("cut");
 * ```
 */
export class TcpProxy implements AsyncDisposable {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /** Where it forwards. */
  readonly upstream: { readonly hostname: string; readonly port: number };
  readonly #timers: Timers;
  readonly #clock: Clock;
  readonly #seed: number;
  #listener: Deno.TcpListener | undefined;
  #acceptLoop: Promise<void> | undefined;
  #toxics: Toxic[] = [];
  #changed = Promise.withResolvers<void>();
  #connections = new Set<ProxyConnection>();
  #closed = false;
  #accepted = 0;
  #reset = 0;
  #counters: Record<ToxicDirection, Counters> = {
    upstream: { bytesIn: 0, bytesOut: 0, writes: 0, held: 0 },
    downstream: { bytesIn: 0, bytesOut: 0, writes: 0, held: 0 },
  };

  private constructor(options: TcpProxyOptions, listener: Deno.TcpListener) {
    this.#listener = listener;
    this.hostname = listener.addr.hostname;
    this.port = listener.addr.port;
    this.upstream = {
      hostname: options.upstream.hostname ?? "127.0.0.1",
      port: options.upstream.port,
    };
    this.#timers = options.timers ?? systemTimers;
    this.#clock = options.clock ?? systemClock;
    this.#seed = options.seed ?? 1;
    this.#acceptLoop = this.#accept(listener);
  }

  /**
   * Starts listening and forwarding.
   *
   * @throws {RangeError} when the upstream port or the seed is invalid.
   */
  static listen(options: TcpProxyOptions): TcpProxy {
    const port = options.upstream.port;
    if (!(Number.isInteger(port) && port > 0 && port < 65_536)) {
      throw new RangeError(
        `Cannot start the TCP proxy as 'upstream.port' must be a port number: current value is ${port}`,
      );
    }
    new Prng(options.seed ?? 1); // validates the seed
    const listener = Deno.listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
    });
    return new TcpProxy(options, listener);
  }

  /** Whether it accepts connections (see {@link TcpProxy.disable}). */
  get enabled(): boolean {
    return this.#listener !== undefined;
  }

  /** Adds a toxic; returns its name. @throws {RangeError} on a bad value or a taken name. */
  addToxic(input: ToxicInput): string {
    const toxic = checkToxic(input);
    if (this.#toxics.some((t) => t.name === toxic.name)) {
      throw new RangeError(
        `Cannot add the toxic as 'name' must be unique: current value is ${
          JSON.stringify(toxic.name)
        }`,
      );
    }
    this.#toxics = [...this.#toxics, toxic];
    this.#notify();
    return toxic.name;
  }

  /** Removes the toxic named `name`; held bytes flow again. Returns whether it existed. */
  removeToxic(name: string): boolean {
    const before = this.#toxics.length;
    this.#toxics = this.#toxics.filter((toxic) => toxic.name !== name);
    this.#notify();
    return this.#toxics.length !== before;
  }

  /** Removes every toxic. */
  clearToxics(): void {
    this.#toxics = [];
    this.#notify();
  }

  /** The toxics in force, in the order they apply. */
  toxics(): Toxic[] {
    return this.#toxics.map((toxic) => ({ ...toxic }));
  }

  /** Counters since start. */
  stats(): TcpProxyStats {
    return {
      accepted: this.#accepted,
      open: this.#connections.size,
      reset: this.#reset,
      upstream: { ...this.#counters.upstream },
      downstream: { ...this.#counters.downstream },
    };
  }

  /** Cuts every open connection now (both sides), as a crashed middlebox would. */
  resetAll(): void {
    for (const connection of [...this.#connections]) connection.reset();
  }

  /**
   * Stops listening and cuts every connection: new connections are refused
   * (`ECONNREFUSED`), like a service that is down. {@link TcpProxy.enable}
   * listens again on the same port.
   */
  async disable(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    try {
      listener?.close();
    } catch {
      // already closed
    }
    await this.#acceptLoop;
    this.resetAll();
  }

  /** Listens again on the same port after {@link TcpProxy.disable}. */
  enable(): void {
    if (this.#closed || this.#listener !== undefined) return;
    this.#listener = Deno.listen({ hostname: this.hostname, port: this.port });
    this.#acceptLoop = this.#accept(this.#listener);
  }

  /** Stops listening, closes every connection and waits for them. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.disable();
    this.#notify();
    await Promise.allSettled([...this.#connections].map((c) => c.done));
  }

  /** Same as {@link TcpProxy.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #shared(): SharedState {
    return {
      toxics: () => this.#toxics,
      changed: () => this.#changed.promise,
      counters: this.#counters,
      timers: this.#timers,
      clock: this.#clock,
      seed: this.#seed,
      upstream: this.upstream,
      countReset: () => this.#reset++,
    };
  }

  #notify(): void {
    this.#changed.resolve();
    this.#changed = Promise.withResolvers<void>();
  }

  async #accept(listener: Deno.TcpListener): Promise<void> {
    while (true) {
      let client: Deno.TcpConn;
      try {
        client = await listener.accept();
      } catch {
        return; // closed
      }
      this.#accepted++;
      const id = this.#accepted;
      const connection = new ProxyConnection(this.#shared(), client, id);
      this.#connections.add(connection);
      connection.done.finally(() => this.#connections.delete(connection));
    }
  }
}

interface SharedState {
  toxics(): readonly Toxic[];
  changed(): Promise<void>;
  counters: Record<ToxicDirection, Counters>;
  timers: Timers;
  clock: Clock;
  seed: number;
  upstream: { hostname: string; port: number };
  countReset(): void;
}

class ProxyConnection {
  readonly done: Promise<void>;
  readonly #shared: SharedState;
  readonly #client: Deno.TcpConn;
  #server: Deno.TcpConn | undefined;
  readonly #prng: Prng;
  readonly #affected = new Map<string, boolean>();
  readonly #stop = new AbortController();

  constructor(shared: SharedState, client: Deno.TcpConn, id: number) {
    this.#shared = shared;
    this.#client = client;
    this.#prng = new Prng(deriveSeed(this.#shared.seed, `connection-${id}`));
    this.done = this.#run();
  }

  reset(): void {
    if (this.#stop.signal.aborted) return;
    this.#shared.countReset();
    this.#stop.abort();
    closeQuietly(this.#client);
    if (this.#server) closeQuietly(this.#server);
  }

  async #run(): Promise<void> {
    try {
      this.#server = await Deno.connect({
        hostname: this.#shared.upstream.hostname,
        port: this.#shared.upstream.port,
      });
    } catch {
      closeQuietly(this.#client);
      return;
    }
    const server = this.#server;
    await Promise.allSettled([
      this.#pump(this.#client, server, "upstream"),
      this.#pump(server, this.#client, "downstream"),
    ]);
    closeQuietly(this.#client);
    closeQuietly(server);
  }

  /** Whether toxic `toxic` affects this connection (drawn once, by toxicity). */
  #affects(toxic: Toxic): boolean {
    let affected = this.#affected.get(toxic.name);
    if (affected === undefined) {
      affected = toxic.toxicity >= 1 || this.#prng.next() < toxic.toxicity;
      this.#affected.set(toxic.name, affected);
    }
    return affected;
  }

  #active(direction: ToxicDirection): Toxic[] {
    return this.#shared.toxics().filter((t) => t.direction === direction && this.#affects(t));
  }

  async #pump(from: Deno.TcpConn, to: Deno.TcpConn, direction: ToxicDirection): Promise<void> {
    const counters = this.#shared.counters[direction];
    const queue: Array<{ data: Uint8Array; at: number }> = [];
    let readerDone = false;
    let wakeWriter: (() => void) | undefined;
    let wakeReader: (() => void) | undefined;
    let queued = 0;
    const stop = this.#stop.signal;
    const onStop = () => {
      wakeWriter?.();
      wakeReader?.();
    };
    stop.addEventListener("abort", onStop);
    const reader = (async () => {
      const buffer = new Uint8Array(32 * 1024);
      try {
        while (!stop.aborted) {
          while (queued > MAX_QUEUED && !stop.aborted) {
            await new Promise<void>((resolve) => wakeReader = resolve);
          }
          const n = await from.read(buffer);
          if (n === null) break;
          counters.bytesIn += n;
          counters.held += n;
          queued += n;
          queue.push({ data: buffer.slice(0, n), at: this.#shared.clock.now() });
          wakeWriter?.();
        }
      } catch {
        // the connection went away
      } finally {
        readerDone = true;
        wakeWriter?.();
      }
    })();
    try {
      while (!stop.aborted) {
        const chunk = queue.shift();
        if (chunk === undefined) {
          if (readerDone) break;
          await new Promise<void>((resolve) => wakeWriter = resolve);
          wakeWriter = undefined;
          continue;
        }
        await this.#deliver(chunk, to, direction, counters);
        queued -= chunk.data.length;
        wakeReader?.();
      }
      if (!stop.aborted) await to.closeWrite().catch(() => {});
    } catch {
      this.#stop.abort();
    } finally {
      stop.removeEventListener("abort", onStop);
      if (stop.aborted) {
        closeQuietly(from);
        closeQuietly(to);
      }
      await reader;
    }
  }

  async #deliver(
    chunk: { data: Uint8Array; at: number },
    to: Deno.TcpConn,
    direction: ToxicDirection,
    counters: Counters,
  ): Promise<void> {
    const { timers, clock } = this.#shared;
    const stop = this.#stop.signal;
    let heldSince: number | undefined;
    // Toxics are read again after each wait, so adding or removing one acts on held bytes too.
    while (true) {
      const toxics = this.#active(direction);
      const hole = toxics.find((t) => t.type === "timeout");
      if (hole?.type === "timeout") {
        heldSince ??= clock.now();
        const timeoutMs = hole.timeoutMs ?? 0;
        const changed = this.#shared.changed();
        if (timeoutMs > 0) {
          const left = heldSince + timeoutMs - clock.now();
          const timedOut = await Promise.race([
            changed.then(() => false),
            sleep(Math.max(0, left), timers, stop).then(() => true, () => false),
          ]);
          if (timedOut) return this.reset();
        } else {
          await Promise.race([changed, abortPromise(stop)]);
        }
        if (stop.aborted) return;
        continue;
      }
      const reset = toxics.find((t) => t.type === "reset_peer");
      if (reset?.type === "reset_peer") {
        await sleep(reset.afterMs ?? 0, timers, stop).catch(() => {});
        return this.reset();
      }
      let pieces: Array<{ data: Uint8Array; pauseMs: number }> = [{ data: chunk.data, pauseMs: 0 }];
      let dueAt = chunk.at;
      for (const toxic of toxics) {
        if (toxic.type === "latency") {
          const jitter = toxic.jitterMs ? (this.#prng.next() * 2 - 1) * toxic.jitterMs : 0;
          dueAt += Math.max(0, toxic.latencyMs + jitter);
        } else if (toxic.type === "slicer") {
          pieces = pieces.flatMap((piece) => this.#slice(piece, toxic));
        } else if (toxic.type === "bandwidth") {
          pieces = pieces.flatMap((piece) => throttle(piece, toxic.bytesPerSecond));
        }
      }
      const wait = dueAt - clock.now();
      if (wait > 0) await sleep(wait, timers, stop);
      for (const piece of pieces) {
        if (piece.pauseMs > 0) await sleep(piece.pauseMs, timers, stop);
        await writeAll(to, piece.data);
        counters.bytesOut += piece.data.length;
        counters.held -= piece.data.length;
        counters.writes++;
      }
      return;
    }
  }

  #slice(
    piece: { data: Uint8Array; pauseMs: number },
    toxic: Extract<Toxic, { type: "slicer" }>,
  ): Array<{ data: Uint8Array; pauseMs: number }> {
    const out: Array<{ data: Uint8Array; pauseMs: number }> = [];
    let offset = 0;
    while (offset < piece.data.length) {
      const variation = toxic.sizeVariation ?? 0;
      const size = Math.max(
        1,
        Math.round(toxic.averageSize + (this.#prng.next() * 2 - 1) * variation),
      );
      out.push({
        data: piece.data.subarray(offset, offset + size),
        pauseMs: out.length === 0 ? piece.pauseMs : toxic.delayMs ?? 0,
      });
      offset += size;
    }
    return out;
  }
}

function throttle(
  piece: { data: Uint8Array; pauseMs: number },
  bytesPerSecond: number,
): Array<{ data: Uint8Array; pauseMs: number }> {
  // Pieces of a tenth of a second of bandwidth, each paused for its own transmission time.
  const step = Math.max(1, Math.floor(bytesPerSecond / 10));
  const out: Array<{ data: Uint8Array; pauseMs: number }> = [];
  for (let offset = 0; offset < piece.data.length; offset += step) {
    const data = piece.data.subarray(offset, offset + step);
    out.push({
      data,
      pauseMs: (offset === 0 ? piece.pauseMs : 0) + (data.length / bytesPerSecond) * 1_000,
    });
  }
  return out;
}

async function writeAll(conn: Deno.TcpConn, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) offset += await conn.write(data.subarray(offset));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

function abortPromise(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

function checkToxic(input: ToxicInput): Toxic {
  const fail = (field: string, value: unknown, rule: string): never => {
    throw new RangeError(
      `Cannot add the toxic as '${field}' must be ${rule}: current value is ${
        JSON.stringify(value)
      }`,
    );
  };
  if (input.direction !== "upstream" && input.direction !== "downstream") {
    fail("direction", input.direction, '"upstream" or "downstream"');
  }
  const toxicity = input.toxicity ?? 1;
  if (!(toxicity >= 0 && toxicity <= 1)) fail("toxicity", toxicity, "in 0..1");
  const nonNegative = (field: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      fail(field, value, ">= 0");
    }
  };
  switch (input.type) {
    case "latency":
      nonNegative("latencyMs", input.latencyMs);
      if (input.latencyMs === undefined) fail("latencyMs", undefined, ">= 0");
      nonNegative("jitterMs", input.jitterMs);
      break;
    case "bandwidth":
      if (!(Number.isFinite(input.bytesPerSecond) && input.bytesPerSecond > 0)) {
        fail("bytesPerSecond", input.bytesPerSecond, "> 0");
      }
      break;
    case "reset_peer":
      nonNegative("afterMs", input.afterMs);
      break;
    case "timeout":
      nonNegative("timeoutMs", input.timeoutMs);
      break;
    case "slicer":
      if (!(Number.isInteger(input.averageSize) && input.averageSize > 0)) {
        fail("averageSize", input.averageSize, "a positive integer");
      }
      nonNegative("sizeVariation", input.sizeVariation);
      nonNegative("delayMs", input.delayMs);
      break;
    default:
      fail("type", (input as { type?: unknown }).type, "a known toxic type");
  }
  const { name, ...rest } = input;
  return { ...rest, name: name ?? `${input.type}_${input.direction}`, toxicity } as Toxic;
}
