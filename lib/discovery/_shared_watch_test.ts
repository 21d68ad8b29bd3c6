import assert from "node:assert/strict";
import { registryUnavailable } from "./errors.ts";
import type { ServiceInstance } from "./registry.ts";
import { toInstance } from "./_shared_instances.ts";
import { watchByPolling } from "./_shared_watch.ts";
import { nextMatching } from "./_shared_conformance.ts";

function instance(id: string, port = 1): ServiceInstance {
  return toInstance({ service: "payment", id, address: "127.0.0.1", port, metadata: {} });
}

Deno.test("watchByPolling() yields sorted lists, only when they change", async () => {
  const answers = [
    [instance("b"), instance("a")],
    [instance("a"), instance("b")],
    [instance("a"), instance("b", 2)],
    [instance("a")],
  ];
  let calls = 0;
  const seen: string[] = [];
  const controller = new AbortController();
  for await (
    const list of watchByPolling(() => Promise.resolve(answers[Math.min(calls++, 3)]!), {
      intervalMs: 1,
      signal: controller.signal,
    })
  ) {
    seen.push(list.map((i) => `${i.id}:${i.port}`).join());
    if (list.length === 1) controller.abort();
  }
  assert.deepEqual(seen, ["a:1,b:1", "a:1,b:2", "a:1"]);
});

Deno.test("watchByPolling() reports retryable failures and keeps polling", async () => {
  let calls = 0;
  const errors: unknown[] = [];
  const iterator = watchByPolling(() => {
    calls += 1;
    if (calls === 2 || calls === 3) return Promise.reject(registryUnavailable("x", "down"));
    return Promise.resolve(calls === 1 ? [] : [instance("a")]);
  }, { intervalMs: 1, onError: (e) => errors.push(e) });
  await nextMatching(iterator, (l) => l.length === 0, "the first list");
  await nextMatching(iterator, (l) => l.length === 1, "the list after the failures");
  assert.equal(errors.length, 2);
  await iterator.return();
});

Deno.test("watchByPolling() ends with a failure that is not retryable", async () => {
  const iterator = watchByPolling(() => Promise.reject(new TypeError("bug")), { intervalMs: 1 });
  await assert.rejects(() => iterator.next(), TypeError);
});

Deno.test("watchByPolling() ends mid-poll when its signal aborts, and checks its interval", async () => {
  const controller = new AbortController();
  const iterator = watchByPolling(
    (signal) =>
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    {
      intervalMs: 1,
      signal: controller.signal,
    },
  );
  const next = iterator.next();
  controller.abort();
  assert.equal((await next).done, true);
  await assert.rejects(
    () => watchByPolling(() => Promise.resolve([]), { intervalMs: 0 }).next(),
    /Cannot watch the registry as 'intervalMs' must be a positive number: current value is 0/,
  );
});
