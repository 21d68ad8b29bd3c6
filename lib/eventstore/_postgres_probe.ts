// deno-lint-ignore-file no-console
import { startPostgres } from "../testing/postgres.ts";
import { PostgresEventStore } from "./postgres_event_store.ts";
await using pg = await startPostgres({ mode: "private" });
await using store = await PostgresEventStore.connect({
  url: pg.url,
  outbox: { stream: "shop.order", source: "/test" },
});
const e = (i: number) => ({
  id: crypto.randomUUID(),
  type: "T",
  data: { i },
  metadata: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
});
const batch = [e(1), e(2)];
console.log(await store.append("s-1", batch, { expectedVersion: "no_stream" }));
console.log(await store.append("s-1", batch, { expectedVersion: "no_stream" }));
console.log(await store.append("s-1", [e(3)], { expectedVersion: 1 }));
console.log(await store.append("s-1", [e(4)], { expectedVersion: 1 }).catch((x) => String(x)));
console.log(
  await store.append("s-1", [{ ...batch[0]!, data: { i: 9 } }], { expectedVersion: "any" }).catch((
    x,
  ) => String(x)),
);
console.log(await store.readStream("s-1"));
console.log((await store.readAll()).map((x) => x.position));
console.log(await store.outbox!.pending(10));
const got: string[] = [];
await using sub = await store.subscribeToAll((evs) => {
  got.push(...evs.map((x) => x.id));
}, { checkpoint: "c1" });
await sub.caughtUp;
await store.append("s-2", [e(5)], { expectedVersion: "any" });
while (got.length < 4) await new Promise((r) => setTimeout(r, 10));
console.log(got.length, sub.position, await store.loadCheckpoint("c1"));
await store.saveSnapshot("s-1", { version: 2, state: { n: 3 } });
console.log(
  await store.loadSnapshot("s-1"),
  await store.streamVersion("s-1"),
  await store.streamVersion("nope"),
);
console.log(await store.append("s-3", [], { expectedVersion: "no_stream" }));
