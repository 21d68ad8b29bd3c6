// Internal helper; not exported by mod.ts.

const NEWLINE = 10;
/** A line longer than this is written in pieces rather than buffered forever. */
const MAX_PENDING = 64 * 1024;
const encoder = new TextEncoder();

/**
 * A service's log file: the JSON lines its process writes on stdout and
 * stderr, appended whole-line by whole-line so the two streams never tear
 * each other's lines, plus the supervisor's own notes about the process.
 */
export class LogFile {
  /** Path of the file. */
  readonly path: string;
  readonly #file: Deno.FsFile;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /** Opens `path` for appending, creating it if needed. */
  static async open(path: string): Promise<LogFile> {
    return new LogFile(path, await Deno.open(path, { append: true, create: true }));
  }

  /** Appends raw bytes, after everything written before. Errors are dropped. */
  write(bytes: Uint8Array): void {
    if (this.#closed || bytes.length === 0) return;
    this.#queue = this.#queue.then(() => writeAll(this.#file, bytes)).catch(() => {});
  }

  /** Appends one JSON line written by the supervisor about `service`. */
  note(service: string, level: "info" | "warn" | "error", msg: string, fields = {}): void {
    const record = {
      time: new Date().toISOString(),
      level,
      msg,
      service,
      source: "supervisor",
      ...fields,
    };
    this.write(encoder.encode(JSON.stringify(record) + "\n"));
  }

  /** Copies `stream` into the file line by line until it ends. */
  async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let pending: Uint8Array = new Uint8Array(0);
    try {
      for await (const chunk of stream) {
        const data = pending.length === 0 ? chunk : concat(pending, chunk);
        const end = data.lastIndexOf(NEWLINE);
        if (end === -1) {
          pending = data.length > MAX_PENDING
            ? (this.write(data.slice()), new Uint8Array(0))
            : data;
          continue;
        }
        this.write(data.slice(0, end + 1));
        pending = data.slice(end + 1);
      }
    } catch {
      // The pipe broke: keep what was read.
    }
    if (pending.length > 0) this.write(concat(pending, Uint8Array.of(NEWLINE)));
  }

  /** The last `count` lines of the file, once pending writes are done. */
  async tail(count: number): Promise<string[]> {
    await this.#queue;
    try {
      using file = await Deno.open(this.path, { read: true });
      const size = (await file.stat()).size;
      const length = Math.min(size, 16 * 1024);
      await file.seek(size - length, Deno.SeekMode.Start);
      const buffer = new Uint8Array(length);
      let read = 0;
      while (read < length) {
        const n = await file.read(buffer.subarray(read));
        if (n === null) break;
        read += n;
      }
      const lines = new TextDecoder().decode(buffer.subarray(0, read)).split("\n");
      if (size > length) lines.shift();
      return lines.filter((line) => line.trim() !== "").slice(-count);
    } catch {
      return [];
    }
  }

  /** Waits for pending writes and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    this.#file.close();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
