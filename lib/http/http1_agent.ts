/**
 * A pooled HTTP/1.1 client over `Deno.connect`, for the HTTP transport's
 * service-to-service calls.
 *
 * @module
 */

/** Options of {@link Http1Agent}. */
export interface Http1AgentOptions {
  /** Idle connections kept per origin; more are closed when released. @default {256} */
  maxIdlePerOrigin?: number;
  /** An idle connection is closed after this long unused, in ms. @default {15_000} */
  idleTimeoutMs?: number;
  /** The largest response head accepted, in bytes. @default {65_536} */
  maxHeadBytes?: number;
  /** The largest response body accepted, in bytes. @default {67_108_864} */
  maxBodyBytes?: number;
  /**
   * Opens a connection to `target` — for TLS (`Deno.connectTls`), a Unix
   * socket, or a test's in-memory stream. @default {`Deno.connect`, no Nagle delay}
   */
  connect?: (target: Http1Target) => Promise<Http1Socket>;
}

/** The byte stream a connection runs on: what `Deno.Conn` offers. */
export interface Http1Socket {
  /** Reads into `buffer`; null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `bytes`; resolves with how many. */
  write(bytes: Uint8Array): Promise<number>;
  /** Closes the stream; a pending read rejects or ends. */
  close(): void;
}

/** Where a request goes: a plain-TCP origin. */
export interface Http1Target {
  /** Host name or IP address (an IPv6 address without brackets). */
  readonly hostname: string;
  /** TCP port. */
  readonly port: number;
}

/** One request. */
export interface Http1Request {
  /** The method, such as `POST`. */
  readonly method: string;
  /** Path and query, starting with `/`. */
  readonly path: string;
  /** Header names and values; `host` and `content-length` are the agent's to write. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The body, sent with `content-length`. */
  readonly body?: string | Uint8Array;
  /** Closes the connection and rejects with `ABORTED` when aborted. */
  readonly signal?: AbortSignal;
  /**
   * Whether the request may be sent again after a reused connection closed
   * before any byte of the answer arrived (the server may have closed it as
   * idle, or may have crashed while acting on it). @default {false}
   */
  readonly replayable?: boolean;
}

/** One response, read whole. */
export interface Http1Response {
  /** The status code. */
  readonly status: number;
  /** The body's bytes (empty when there is none). */
  readonly body: Uint8Array;
  /** A header's value, name case-insensitive; repeated ones joined with `, `. */
  header(name: string): string | undefined;
}

/**
 * Why a request failed:
 * - `CONNECT`: no connection could be opened — nothing was sent;
 * - `CONNECTION_LOST`: the connection failed or closed after the request was
 *   (perhaps partly) sent — the server may have acted on it;
 * - `PROTOCOL`: the answer was not valid HTTP/1.1, or too large;
 * - `INVALID_REQUEST`: a method, path, header name or value that cannot be
 *   sent (a line break, say) — nothing was sent;
 * - `ABORTED`: the request's signal fired;
 * - `CLOSED`: the agent was closed.
 */
export type Http1ErrorCode =
  | "CONNECT"
  | "CONNECTION_LOST"
  | "PROTOCOL"
  | "INVALID_REQUEST"
  | "ABORTED"
  | "CLOSED";

/** A failed HTTP/1.1 request; `code` says at which stage (see {@link Http1ErrorCode}). */
export class Http1Error extends Error {
  /** At which stage the request failed. */
  readonly code: Http1ErrorCode;

  /** Creates the error. */
  constructor(code: Http1ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "Http1Error";
    this.code = code;
  }
}

