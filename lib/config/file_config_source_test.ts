import assert from "node:assert/strict";
import { z } from "zod";
import { waitFor } from "@flotilla/testing";
import { ConfigStore } from "./config_store.ts";
import { FileConfigSource } from "./file_config_source.ts";

const schema = z.object({ pool: z.object({ size: z.number().int().min(1) }), name: z.string() });

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flotilla-config-file-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

Deno.test("FileConfigSource reloads a watched file, rejects invalid content and follows a rename", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/config.json`;
  await Deno.writeTextFile(file, JSON.stringify({ pool: { size: 2 } }));
  await using config = await ConfigStore.open(schema, {
    defaults: { pool: { size: 1 }, name: "order" },
    source: new FileConfigSource(file, { debounceMs: 20 }),
  });
  assert.equal(config.current.values.pool.size, 2);
  assert.equal(config.current.source, `file:${file}`);
  const sizes: number[] = [];
  config.subscribe((c) => c.pool.size, (size) => sizes.push(size));

  await Deno.writeTextFile(file, JSON.stringify({ pool: { size: 5 } }));
  await waitFor(() => config.current.values.pool.size === 5, {
    what: "reload to 5",
    timeoutMs: 10_000,
  });

  // Not JSON, then invalid for the schema: both rejected, 5 stays.
  await Deno.writeTextFile(file, "{ pool: ");
  await waitFor(() => config.stats.rejected === 1, { what: "JSON rejected", timeoutMs: 10_000 });
  assert.equal(config.lastError?.error.code, "INVALID_CONFIG");
  await Deno.writeTextFile(file, JSON.stringify({ pool: { size: 0 } }));
  await waitFor(() => config.stats.rejected === 2, { what: "schema rejected", timeoutMs: 10_000 });
  assert.equal(config.current.values.pool.size, 5);

  // Written the safe way: a temporary file renamed over it.
  await Deno.writeTextFile(`${file}.tmp`, JSON.stringify({ pool: { size: 9 }, name: "renamed" }));
  await Deno.rename(`${file}.tmp`, file);
  await waitFor(() => config.current.values.name === "renamed", {
    what: "rename",
    timeoutMs: 10_000,
  });
  assert.deepEqual(sizes, [5, 9]);
  assert.equal(config.current.version, 3);
});

Deno.test("FileConfigSource treats a missing file as an empty layer and picks it up once written", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/later.json`;
  await using config = await ConfigStore.open(schema, {
    defaults: { pool: { size: 1 }, name: "order" },
    source: new FileConfigSource(file, { debounceMs: 10 }),
  });
  assert.equal(config.current.revision, "missing");
  await Deno.writeTextFile(file, JSON.stringify({ pool: { size: 3 } }));
  await waitFor(() => config.current.values.pool.size === 3, {
    what: "new file",
    timeoutMs: 10_000,
  });
});

Deno.test("FileConfigSource refuses a negative debounce", () => {
  assert.throws(() => new FileConfigSource("x.json", { debounceMs: -1 }), RangeError);
});
