import assert from "node:assert/strict";
import { freePort, TextLineStream } from "@flotilla/testing";

function startNotesProcess(port: number) {
  const main = new URL("./testdata/notes_main.ts", import.meta.url).pathname;
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", `--allow-net=127.0.0.1:${port}`, "--allow-env", main],
    env: { PORT: String(port), FLOTILLA_DRAIN_TIMEOUT_MS: "20000" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

async function waitForLine(
  lines: AsyncIterator<string>,
  predicate: (record: Record<string, unknown>) => boolean,
) {
  while (true) {
    const next = await lines.next();
    if (next.done) throw new Error("the process closed stdout before the expected line");
    const record = JSON.parse(next.value);
    if (predicate(record)) return record;
  }
}

Deno.test("serveService() on SIGTERM finishes in-flight work, refuses new work, and exits 0", async () => {
  const port = freePort();
  const child = startNotesProcess(port);
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream())[
    Symbol.asyncIterator
  ]();
  try {
    const ready = await waitForLine(lines, (r) => r.msg === "ready");
    assert.equal(ready.service, "notes");
    const slow = fetch(`http://127.0.0.1:${port}/rpc/slow`, { method: "POST", body: "{}" });
    await waitForLine(lines, (r) => r.msg === "slow started");
    child.kill("SIGTERM");
    await waitForLine(lines, (r) => r.msg === "draining");
    const response = await slow;
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { finished: true });
    await waitForLine(lines, (r) => r.msg === "stopped");
    const status = await child.status;
    assert.equal(status.code, 0);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.stdout.cancel().catch(() => {});
    await child.status;
  }
});
