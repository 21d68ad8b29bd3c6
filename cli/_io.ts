// Internal to the CLI.

/** Where the CLI writes: one call per line, without the newline. */
export interface Io {
  /** Writes a line on stdout. */
  out(line: string): void;
  /** Writes a line on stderr. */
  err(line: string): void;
}

const encoder = new TextEncoder();

function writeLine(stream: { writeSync(p: Uint8Array): number }, line: string): void {
  const bytes = encoder.encode(line + "\n");
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}

/** The process's stdout and stderr. */
export const processIo: Io = {
  out: (line) => writeLine(Deno.stdout, line),
  err: (line) => writeLine(Deno.stderr, line),
};