/**
 * A pool of keep-alive HTTP/1.1 connections per origin, one request at a
 * time on each.
 *
 * Why not `fetch`: on this runtime a `fetch` round trip costs about four
 * times the CPU of writing the request and parsing the answer over a kept
 * `Deno.Conn` (a `Request` and `Response` object, header guards, a body
 * stream and a dependent abort signal per call), and the caller of a
 * service-to-service call is usually the bottleneck. The protocol needed
 * here is narrow: a request with a known length, and answers delimited by
 * `content-length`, chunked encoding or the connection's end.
 *
 * Every connection keeps a read pending while idle, so a connection the
 * server closed (a restart, an idle timeout) leaves the pool at once instead
 * of failing the next request. Plain TCP only: `https:` targets are for
 * `fetch`.
 *
 * @example
 * ```ts ignore
 * await using agent = new Http1Agent();
 * const response = await agent.request({ hostname: "127.0.0.1", port: 7102 }, {
 *   method: "POST",
 *   path: "/rpc/reserve",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ sku: "a", quantity: 1 }),
 * });
 * ```
 */
export class Http1Agent implements AsyncDisposable {
  readonly #pools = new Map<string, Connection[]>();
  readonly #open = new Set<Connection>();
  readonly #limits: Limits;
  readonly #maxIdle: number;
  readonly #idleTimeoutMs: number;
  readonly #openSocket: (target: Http1Target) => Promise<Http1Socket>;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /** Creates an agent; no connection is opened until the first request. */
  constructor(options: Http1AgentOptions = {}) {
    this.#maxIdle = options.maxIdlePerOrigin ?? 256;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
    this.#openSocket = options.connect ?? connectTcp;
    this.#limits = {
      maxHeadBytes: options.maxHeadBytes ?? 65_536,
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
    };
  }

  /** Connections open now, idle or busy. */
  get connections(): number {
    return this.#open.size;
  }

  /**
   * Sends `request` to `target` and reads the whole answer.
   *
   * @throws {Http1Error} see {@link Http1ErrorCode}.
   */
  async request(target: Http1Target, request: Http1Request): Promise<Http1Response> {
    if (this.#closed) throw new Http1Error("CLOSED", "The HTTP agent is closed");
    const head = requestHead(target, request);
    const signal = request.signal;
    const key = `${target.hostname}:${target.port}`;
    for (let attempt = 0;; attempt++) {
      if (signal?.aborted) throw aborted(signal);
      const idle = this.#pools.get(key)?.pop();
      const connection = idle ?? await this.#connect(key, target, signal);
      try {
        return await connection.exchange(head, request.body, signal);
      } catch (error) {
        // A kept connection can close under us just as we write on it: send again once on a
        // fresh one when nothing can have reached the server, or when the request is replayable.
        const retry = attempt === 0 && error instanceof StaleConnection &&
          (!error.sent || request.replayable === true);
        if (retry) continue;
        throw error instanceof StaleConnection ? error.failure : error;
      }
    }
  }

  /** Closes every connection; requests in flight fail with `CLOSED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    for (const connection of this.#open) {
      connection.close(new Http1Error("CLOSED", "The HTTP agent is closed"));
    }
    this.#pools.clear();
  }

  /** Closes the agent. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  async #connect(key: string, target: Http1Target, signal?: AbortSignal): Promise<Connection> {
    let conn: Http1Socket;
    try {
      conn = await connectUnlessAborted(this.#openSocket(target), signal);
    } catch (error) {
      if (error instanceof Http1Error) throw error;
      throw new Http1Error(
        "CONNECT",
        `Cannot connect to ${key}: ${error instanceof Error ? error.message : error}`,
        { cause: error },
      );
    }
    if (this.#closed) {
      conn.close();
      throw new Http1Error("CLOSED", "The HTTP agent is closed");
    }
    const connection = new Connection(conn, this.#limits, {
      release: (c) => this.#release(key, c),
      closed: (c) => this.#forget(key, c),
    });
    this.#open.add(connection);
    this.#startSweeper();
    return connection;
  }

  #release(key: string, connection: Connection): void {
    let pool = this.#pools.get(key);
    if (!pool) this.#pools.set(key, pool = []);
    if (this.#closed || pool.length >= this.#maxIdle) {
      connection.close(new Http1Error("CLOSED", "Idle connection closed"));
      return;
    }
    pool.push(connection);
  }

  #forget(key: string, connection: Connection): void {
    this.#open.delete(connection);
    const pool = this.#pools.get(key);
    const at = pool?.indexOf(connection) ?? -1;
    if (at >= 0) pool!.splice(at, 1);
  }

  #startSweeper(): void {
    if (this.#sweeper !== undefined) return;
    const timeout = this.#idleTimeoutMs;
    const sweeper = setInterval(() => {
      const now = performance.now();
      for (const pool of this.#pools.values()) {
        // The pool is a stack: the longest idle are at the bottom.
        while (pool.length > 0 && now - pool[0]!.idleSince > timeout) {
          pool.shift()!.close(new Http1Error("CLOSED", "Idle connection closed"));
        }
      }
    }, Math.max(50, Math.min(timeout / 2, 5_000)));
    Deno.unrefTimer(sweeper);
    this.#sweeper = sweeper;
  }
}

interface Limits {
  readonly maxHeadBytes: number;
  readonly maxBodyBytes: number;
}

interface PoolHooks {
  release(connection: Connection): void;
  closed(connection: Connection): void;
}

/** Thrown inside the agent when a reused connection failed before any byte of the answer. */
class StaleConnection extends Error {
  constructor(readonly failure: Http1Error, readonly sent: boolean) {
    super(failure.message);
  }
}

const CR = 13;
const LF = 10;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** What a header name may hold (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What a header value may hold here: visible ASCII, space and tab, no line break. */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
/** Headers the agent writes itself; a second copy would make the request ambiguous. */
const FRAMING_HEADER = /^(?:host|content-length|transfer-encoding)$/i;
/** Room left in front of the body for the request head, so both go out in one write. */
const HEAD_ROOM = 2048;

interface Exchange {
  resolve(response: Http1Response): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  /** Whether any byte of the answer has arrived. */
  answered: boolean;
  /** Whether the whole request was written. */
  sent: boolean;
}

/** One keep-alive connection: a read loop that parses answers as their bytes arrive. */
class Connection {
  readonly #conn: Http1Socket;
  readonly #limits: Limits;
  readonly #hooks: PoolHooks;
  #buffer = new Uint8Array(16 * 1024);
  #out = new Uint8Array(HEAD_ROOM + 4096);
  /** Bytes of `#buffer` holding data. */
  #length = 0;
  #exchange: Exchange | undefined;
  #closed = false;
  /** Whether an answer has been read on this connection before. */
  #reused = false;
  /** performance.now() when it went idle. */
  idleSince = 0;
  // The state of the answer being parsed.
  #scanFrom = 0;
  #headEnd = -1;
  #status = 0;
  #head = "";
  #contentLength = -1;
  #chunked = false;
  #keepAlive = true;
  #chunkAt = 0;
  #chunkBody: Uint8Array | undefined;
  #chunkBodyLength = 0;
  readonly #onAbort = () => {
    const signal = this.#exchange?.signal;
    if (signal) this.close(aborted(signal));
  };

  constructor(conn: Http1Socket, limits: Limits, hooks: PoolHooks) {
    this.#conn = conn;
    this.#limits = limits;
    this.#hooks = hooks;
    this.#readLoop();
  }

  /** Sends a request (`head` from {@link requestHead}) and resolves with the answer. */
  exchange(
    head: string,
    body: string | Uint8Array | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Http1Response> {
    if (signal?.aborted) {
      this.idleSince = performance.now();
      this.#hooks.release(this);
      return Promise.reject(aborted(signal));
    }
    const bytes = this.#encode(head, body);
    const { promise, resolve, reject } = Promise.withResolvers<Http1Response>();
    const exchange: Exchange = { resolve, reject, signal, answered: false, sent: false };
    this.#exchange = exchange;
    signal?.addEventListener("abort", this.#onAbort);
    this.#write(bytes, exchange);
    return promise;
  }

  /** Closes the connection; a request in flight fails with `error`. */
  close(error: Http1Error): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime.
    }
    this.#hooks.closed(this);
    this.#settle(error);
  }

  /**
   * Head and body in one buffer, so they go out in one write. The buffer is
   * the connection's own, reused: one request at a time is written on it.
   */
  #encode(head: string, body: string | Uint8Array | undefined): Uint8Array {
    if (body === undefined) return encoder.encode(`${head}content-length: 0\r\n\r\n`);
    if (typeof body !== "string") {
      const headBytes = encoder.encode(`${head}content-length: ${body.length}\r\n\r\n`);
      const bytes = new Uint8Array(headBytes.length + body.length);
      bytes.set(headBytes);
      bytes.set(body, headBytes.length);
      return bytes;
    }
    // The body is encoded first, behind room for the head; the head then goes just before it.
    const room = Math.max(HEAD_ROOM, head.length + 32);
    const size = room + body.length * 3;
    if (this.#out.length < size) this.#out = new Uint8Array(size);
    const out = this.#out;
    const bodyLength = encoder.encodeInto(body, out.subarray(room)).written;
    head += `content-length: ${bodyLength}\r\n\r\n`;
    // The head is ASCII (validated), one byte per character.
    const start = room - head.length;
    encoder.encodeInto(head, out.subarray(start, room));
    const bytes = out.subarray(start, room + bodyLength);
    // A buffer grown for one large body is not kept.
    if (out.length > 256 * 1024) this.#out = new Uint8Array(HEAD_ROOM + 4096);
    return bytes;
  }

  async #write(bytes: Uint8Array, exchange: Exchange): Promise<void> {
    try {
      let written = 0;
      while (written < bytes.length) {
        written += await this.#conn.write(written === 0 ? bytes : bytes.subarray(written));
      }
      exchange.sent = true;
    } catch (error) {
      if (this.#exchange !== exchange) return;
      this.close(this.#lost("writing the request", error));
    }
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        if (this.#length === this.#buffer.length) this.#grow();
        const read = await this.#conn.read(this.#buffer.subarray(this.#length));
        if (read === null) return this.#ended();
        this.#length += read;
        const exchange = this.#exchange;
        if (!exchange) {
          return this.close(new Http1Error("PROTOCOL", "Bytes arrived on an idle connection"));
        }
        exchange.answered = true;
        this.#parse();
      }
    } catch (error) {
      if (this.#closed) return;
      this.close(error instanceof Http1Error ? error : this.#lost("reading the answer", error));
    }
  }

  #grow(): void {
    const limit = this.#limits.maxHeadBytes + this.#limits.maxBodyBytes + 64;
    if (this.#buffer.length >= limit) {
      throw new Http1Error("PROTOCOL", "The answer is larger than the agent accepts");
    }
    const bigger = new Uint8Array(Math.min(limit, this.#buffer.length * 2));
    bigger.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = bigger;
  }

  /** Parses what has arrived; completes the exchange when the answer is whole. */
  #parse(): void {
    if (this.#headEnd < 0 && !this.#parseHead()) return;
    const bodyStart = this.#headEnd;
    let body: Uint8Array;
    if (this.#chunked) {
      const done = this.#parseChunks();
      if (!done) return;
      body = this.#chunkBody ? this.#chunkBody.slice(0, this.#chunkBodyLength) : new Uint8Array();
    } else if (this.#contentLength >= 0) {
      const end = bodyStart + this.#contentLength;
      if (this.#length < end) return;
      if (this.#length > end) {
        throw new Http1Error("PROTOCOL", "More bytes than the answer's content-length");
      }
      body = this.#buffer.slice(bodyStart, end);
    } else {
      // Delimited by the connection's end: #ended() completes it.
      if (this.#length - bodyStart > this.#limits.maxBodyBytes) {
        throw new Http1Error("PROTOCOL", "The answer is larger than the agent accepts");
      }
      return;
    }
    this.#complete(body);
  }

  /** Finds and reads the head; false while it is incomplete. */
  #parseHead(): boolean {
    for (;;) {
      const buffer = this.#buffer;
      let end = -1;
      for (let i = Math.max(this.#scanFrom, 3); i < this.#length; i++) {
        if (
          buffer[i] === LF && buffer[i - 1] === CR && buffer[i - 2] === LF && buffer[i - 3] === CR
        ) {
          end = i + 1;
          break;
        }
      }
      if (end < 0) {
        if (this.#length > this.#limits.maxHeadBytes) {
          throw new Http1Error("PROTOCOL", "The answer's head is too large");
        }
        this.#scanFrom = this.#length;
        return false;
      }
      if (end > this.#limits.maxHeadBytes) {
        throw new Http1Error("PROTOCOL", "The answer's head is too large");
      }
      const head = decoder.decode(buffer.subarray(0, end - 4));
      const status = parseStatusLine(head);
      if (status >= 100 && status < 200) {
        // An interim answer (100 Continue, 103 Early Hints): the real one follows.
        buffer.copyWithin(0, end, this.#length);
        this.#length -= end;
        this.#scanFrom = 0;
        continue;
      }
      this.#status = status;
      this.#head = head;
      this.#headEnd = end;
      this.#readFraming(head);
      return true;
    }
  }

  #readFraming(head: string): void {
    const http10 = head.charCodeAt(7) === 48; // "HTTP/1.0"
    let keepAlive = !http10;
    let contentLength = -1;
    let chunked = false;
    let at = head.indexOf("\r\n");
    while (at >= 0) {
      const next = head.indexOf("\r\n", at + 2);
      const line = head.slice(at + 2, next < 0 ? head.length : next);
      at = next;
      const colon = line.indexOf(":");
      if (colon <= 0) throw new Http1Error("PROTOCOL", `Malformed header line: ${line}`);
      const name = line.slice(0, colon).toLowerCase();
      if (name === "content-length") {
        const value = line.slice(colon + 1).trim();
        if (!/^\d+$/.test(value) || (contentLength >= 0 && Number(value) !== contentLength)) {
          throw new Http1Error("PROTOCOL", `Invalid content-length: ${value}`);
        }
        contentLength = Number(value);
      } else if (name === "transfer-encoding") {
        const codings = line.slice(colon + 1).toLowerCase().split(",").map((c) => c.trim());
        if (codings.at(-1) !== "chunked") {
          throw new Http1Error("PROTOCOL", `Unsupported transfer-encoding: ${codings.join(", ")}`);
        }
        chunked = true;
      } else if (name === "connection") {
        const options = line.slice(colon + 1).toLowerCase();
        if (/\bclose\b/.test(options)) keepAlive = false;
        else if (/\bkeep-alive\b/.test(options)) keepAlive = true;
      }
    }
    if (contentLength > this.#limits.maxBodyBytes) {
      throw new Http1Error("PROTOCOL", "The answer is larger than the agent accepts");
    }
    const status = this.#status;
    // RFC 9112 §6.3: these never have a body, whatever their headers say.
    if (status === 204 || status === 304) {
      contentLength = 0;
      chunked = false;
    }
    if (chunked) contentLength = -1; // chunked wins over content-length
    if (!chunked && contentLength < 0) keepAlive = false; // the end of the body is the close
    this.#contentLength = contentLength;
    this.#chunked = chunked;
    this.#keepAlive = keepAlive;
    this.#chunkAt = this.#headEnd;
  }

  /** Decodes the chunks that have arrived; true when the last one and the trailers are in. */
  #parseChunks(): boolean {
    const buffer = this.#buffer;
    for (;;) {
      const lineEnd = indexOfCrlf(buffer, this.#chunkAt, this.#length);
      if (lineEnd < 0) return this.#checkChunkLine();
      const line = decoder.decode(buffer.subarray(this.#chunkAt, lineEnd));
      const sizeText = line.split(";", 1)[0]!.trim();
      if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) {
        throw new Http1Error("PROTOCOL", `Invalid chunk size: ${sizeText}`);
      }
      const size = parseInt(sizeText, 16);
      if (size === 0) {
        // Trailers, each a line, then an empty line.
        let at = lineEnd + 2;
        for (;;) {
          const end = indexOfCrlf(buffer, at, this.#length);
          if (end < 0) return this.#checkChunkLine();
          if (end === at) {
            if (end + 2 !== this.#length) {
              throw new Http1Error("PROTOCOL", "More bytes than the chunked answer");
            }
            return true;
          }
          at = end + 2;
        }
      }
      const dataStart = lineEnd + 2;
      if (this.#length < dataStart + size + 2) return this.#checkChunkLine();
      if (buffer[dataStart + size] !== CR || buffer[dataStart + size + 1] !== LF) {
        throw new Http1Error("PROTOCOL", "A chunk does not end with CRLF");
      }
      this.#appendChunk(buffer.subarray(dataStart, dataStart + size));
      this.#chunkAt = dataStart + size + 2;
    }
  }

  /** Guards a pending chunk line against an endless line. */
  #checkChunkLine(): false {
    if (this.#length - this.#chunkAt > this.#limits.maxHeadBytes + 2 + (1 << 24)) {
      throw new Http1Error("PROTOCOL", "A chunk is too large");
    }
    return false;
  }

  #appendChunk(data: Uint8Array): void {
    const needed = this.#chunkBodyLength + data.length;
    if (needed > this.#limits.maxBodyBytes) {
      throw new Http1Error("PROTOCOL", "The answer is larger than the agent accepts");
    }
    if (!this.#chunkBody || this.#chunkBody.length < needed) {
      const bigger = new Uint8Array(Math.max(needed, (this.#chunkBody?.length ?? 1024) * 2));
      if (this.#chunkBody) bigger.set(this.#chunkBody.subarray(0, this.#chunkBodyLength));
      this.#chunkBody = bigger;
    }
    this.#chunkBody.set(data, this.#chunkBodyLength);
    this.#chunkBodyLength = needed;
  }

  /** The answer is whole: hands it over and returns the connection to the pool. */
  #complete(body: Uint8Array): void {
    const response = new ParsedResponse(this.#status, this.#head, body);
    const keepAlive = this.#keepAlive;
    const exchange = this.#exchange!;
    this.#exchange = undefined;
    exchange.signal?.removeEventListener("abort", this.#onAbort);
    this.#resetParser();
    this.#reused = true;
    // An answer can come before the whole request went out (a 413 to a large body, say); the
    // rest of that request must not reach the server as the start of the next one.
    if (keepAlive && exchange.sent) {
      this.idleSince = performance.now();
      this.#hooks.release(this);
    } else {
      this.close(new Http1Error("CLOSED", "Connection closed after the answer"));
    }
    exchange.resolve(response);
  }

  #resetParser(): void {
    this.#length = 0;
    this.#scanFrom = 0;
    this.#headEnd = -1;
    this.#head = "";
    this.#status = 0;
    this.#contentLength = -1;
    this.#chunked = false;
    this.#chunkBody = undefined;
    this.#chunkBodyLength = 0;
    if (this.#buffer.length > 64 * 1024) this.#buffer = new Uint8Array(16 * 1024);
  }

  /** The server closed the connection. */
  #ended(): void {
    const exchange = this.#exchange;
    if (exchange && this.#headEnd >= 0 && !this.#chunked && this.#contentLength < 0) {
      // An answer delimited by the connection's end.
      return this.#complete(this.#buffer.slice(this.#headEnd, this.#length));
    }
    this.close(this.#lost("reading the answer", new Error("connection closed by the server")));
  }

  #lost(while_: string, cause: unknown): Http1Error {
    return new Http1Error(
      "CONNECTION_LOST",
      `The connection was lost while ${while_}: ${cause instanceof Error ? cause.message : cause}`,
      { cause },
    );
  }

  #settle(error: Http1Error): void {
    const exchange = this.#exchange;
    if (!exchange) return;
    this.#exchange = undefined;
    exchange.signal?.removeEventListener("abort", this.#onAbort);
    if (error.code === "CONNECTION_LOST" && this.#reused && !exchange.answered) {
      exchange.reject(new StaleConnection(error, exchange.sent));
    } else {
      exchange.reject(error);
    }
  }
}

class ParsedResponse implements Http1Response {
  readonly #head: string;
  #headers: Map<string, string> | undefined;

  constructor(readonly status: number, head: string, readonly body: Uint8Array) {
    this.#head = head;
  }

  header(name: string): string | undefined {
    if (!this.#headers) {
      const headers = new Map<string, string>();
      for (const line of this.#head.split("\r\n").slice(1)) {
        const colon = line.indexOf(":");
        const key = line.slice(0, colon).toLowerCase();
        const value = line.slice(colon + 1).trim();
        const before = headers.get(key);
        headers.set(key, before === undefined ? value : `${before}, ${value}`);
      }
      this.#headers = headers;
    }
    return this.#headers.get(name.toLowerCase());
  }
}

function parseStatusLine(head: string): number {
  // "HTTP/1.1 200 OK"
  const match = /^HTTP\/1\.[01] (\d{3})(?: |\r|$)/.exec(head.slice(0, 64));
  if (!match) {
    throw new Http1Error("PROTOCOL", `Not an HTTP/1.x status line: ${head.slice(0, 40)}`);
  }
  return Number(match[1]);
}

function indexOfCrlf(buffer: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 1 < to; i++) {
    if (buffer[i] === CR && buffer[i + 1] === LF) return i;
  }
  return -1;
}

async function connectTcp(target: Http1Target): Promise<Http1Socket> {
  const conn = await Deno.connect({ hostname: target.hostname, port: target.port });
  // Requests go out in one write and wait for their answer: Nagle's delay would only add latency.
  conn.setNoDelay(true);
  return conn;
}

/**
 * Waits for a connection, given up when `signal` fires first (a connect to an
 * unreachable host can take minutes). Not `Deno.connect`'s own `signal`: that
 * one would also close the connection when the signal fires after the call,
 * and the connection outlives the call in the pool.
 */
function connectUnlessAborted(
  connecting: Promise<Http1Socket>,
  signal?: AbortSignal,
): Promise<Http1Socket> {
  if (!signal) return connecting;
  const { promise, resolve, reject } = Promise.withResolvers<Http1Socket>();
  const onAbort = () => {
    reject(aborted(signal));
    connecting.then((conn) => conn.close(), () => {});
  };
  signal.addEventListener("abort", onAbort, { once: true });
  connecting.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  return promise;
}

function aborted(signal: AbortSignal): Http1Error {
  return new Http1Error("ABORTED", "The request was aborted", { cause: signal.reason });
}

/** The request's head up to its framing (validated, ASCII), without the final CRLF. */
function requestHead(target: Http1Target, request: Http1Request): string {
  const { method, path } = request;
  if (!TOKEN.test(method)) throw invalid(`method ${JSON.stringify(method)}`);
  if (path.charCodeAt(0) !== 47 || !/^[\x21-\x7e]+$/.test(path)) {
    throw invalid(`path ${JSON.stringify(path)}`);
  }
  if (!/^[\x21-\x7e]+$/.test(target.hostname)) {
    throw invalid(`host ${JSON.stringify(target.hostname)}`);
  }
  const host = target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname;
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}:${target.port}\r\n`;
  const headers = request.headers;
  if (headers) {
    for (const name in headers) {
      const value = headers[name]!;
      if (!TOKEN.test(name)) throw invalid(`header name ${JSON.stringify(name)}`);
      if (FRAMING_HEADER.test(name)) throw invalid(`header ${name}: the agent writes it`);
      if (!FIELD_VALUE.test(value)) throw invalid(`value of header ${name}`);
      head += `${name}: ${value}\r\n`;
    }
  }
  return head;
}

function invalid(what: string): Http1Error {
  return new Http1Error("INVALID_REQUEST", `Cannot send the request: invalid ${what}`);
}
