import assert from "node:assert/strict";
import { join } from "node:path";
import { LogFile } from "./_log_file.ts";
import { tempDir } from "./_test_util.ts";

const encoder = new TextEncoder();

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((chunk) => encoder.encode(chunk)));
}

Deno.test("LogFile.pump() writes whole lines, so two streams never tear each other's lines", async () => {
  await using dir = await tempDir();
  const log = await LogFile.open(join(dir.path, "a.log"));
  await Promise.all([
    log.pump(streamOf('{"a":', '1}\n{"a":2}\n{"a"', ":3}")),
    log.pump(streamOf('{"b":1}\n', '{"b":', "2}\n")),
  ]);
  await log.close();
  const lines = (await Deno.readTextFile(join(dir.path, "a.log"))).trimEnd().split("\n");
  assert.deepEqual(lines.toSorted(), ['{"a":1}', '{"a":2}', '{"a":3}', '{"b":1}', '{"b":2}']);
});

Deno.test("LogFile appends to what is there and notes JSON lines", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "a.log");
  await Deno.writeTextFile(path, "old\n");
  const log = await LogFile.open(path);
  log.note("order", "warn", "process exited", { code: 1 });
  await log.close();
  log.write(encoder.encode("after close\n")); // dropped
  const [old, note, ...rest] = (await Deno.readTextFile(path)).split("\n");
  assert.equal(old, "old");
  const record = JSON.parse(note!);
  assert.deepEqual({ ...record, time: undefined }, {
    time: undefined,
    level: "warn",
    msg: "process exited",
    service: "order",
    source: "supervisor",
    code: 1,
  });
  assert.deepEqual(rest, [""]);
});

Deno.test("LogFile.tail() returns the last non-empty lines", async () => {
  await using dir = await tempDir();
  const log = await LogFile.open(join(dir.path, "a.log"));
  await log.pump(streamOf(Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join("")));
  assert.deepEqual(await log.tail(3), ["line 27", "line 28", "line 29"]);
  await log.close();
});
