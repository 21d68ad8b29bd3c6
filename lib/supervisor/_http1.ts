// Internal helper; not exported by mod.ts.

/** A request of {@link http1Request}. */
export interface Http1Request {
  /** Method, e.g. `GET`. */
  method: string;
  /** Path and query, starting with `/`. */
  path: string;
  /** Extra request headers. */
  headers?: Readonly<Record<string, string>>;
  /** Body, sent with a `content-length`. */
  body?: string;
  /** Aborts the request, closing the connection. */
  signal: AbortSignal;
  /** Largest response read, in bytes; a larger one is an error. @default {1_048_576} */
  maxBytes?: number;
}

/** The response of {@link http1Request}. */
export interface Http1Response {
  /** Status code. */
  status: number;
  /** Headers, names lowercased. */
  headers: Headers;
  /** Body, decoded as UTF-8 (and de-chunked). */
  body: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * One request over a plain HTTP/1.1 connection to `hostname:port`, closed
 * after the response. Unlike `fetch`, it never goes through an `HTTP_PROXY`,
 * which would not reach a server on the supervisor's loopback. Meant for the
 * supervisor's own small exchanges: readiness probes and its control API.
 */
export async function http1Request(
  hostname: string,
  port: number,
  request: Http1Request,
): Promise<Http1Response> {
  const { signal } = request;
  const maxBytes = request.maxBytes ?? 1024 * 1024;
  signal.throwIfAborted();
  const conn = await Deno.connect({ hostname, port, signal });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    conn.close();
  };
  signal.addEventListener("abort", close, { once: true });
  try {
    const host = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
    const body = request.body === undefined ? undefined : encoder.encode(request.body);
    let head = `${request.method} ${request.path} HTTP/1.1\r\nHost: ${host}\r\n` +
      `User-Agent: flotilla-supervisor\r\nAccept: */*\r\nConnection: close\r\n`;
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      if (/[\r\n]/.test(name + value)) throw new TypeError(`Invalid header "${name}"`);
      head += `${name}: ${value}\r\n`;
    }
    if (body !== undefined) head += `Content-Length: ${body.length}\r\n`;
    await writeAll(conn, encoder.encode(head + "\r\n"));
    if (body !== undefined) await writeAll(conn, body);

    // Read the whole response: the server closes the connection after it.
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buffer = new Uint8Array(16 * 1024);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      total += n;
      if (total > maxBytes) {
        throw new RangeError(`The response of ${host} exceeds ${maxBytes} bytes`);
      }
      chunks.push(buffer.slice(0, n));
    }
    return parseResponse(concat(chunks, total), host);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw error;
  } finally {
    signal.removeEventListener("abort", close);
    close();
  }
}

function parseResponse(bytes: Uint8Array, host: string): Http1Response {
  const end = indexOfHeadEnd(bytes);
  const head = decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
  const lines = head.split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (match === null) throw new Error(`Not an HTTP response from ${host}`);
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let body = end === -1 ? new Uint8Array() : bytes.subarray(end + 4);
  if (/\bchunked\b/i.test(headers.get("transfer-encoding") ?? "")) body = dechunk(body);
  else {
    const length = Number(headers.get("content-length") ?? NaN);
    if (Number.isInteger(length) && length >= 0) body = body.subarray(0, length);
  }
  return { status: Number(match[1]), headers, body: decoder.decode(body) };
}

function indexOfHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function dechunk(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let offset = 0;
  while (offset < bytes.length) {
    let lineEnd = offset;
    while (lineEnd + 1 < bytes.length && !(bytes[lineEnd] === 13 && bytes[lineEnd + 1] === 10)) {
      lineEnd++;
    }
    const size = parseInt(decoder.decode(bytes.subarray(offset, lineEnd)).split(";")[0]!, 16);
    if (!Number.isInteger(size) || size <= 0) break;
    const start = lineEnd + 2;
    parts.push(bytes.subarray(start, start + size));
    total += Math.min(size, Math.max(0, bytes.length - start));
    offset = start + size + 2;
  }
  return concat(parts, total);
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk.subarray(0, total - offset), offset);
    offset += chunk.length;
    if (offset >= total) break;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}
