import type { EventStore } from "./event_store.ts";
import { startPostgres } from "../testing/postgres.ts";
import { testEventStoreConformance } from "./conformance.ts";
import { PostgresEventStore } from "./postgres_event_store.ts";

/** A store on a server of its own; disposing the store stops the server. */
async function openOnOwnServer(): Promise<EventStore> {
  const server = await startPostgres();
  const store = await PostgresEventStore.connect({ url: server.url, pollIntervalMs: 200 });
  let stopped: Promise<void> | undefined;
  const stop = async () => {
    await store[Symbol.asyncDispose]();
    await server[Symbol.asyncDispose]();
  };
  return new Proxy(store, {
    get(target, key) {
      if (key === Symbol.asyncDispose) return () => (stopped ??= stop());
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

testEventStoreConformance("PostgresEventStore", openOnOwnServer, { propertyRuns: 2 });
