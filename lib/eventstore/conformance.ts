/**
 * The conformance suite of the {@link EventStore} port: one set of tests
 * that runs unchanged against every adapter (memory, SQLite, PostgreSQL).
 * Test support: it registers `Deno.test`s.
 *
 * @example
 * ```ts
 * import { testEventStoreConformance } from "@flotilla/eventstore/conformance";
 * import { MemoryEventStore } from "@flotilla/eventstore";
 *
 * testEventStoreConformance("MemoryEventStore", () => Promise.resolve(new MemoryEventStore()));
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type {
  AllSubscription,
  EventStore,
  NewEvent,
  RecordedEvent,
  SubscribeToAllOptions,
} from "./event_store.ts";
import { EventStoreError, WrongExpectedVersionError } from "./errors.ts";

// The port's types and errors, for the documentation of this entry point.
export type * from "./event_store.ts";
export { EventStoreError, type EventStoreErrorCode, WrongExpectedVersionError } from "./errors.ts";

/** Opens a store for one test; the suite disposes it at the end of the test. */
export type EventStoreFactory = () => Promise<EventStore>;

/** Options of {@link testEventStoreConformance}: sizes and timing of the suite. */
export interface EventStoreConformanceOptions {
  /**
   * How long each wait for a condition (a subscription delivering) may take
   * before the test fails: a guard against hangs, not a timing assertion.
   * @default {20_000}
   */
  timeoutMs?: number;
  /** Append attempts in total of each concurrency race. @default {1_000} */
  appends?: number;
  /** Writers racing on one stream. @default {8} */
  writers?: number;
  /**
   * Runs of the fast-check property that races the writers in interleavings
   * chosen by a scheduler (each run makes `appends` attempts).
   * @default {5}
   */
  propertyRuns?: number;
  /** Ignore every test of the suite (say, when the adapter's server is missing). @default {false} */
  ignore?: boolean;
  /** `Deno.test`'s op sanitizer. @default {true} */
  sanitizeOps?: boolean;
  /** `Deno.test`'s resource sanitizer. @default {true} */
  sanitizeResources?: boolean;
}

interface Settings {
  readonly timeoutMs: number;
  readonly appends: number;
  readonly writers: number;
  readonly propertyRuns: number;
}

const TYPE = "conformance.tested";

/**
 * Registers the conformance tests of the {@link EventStore} port, each named
 * `"<name> conforms: <behaviour>"`, each on a store from `open` (disposed at
 * the end of the test) and with stream and checkpoint names of its own
 * (`conformance-<test>-<random>…`). The tests never assume the store is
 * empty: events of other tests (and other processes) may sit between and
 * around theirs in the global order, so adapters on a shared server need no
 * cleanup between tests, and the tests may run in parallel.
 *
 * What an adapter must do to pass:
 *
 * - **append and read**: record events with their stream, id, type, payload
 *   (a JSON round trip), metadata (`{}` when none), versions 0, 1, 2… with
 *   no gap, increasing decimal-string positions and an RFC 3339 time;
 *   `append()` returns the last event's version and position;
 *   `readStream()` forward and backward, from a version (inclusive; past
 *   the end backward means from the last), with a limit; an unknown stream
 *   reads as empty at version −1;
 * - **expected version**: `"any"`; `"no_stream"` (same as −1);
 *   `"stream_exists"`; an exact version — otherwise a
 *   {@link WrongExpectedVersionError} with the stream, the expectation as
 *   given and the actual version, and nothing written;
 * - **idempotency**: a batch whose ids are all stored already, each in this
 *   stream with the same type and payload (JSON value equality, key order
 *   ignored; metadata not compared), is a retry: it succeeds with
 *   `written: false` and the version and position of the batch's last
 *   stored event, whatever the expected version says now, and stores
 *   nothing; an id stored with another stream, type or payload is an
 *   {@link EventStoreError} `IDEMPOTENCY_CONFLICT`; so is a batch that
 *   mixes stored and new ids (partial overlap: a batch is appended whole,
 *   so a partly stored batch is no retry of it) — and nothing is written;
 * - **invalid input**: an empty batch, an event without id or type, a
 *   payload that is not JSON, an id twice in a batch → `INVALID_EVENT`; an
 *   invalid stream name, expected version, limit, version or position →
 *   `RangeError`; nothing written;
 * - **readAll**: global order, `after` a position (exclusive), `limit`
 *   (1,000 by default);
 * - **subscribeToAll**: catch up from `after`, resolve `caughtUp`, then
 *   deliver new appends; batches of at most `batchSize`; positions strictly
 *   increasing, none twice; a named checkpoint saved after each batch and
 *   resumed from (overriding `after`); a handler that throws stops the
 *   subscription, `closed` rejects with its error and the checkpoint stays
 *   before the failed batch; dispose waits for the batch in progress; the
 *   `signal` ends it;
 * - **snapshots**: save, load, replace with a newer one; an older one than
 *   stored is ignored;
 * - **checkpoints**: save, load, overwrite, delete (`undefined`);
 * - **signals and closing**: an aborted signal rejects an operation with
 *   its reason and writes nothing; a disposed store refuses every operation
 *   with `EVENTSTORE_CLOSED` (dispose twice is harmless) and ends its
 *   subscriptions;
 * - **concurrency**: `writers` writers race on one stream for `appends`
 *   attempts in total, each reading the stream's version then appending 1–4
 *   events with it as the expected version: every append either succeeds
 *   with exactly the next version or fails with
 *   {@link WrongExpectedVersionError} (its actual version past the one
 *   read), and the stream ends with no gap and no duplicate, holding exactly
 *   the successful batches in order. Once with the writers' steps
 *   interleaved by a fast-check scheduler (`propertyRuns` runs), once with
 *   free-running async writers (real concurrency on a server).
 *
 * @example
 * ```ts
 * // lib/eventstore/postgres_event_store_test.ts
 * import { testEventStoreConformance } from "./conformance.ts";
 * import { PostgresEventStore } from "./postgres_event_store.ts";
 *
 * testEventStoreConformance("PostgresEventStore", () => PostgresEventStore.connect({ url }), {
 *   propertyRuns: 2,
 *   sanitizeResources: false,
 * });
 * ```
 */
export function testEventStoreConformance(
  name: string,
  open: EventStoreFactory,
  options: EventStoreConformanceOptions = {},
): void {
  const settings: Settings = {
    timeoutMs: options.timeoutMs ?? 20_000,
    appends: options.appends ?? 1_000,
    writers: options.writers ?? 8,
    propertyRuns: options.propertyRuns ?? 5,
  };
  const define = (behaviour: string, fn: (store: EventStore, s: Settings) => Promise<void>) =>
    Deno.test({
      name: `${name} conforms: ${behaviour}`,
      ignore: options.ignore === true,
      sanitizeOps: options.sanitizeOps ?? true,
      sanitizeResources: options.sanitizeResources ?? true,
      async fn() {
        await using store = await open();
        await fn(store, settings);
      },
    });

  define("append() records events that readStream() returns intact", roundTrip);
  define("readStream() reads forward, backward, from a version, up to a limit", readStreamOptions);
  define("append() checks any, no_stream, stream_exists and exact expected versions", expected);
  define("a retried batch is a no-op reporting the first append's result", idempotentRetry);
  define("an id stored with another payload, type or stream is a conflict", idempotencyConflict);
  define("a batch mixing stored and new ids is a conflict and stores nothing", partialOverlap);
  define("append() refuses invalid input and stores nothing", invalidInput);
  define("readAll() reads every stream in global order after a position", readAll);
  define("subscribeToAll() catches up, then delivers new events live", subscribeCatchUpLive);
  define("subscribeToAll() resumes from its durable checkpoint", subscribeCheckpoint);
  define(
    "a handler that throws stops the subscription before the failed batch",
    subscribeHandlerError,
  );
  define("disposing a subscription waits for the batch in progress", subscribeDispose);
  define("a subscription's signal ends it", subscribeSignal);
  define("snapshots are saved, loaded and replaced by newer ones", snapshots);
  define("checkpoints are saved, loaded, overwritten and deleted", checkpoints);
  define("an aborted signal rejects the operation and writes nothing", abortedSignal);
  define("a disposed store refuses every operation", disposedStore);
  define(
    "writers racing on one stream (scheduled interleavings) leave no gap and no duplicate",
    raceScheduled,
  );
  define("writers racing on one stream (async) leave no gap and no duplicate", raceAsync);
}

// --- helpers -----------------------------------------------------------------------------------

/** Unique names for one test. */
function names(test: string) {
  const prefix = `conformance-${test}-${crypto.randomUUID().slice(0, 8)}`;
  let n = 0;
  return {
    prefix,
    stream: () => `${prefix}-s${n++}`,
    checkpoint: () => `${prefix}-c${n++}`,
    ours: (event: RecordedEvent) => event.stream.startsWith(prefix),
  };
}

function events(count: number, data: (i: number) => unknown = (i) => ({ i })): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: crypto.randomUUID(),
    type: TYPE,
    data: data(i),
  }));
}

const big = (position: string) => BigInt(position);
const before = (position: string) => String(big(position) - 1n);

function assertIncreasing(list: readonly RecordedEvent[]): void {
  for (let i = 1; i < list.length; i++) {
    assert.ok(
      big(list[i - 1]!.position) < big(list[i]!.position),
      `positions must increase: ${list[i - 1]!.position} then ${list[i]!.position}`,
    );
  }
}

async function assertWrongVersion(
  promise: Promise<unknown>,
  stream: string,
  expected: unknown,
  actual: number,
): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(
      error instanceof WrongExpectedVersionError,
      `not a WrongExpectedVersionError: ${error}`,
    );
    assert.equal(error.code, "WRONG_EXPECTED_VERSION");
    assert.equal(error.retryable, true);
    assert.equal(error.stream, stream);
    assert.deepEqual(error.expected, expected);
    assert.equal(error.actual, actual);
    return true;
  });
}

async function assertCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof EventStoreError, `not an EventStoreError: ${error}`);
    assert.equal(error.code, code);
    return true;
  });
}

/** Collects what a subscription's handler receives and waits for conditions on it. */
class Collector {
  readonly all: RecordedEvent[] = [];
  readonly batches: number[] = [];
  readonly #waiters: { check: () => boolean; resolve: () => void }[] = [];
  readonly #timeoutMs: number;
  readonly #ours: (event: RecordedEvent) => boolean;
  before?: (events: readonly RecordedEvent[]) => void | Promise<void>;

  constructor(timeoutMs: number, ours: (event: RecordedEvent) => boolean) {
    this.#timeoutMs = timeoutMs;
    this.#ours = ours;
  }

  get ours(): RecordedEvent[] {
    return this.all.filter(this.#ours);
  }

  handler = async (events: readonly RecordedEvent[]): Promise<void> => {
    await this.before?.(events);
    this.batches.push(events.length);
    this.all.push(...events);
    for (const waiter of [...this.#waiters]) {
      if (waiter.check()) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  /** Resolves once `check` holds (checked after each batch); rejects after the guard timeout. */
  until(check: () => boolean, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.findIndex((w) => w.check === check), 1);
        reject(new Error(`Gave up waiting for ${what} after ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  untilOurs(count: number): Promise<void> {
    return this.until(() => this.ours.length >= count, `${count} events of the test`);
  }
}

async function withGuard<T>(promise: Promise<T>, s: Settings, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Gave up waiting for ${what} after ${s.timeoutMs} ms`)),
          s.timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function subscribe(
  store: EventStore,
  collector: Collector,
  options: SubscribeToAllOptions,
): Promise<AllSubscription> {
  return store.subscribeToAll(collector.handler, options);
}

/** Lets the other side run (scheduling, not time). */
const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

// --- the tests ---------------------------------------------------------------------------------

async function roundTrip(store: EventStore): Promise<void> {
  const n = names("roundtrip");
  const stream = n.stream();
  const batch: NewEvent[] = [
    {
      id: crypto.randomUUID(),
      type: "conformance.placed",
      data: { text: 'héllo ✓\n"quoted"', n: 1.5, list: [1, null, "x"], nested: { a: true } },
    },
    {
      id: crypto.randomUUID(),
      type: "conformance.tagged",
      data: "just a string",
      metadata: {
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        correlationId: "c-1",
        nested: { list: [1, 2] },
      },
    },
    { id: crypto.randomUUID(), type: "conformance.counted", data: 42 },
    { id: crypto.randomUUID(), type: "conformance.nothing", data: null, metadata: {} },
  ];
  const result = await store.append(stream, batch, { expectedVersion: "no_stream" });
  assert.equal(result.written, true);
  assert.equal(result.nextExpectedVersion, 3);
  const read = await store.readStream(stream);
  assert.equal(read.length, 4);
  read.forEach((event, i) => {
    const sent = batch[i]!;
    assert.equal(event.stream, stream);
    assert.equal(event.id, sent.id);
    assert.equal(event.type, sent.type);
    assert.deepEqual(event.data, sent.data);
    assert.deepEqual(event.metadata, sent.metadata ?? {});
    assert.equal(event.version, i);
    assert.match(event.position, /^(0|[1-9]\d*)$/);
    assert.ok(!Number.isNaN(Date.parse(event.time)), `time must be RFC 3339: ${event.time}`);
    assert.match(event.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  });
  assertIncreasing(read);
  assert.equal(result.position, read[3]!.position);
  assert.equal(await store.streamVersion(stream), 3);
  const more = await store.append(stream, events(1), { expectedVersion: 3 });
  assert.equal(more.nextExpectedVersion, 4);
  assert.ok(big(more.position) > big(result.position));
  // What was read is a copy: changing it changes nothing stored.
  (read[0]!.data as { n: number }).n = 99;
  assert.deepEqual((await store.readStream(stream, { limit: 1 }))[0]!.data, batch[0]!.data);
}

async function readStreamOptions(store: EventStore): Promise<void> {
  const n = names("readstream");
  const stream = n.stream();
  await store.append(stream, events(4), { expectedVersion: "no_stream" });
  await store.append(stream, events(6, (i) => ({ i: i + 4 })), { expectedVersion: 3 });
  const versions = async (options: Parameters<EventStore["readStream"]>[1]) =>
    (await store.readStream(stream, options)).map((e) => e.version);
  assert.deepEqual(await versions({}), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(await versions({ direction: "forward" }), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(await versions({ fromVersion: 3 }), [3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(await versions({ fromVersion: 3, limit: 2 }), [3, 4]);
  assert.deepEqual(await versions({ limit: 1 }), [0]);
  assert.deepEqual(await versions({ fromVersion: 100 }), []);
  assert.deepEqual(await versions({ direction: "backward" }), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  assert.deepEqual(await versions({ direction: "backward", fromVersion: 5 }), [5, 4, 3, 2, 1, 0]);
  assert.deepEqual(await versions({ direction: "backward", fromVersion: 5, limit: 3 }), [5, 4, 3]);
  assert.deepEqual(await versions({ direction: "backward", limit: 2 }), [9, 8]);
  assert.deepEqual(await versions({ direction: "backward", fromVersion: 100, limit: 1 }), [9]);
  assert.deepEqual(await versions({ direction: "backward", fromVersion: 0 }), [0]);
  assert.deepEqual(
    (await store.readStream(stream, { fromVersion: 7 })).map((e) => (e.data as { i: number }).i),
    [7, 8, 9],
  );
  const unknown = n.stream();
  assert.deepEqual(await store.readStream(unknown), []);
  assert.deepEqual(await store.readStream(unknown, { direction: "backward" }), []);
  assert.equal(await store.streamVersion(unknown), -1);
  assert.equal(await store.streamVersion(stream), 9);
  await assert.rejects(store.readStream(stream, { limit: 0 }), RangeError);
  await assert.rejects(store.readStream(stream, { limit: 1.5 }), RangeError);
  await assert.rejects(store.readStream(stream, { fromVersion: -1 }), RangeError);
  await assert.rejects(
    store.readStream(stream, { direction: "sideways" as unknown as "forward" }),
    RangeError,
  );
  await assert.rejects(store.readStream(""), RangeError);
  await assert.rejects(store.streamVersion(""), RangeError);
}

async function expected(store: EventStore): Promise<void> {
  const n = names("expected");
  const stream = n.stream();
  const append = (expectedVersion: Parameters<EventStore["append"]>[2]["expectedVersion"]) =>
    store.append(stream, events(1), { expectedVersion });
  await assertWrongVersion(append("stream_exists"), stream, "stream_exists", -1);
  await assertWrongVersion(append(0), stream, 0, -1);
  assert.equal((await append("no_stream")).nextExpectedVersion, 0);
  await assertWrongVersion(append("no_stream"), stream, "no_stream", 0);
  await assertWrongVersion(append(-1), stream, -1, 0);
  assert.equal((await append("stream_exists")).nextExpectedVersion, 1);
  assert.equal((await append(1)).nextExpectedVersion, 2);
  await assertWrongVersion(append(1), stream, 1, 2);
  await assertWrongVersion(append(5), stream, 5, 2);
  assert.equal((await append("any")).nextExpectedVersion, 3);
  assert.equal(await store.streamVersion(stream), 3);
  assert.equal((await store.readStream(stream)).length, 4);
  // -1 is the same as "no_stream", and "any" creates a stream too.
  const other = n.stream();
  assert.equal(
    (await store.append(other, events(2), { expectedVersion: -1 })).nextExpectedVersion,
    1,
  );
  const third = n.stream();
  assert.equal(
    (await store.append(third, events(1), { expectedVersion: "any" })).nextExpectedVersion,
    0,
  );
  // A batch that fails the check stores none of its events.
  await assertWrongVersion(
    store.append(other, events(3), { expectedVersion: 0 }),
    other,
    0,
    1,
  );
  assert.equal(await store.streamVersion(other), 1);
}

async function idempotentRetry(store: EventStore): Promise<void> {
  const n = names("retry");
  const stream = n.stream();
  const batch = events(3);
  const first = await store.append(stream, batch, { expectedVersion: "no_stream" });
  assert.equal(first.written, true);
  // The client timed out and sends the same batch again, same expectation.
  const again = await store.append(stream, batch, { expectedVersion: "no_stream" });
  assert.deepEqual(again, { ...first, written: false });
  // Another writer appends; the late retry still reports the first append's result.
  await store.append(stream, events(2), { expectedVersion: 2 });
  assert.deepEqual(await store.append(stream, batch, { expectedVersion: "no_stream" }), again);
  assert.deepEqual(await store.append(stream, batch, { expectedVersion: 0 }), again);
  assert.deepEqual(await store.append(stream, batch, { expectedVersion: "any" }), again);
  // Same payload with its keys in another order, other metadata: still the same events.
  const reordered = batch.map((event) => ({
    ...event,
    data: Object.fromEntries(Object.entries(event.data as object).reverse()),
    metadata: { retry: true },
  }));
  assert.deepEqual(await store.append(stream, reordered, { expectedVersion: "no_stream" }), again);
  // Retrying only part of an earlier batch is a retry too.
  const tail = await store.append(stream, batch.slice(1, 2), { expectedVersion: "no_stream" });
  assert.equal(tail.written, false);
  assert.equal(tail.nextExpectedVersion, 1);
  const read = await store.readStream(stream);
  assert.equal(read.length, 5);
  assert.equal(new Set(read.map((e) => e.id)).size, 5);
  assert.deepEqual(read.slice(0, 3).map((e) => e.id), batch.map((e) => e.id));
  assert.equal(tail.position, read[1]!.position);
  assert.deepEqual(read[0]!.metadata, {});
}

async function idempotencyConflict(store: EventStore): Promise<void> {
  const n = names("conflict");
  const stream = n.stream();
  const [event] = events(1, () => ({ amount: 1 }));
  await store.append(stream, [event!], { expectedVersion: "no_stream" });
  await assertCode(
    store.append(stream, [{ ...event!, data: { amount: 2 } }], { expectedVersion: 0 }),
    "IDEMPOTENCY_CONFLICT",
  );
  await assertCode(
    store.append(stream, [{ ...event!, type: "conformance.other" }], { expectedVersion: 0 }),
    "IDEMPOTENCY_CONFLICT",
  );
  const elsewhere = n.stream();
  await assertCode(
    store.append(elsewhere, [event!], { expectedVersion: "no_stream" }),
    "IDEMPOTENCY_CONFLICT",
  );
  // The conflict wins over a wrong expected version, and the error says which id.
  await assert.rejects(
    store.append(stream, [{ ...event!, data: { amount: 3 } }], { expectedVersion: 7 }),
    (error) => {
      assert.ok(error instanceof EventStoreError);
      assert.equal(error.code, "IDEMPOTENCY_CONFLICT");
      assert.equal(error.data?.id, event!.id);
      assert.equal(error.retryable, false);
      return true;
    },
  );
  assert.equal(await store.streamVersion(stream), 0);
  assert.equal(await store.streamVersion(elsewhere), -1);
}

async function partialOverlap(store: EventStore): Promise<void> {
  const n = names("partial");
  const stream = n.stream();
  const [a, b, c] = events(3);
  await store.append(stream, [a!, b!], { expectedVersion: "no_stream" });
  await assertCode(store.append(stream, [b!, c!], { expectedVersion: 1 }), "IDEMPOTENCY_CONFLICT");
  await assertCode(
    store.append(stream, [c!, a!], { expectedVersion: "any" }),
    "IDEMPOTENCY_CONFLICT",
  );
  assert.deepEqual((await store.readStream(stream)).map((e) => e.id), [a!.id, b!.id]);
  // The new event alone is appended as usual.
  assert.equal((await store.append(stream, [c!], { expectedVersion: 1 })).nextExpectedVersion, 2);
}

async function invalidInput(store: EventStore): Promise<void> {
  const n = names("invalid");
  const stream = n.stream();
  const [ok] = events(1);
  const bad = (list: unknown[]) =>
    store.append(stream, list as NewEvent[], { expectedVersion: "any" });
  await assertCode(bad([]), "INVALID_EVENT");
  await assertCode(bad([ok, ok]), "INVALID_EVENT");
  await assertCode(bad([ok, { ...ok, id: crypto.randomUUID(), type: "" }]), "INVALID_EVENT");
  await assertCode(bad([{ type: TYPE, data: 1 }]), "INVALID_EVENT");
  await assertCode(bad([{ id: "", type: TYPE, data: 1 }]), "INVALID_EVENT");
  await assertCode(bad([{ id: crypto.randomUUID(), type: TYPE }]), "INVALID_EVENT");
  await assertCode(bad([{ id: crypto.randomUUID(), type: TYPE, data: 1n }]), "INVALID_EVENT");
  await assertCode(bad([null]), "INVALID_EVENT");
  await assertCode(
    bad([{ id: crypto.randomUUID(), type: TYPE, data: 1, metadata: "x" }]),
    "INVALID_EVENT",
  );
  for (const expectedVersion of [-2, 1.5, "nope", undefined, NaN]) {
    await assert.rejects(
      store.append(stream, [ok!], { expectedVersion: expectedVersion as number }),
      RangeError,
    );
  }
  await assert.rejects(store.append("", [ok!], { expectedVersion: "any" }), RangeError);
  assert.equal(await store.streamVersion(stream), -1);
  // The valid event was never stored: it appends as new.
  assert.equal((await store.append(stream, [ok!], { expectedVersion: "no_stream" })).written, true);
}

async function readAll(store: EventStore): Promise<void> {
  const n = names("readall");
  const a = n.stream();
  const b = n.stream();
  const appended: string[] = [];
  const add = async (stream: string, count: number) => {
    const batch = events(count);
    await store.append(stream, batch, { expectedVersion: "any" });
    appended.push(...batch.map((e) => e.id));
  };
  await add(a, 3);
  await add(b, 2);
  await add(a, 2);
  const first = (await store.readStream(a, { limit: 1 }))[0]!;
  const start = before(first.position);
  const all = await store.readAll({ after: start, limit: 100_000 });
  assertIncreasing(all);
  assert.equal(new Set(all.map((e) => e.position)).size, all.length);
  const ours = all.filter(n.ours);
  assert.deepEqual(ours.map((e) => e.id), appended);
  assert.deepEqual(ours.map((e) => `${e.stream === a ? "a" : "b"}${e.version}`), [
    "a0",
    "a1",
    "a2",
    "b0",
    "b1",
    "a3",
    "a4",
  ]);
  // `after` is exclusive.
  const b0 = ours[3]!;
  const afterB0 = (await store.readAll({ after: b0.position, limit: 100_000 })).filter(n.ours);
  assert.deepEqual(afterB0.map((e) => e.id), appended.slice(4));
  // `limit`.
  const two = await store.readAll({ after: start, limit: 2 });
  assert.equal(two.length, 2);
  assert.equal(two[0]!.id, first.id);
  // 1,000 by default.
  const c = n.stream();
  await store.append(c, events(1_001), { expectedVersion: "no_stream" });
  const c0 = (await store.readStream(c, { limit: 1 }))[0]!;
  const page = await store.readAll({ after: before(c0.position) });
  assert.equal(page.length, 1_000);
  assert.equal(page[0]!.id, c0.id);
  // Past the end.
  const last = (await store.readStream(c, { direction: "backward", limit: 1 }))[0]!;
  const past = String(big(last.position) + 1_000_000_000n);
  assert.deepEqual(await store.readAll({ after: past }), []);
  // Without `after`: from the start.
  const head = await store.readAll({ limit: 3 });
  assert.ok(head.length > 0 && head.length <= 3);
  assertIncreasing(head);
  assert.ok(big(head[0]!.position) <= big(first.position));
  await assert.rejects(store.readAll({ after: "abc" }), RangeError);
  await assert.rejects(store.readAll({ after: "-1" }), RangeError);
  await assert.rejects(store.readAll({ limit: 0 }), RangeError);
}

async function subscribeCatchUpLive(store: EventStore, s: Settings): Promise<void> {
  const n = names("live");
  const a = n.stream();
  const b = n.stream();
  await store.append(a, events(3), { expectedVersion: "no_stream" });
  await store.append(b, events(2), { expectedVersion: "no_stream" });
  const first = (await store.readStream(a, { limit: 1 }))[0]!;
  const collector = new Collector(s.timeoutMs, n.ours);
  await using sub = await subscribe(store, collector, {
    after: before(first.position),
    batchSize: 2,
  });
  await withGuard(sub.caughtUp, s, "the subscription to catch up");
  assert.deepEqual(
    collector.ours.map((e) => `${e.stream === a ? "a" : "b"}${e.version}`),
    ["a0", "a1", "a2", "b0", "b1"],
  );
  // Live.
  await store.append(b, events(2), { expectedVersion: 1 });
  await store.append(a, events(1), { expectedVersion: 2 });
  await collector.untilOurs(8);
  assert.deepEqual(
    collector.ours.map((e) => `${e.stream === a ? "a" : "b"}${e.version}`),
    ["a0", "a1", "a2", "b0", "b1", "b2", "b3", "a3"],
  );
  assertIncreasing(collector.all);
  assert.ok(collector.batches.every((size) => size >= 1 && size <= 2));
  await sub[Symbol.asyncDispose]();
  await sub.closed;
  assert.equal(sub.position, collector.all[collector.all.length - 1]!.position);
}

async function subscribeCheckpoint(store: EventStore, s: Settings): Promise<void> {
  const n = names("checkpoint");
  const stream = n.stream();
  const checkpoint = n.checkpoint();
  await store.append(stream, events(4), { expectedVersion: "no_stream" });
  const first = (await store.readStream(stream, { limit: 1 }))[0]!;
  const start = before(first.position);
  const one = new Collector(s.timeoutMs, n.ours);
  {
    await using sub = await subscribe(store, one, { checkpoint, after: start, batchSize: 3 });
    await withGuard(sub.caughtUp, s, "the subscription to catch up");
    assert.equal(one.ours.length, 4);
    await sub[Symbol.asyncDispose]();
    const saved = await store.loadCheckpoint(checkpoint);
    assert.equal(saved, sub.position);
    assert.equal(saved, one.all[one.all.length - 1]!.position);
  }
  const saved = (await store.loadCheckpoint(checkpoint))!;
  const later = events(3);
  await store.append(stream, later, { expectedVersion: 3 });
  const two = new Collector(s.timeoutMs, n.ours);
  // The checkpoint wins over `after`.
  await using sub = await subscribe(store, two, { checkpoint, after: start });
  assert.equal(sub.position, saved);
  await two.untilOurs(3);
  assert.deepEqual(two.ours.map((e) => e.id), later.map((e) => e.id));
  assert.ok(big(two.all[0]!.position) > big(saved));
  await sub[Symbol.asyncDispose]();
  assert.equal(await store.loadCheckpoint(checkpoint), sub.position);
}

async function subscribeHandlerError(store: EventStore, s: Settings): Promise<void> {
  const n = names("failing");
  const stream = n.stream();
  const checkpoint = n.checkpoint();
  const batch = events(5);
  await store.append(stream, batch, { expectedVersion: "no_stream" });
  const recorded = await store.readStream(stream);
  const failure = new Error("the read model is down");
  const collector = new Collector(s.timeoutMs, n.ours);
  collector.before = (list) => {
    if (list.some((e) => e.id === batch[2]!.id)) throw failure;
  };
  const sub = await subscribe(store, collector, {
    checkpoint,
    after: before(recorded[0]!.position),
    batchSize: 1,
  });
  await withGuard(assert.rejects(sub.closed, (error) => error === failure), s, "the failure");
  await sub[Symbol.asyncDispose](); // harmless once closed
  assert.deepEqual(collector.ours.map((e) => e.version), [0, 1]);
  const saved = (await store.loadCheckpoint(checkpoint))!;
  assert.ok(big(saved) >= big(recorded[1]!.position), `checkpoint ${saved} must be past event 1`);
  assert.ok(big(saved) < big(recorded[2]!.position), `checkpoint ${saved} must be before event 2`);
  assert.equal(sub.position, saved);
  // The next subscription starts with the failed batch.
  const retry = new Collector(s.timeoutMs, n.ours);
  await using again = await subscribe(store, retry, { checkpoint });
  await retry.untilOurs(3);
  assert.deepEqual(retry.ours.map((e) => e.version), [2, 3, 4]);
  await again[Symbol.asyncDispose]();
}

async function subscribeDispose(store: EventStore, s: Settings): Promise<void> {
  const n = names("dispose");
  const stream = n.stream();
  const checkpoint = n.checkpoint();
  await store.append(stream, events(3), { expectedVersion: "no_stream" });
  const first = (await store.readStream(stream, { limit: 1 }))[0]!;
  const entered = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  let finished = false;
  const collector = new Collector(s.timeoutMs, n.ours);
  collector.before = async (list) => {
    if (!list.some(n.ours)) return;
    entered.resolve();
    await gate.promise;
    finished = true;
  };
  const sub = await subscribe(store, collector, {
    checkpoint,
    after: before(first.position),
    batchSize: 1,
  });
  await withGuard(entered.promise, s, "the first batch");
  let disposed = false;
  const disposing = Promise.resolve(sub[Symbol.asyncDispose]()).then(() => disposed = true);
  for (let i = 0; i < 5; i++) await macrotask();
  assert.equal(disposed, false, "dispose must wait for the batch in progress");
  gate.resolve();
  await withGuard(disposing, s, "the dispose");
  assert.equal(finished, true);
  await sub.closed;
  assert.deepEqual(collector.ours.map((e) => e.version), [0]);
  assert.equal(await store.loadCheckpoint(checkpoint), first.position);
  // Nothing more is delivered once closed.
  await store.append(stream, events(1), { expectedVersion: 2 });
  for (let i = 0; i < 5; i++) await macrotask();
  assert.equal(collector.ours.length, 1);
}

async function subscribeSignal(store: EventStore, s: Settings): Promise<void> {
  const n = names("signal");
  const stream = n.stream();
  await store.append(stream, events(2), { expectedVersion: "no_stream" });
  const first = (await store.readStream(stream, { limit: 1 }))[0]!;
  const controller = new AbortController();
  const collector = new Collector(s.timeoutMs, n.ours);
  const sub = await subscribe(store, collector, {
    after: before(first.position),
    signal: controller.signal,
  });
  await collector.untilOurs(2);
  controller.abort();
  await withGuard(sub.closed, s, "the subscription to end");
  await store.append(stream, events(1), { expectedVersion: 1 });
  for (let i = 0; i < 5; i++) await macrotask();
  assert.equal(collector.ours.length, 2);
  // An aborted signal refuses to start.
  await assert.rejects(
    store.subscribeToAll(() => {}, { signal: AbortSignal.abort(new Error("stop")) }),
    /stop/,
  );
  // Invalid options.
  await assert.rejects(store.subscribeToAll(() => {}, { batchSize: 0 }), RangeError);
  await assert.rejects(store.subscribeToAll(() => {}, { after: "x" }), RangeError);
  await assert.rejects(store.subscribeToAll(() => {}, { checkpoint: "" }), RangeError);
}

async function snapshots(store: EventStore): Promise<void> {
  const n = names("snapshot");
  const stream = n.stream();
  assert.equal(await store.loadSnapshot(stream), undefined);
  await store.saveSnapshot(stream, { version: 4, state: { total: 12.5, items: ["a"], ok: true } });
  assert.deepEqual(await store.loadSnapshot(stream), {
    version: 4,
    state: { total: 12.5, items: ["a"], ok: true },
  });
  await store.saveSnapshot(stream, { version: 9, state: { total: 20 } });
  assert.deepEqual(await store.loadSnapshot(stream), { version: 9, state: { total: 20 } });
  // The same version again replaces it; an older one is ignored.
  await store.saveSnapshot(stream, { version: 9, state: { total: 21 } });
  assert.deepEqual(await store.loadSnapshot(stream), { version: 9, state: { total: 21 } });
  await store.saveSnapshot(stream, { version: 3, state: { total: 1 } });
  assert.deepEqual(await store.loadSnapshot(stream), { version: 9, state: { total: 21 } });
  // Per stream; any JSON state.
  const other = n.stream();
  await store.saveSnapshot(other, { version: 0, state: "plain" });
  assert.deepEqual(await store.loadSnapshot(other), { version: 0, state: "plain" });
  assert.deepEqual(await store.loadSnapshot(stream), { version: 9, state: { total: 21 } });
  await assert.rejects(store.saveSnapshot(stream, { version: -1, state: {} }), RangeError);
  await assert.rejects(store.saveSnapshot(stream, { version: 1, state: undefined }), RangeError);
  await assert.rejects(store.saveSnapshot("", { version: 1, state: {} }), RangeError);
}

async function checkpoints(store: EventStore): Promise<void> {
  const n = names("checkpoints");
  const name = n.checkpoint();
  assert.equal(await store.loadCheckpoint(name), undefined);
  await store.saveCheckpoint(name, "12");
  assert.equal(await store.loadCheckpoint(name), "12");
  await store.saveCheckpoint(name, "9007199254740993");
  assert.equal(await store.loadCheckpoint(name), "9007199254740993");
  await store.saveCheckpoint(name, "0");
  assert.equal(await store.loadCheckpoint(name), "0");
  const other = n.checkpoint();
  await store.saveCheckpoint(other, "5");
  await store.saveCheckpoint(name, undefined);
  assert.equal(await store.loadCheckpoint(name), undefined);
  assert.equal(await store.loadCheckpoint(other), "5");
  await store.saveCheckpoint(name, undefined); // deleting nothing is fine
  await assert.rejects(store.saveCheckpoint(name, "x1"), RangeError);
  await assert.rejects(store.saveCheckpoint("", "1"), RangeError);
  await assert.rejects(store.loadCheckpoint(""), RangeError);
}

async function abortedSignal(store: EventStore): Promise<void> {
  const n = names("abort");
  const stream = n.stream();
  const reason = new Error("the caller gave up");
  const signal = AbortSignal.abort(reason);
  await assert.rejects(
    store.append(stream, events(1), { expectedVersion: "any", signal }),
    (error) => error === reason,
  );
  assert.equal(await store.streamVersion(stream), -1);
  await assert.rejects(store.readStream(stream, { signal }), (error) => error === reason);
  await assert.rejects(store.readAll({ signal }), (error) => error === reason);
  await assert.rejects(store.streamVersion(stream, { signal }), (error) => error === reason);
  await assert.rejects(
    store.saveSnapshot(stream, { version: 0, state: 1 }, { signal }),
    (error) => error === reason,
  );
  assert.equal(await store.loadSnapshot(stream), undefined);
  await assert.rejects(store.loadSnapshot(stream, { signal }), (error) => error === reason);
  await assert.rejects(store.saveCheckpoint(n.checkpoint(), "1", { signal }), (e) => e === reason);
  await assert.rejects(store.loadCheckpoint(n.checkpoint(), { signal }), (e) => e === reason);
}

async function disposedStore(store: EventStore, s: Settings): Promise<void> {
  const n = names("disposed");
  const stream = n.stream();
  await store.append(stream, events(1), { expectedVersion: "no_stream" });
  const first = (await store.readStream(stream))[0]!;
  const collector = new Collector(s.timeoutMs, n.ours);
  const sub = await subscribe(store, collector, { after: before(first.position) });
  await collector.untilOurs(1);
  await store[Symbol.asyncDispose]();
  await withGuard(sub.closed, s, "the subscription to end with the store");
  await store[Symbol.asyncDispose]();
  const closed = (promise: Promise<unknown>) => assertCode(promise, "EVENTSTORE_CLOSED");
  await closed(store.append(stream, events(1), { expectedVersion: "any" }));
  await closed(store.readStream(stream));
  await closed(store.streamVersion(stream));
  await closed(store.readAll());
  await closed(store.subscribeToAll(() => {}));
  await closed(store.saveSnapshot(stream, { version: 0, state: 1 }));
  await closed(store.loadSnapshot(stream));
  await closed(store.saveCheckpoint(n.checkpoint(), "1"));
  await closed(store.loadCheckpoint(n.checkpoint()));
}

interface RaceOutcome {
  readonly successes: number;
  readonly conflicts: number;
}

/**
 * `s.writers` writers make `s.appends` attempts in total on one stream, each
 * reading the version and appending `sizes[…]` events with it.
 */
async function race(
  store: EventStore,
  s: Settings,
  sizes: readonly number[],
  scheduler?: fc.Scheduler,
): Promise<RaceOutcome> {
  const stream = names("race").stream();
  let attempts = 0;
  let conflicts = 0;
  const successes: { from: number; ids: string[] }[] = [];
  const step = async (label: string) => {
    if (scheduler) await scheduler.schedule(Promise.resolve(), label);
  };
  const writer = async (w: number) => {
    let round = 0;
    while (attempts < s.appends) {
      attempts++;
      const size = sizes[(w + round++) % sizes.length]!;
      await step(`writer ${w} reads`);
      const version = await store.streamVersion(stream);
      const batch = events(size, (i) => ({ w, i }));
      await step(`writer ${w} appends ${size} at ${version}`);
      try {
        const result = await store.append(stream, batch, { expectedVersion: version });
        assert.equal(result.written, true);
        assert.equal(result.nextExpectedVersion, version + size, "the next version");
        successes.push({ from: version + 1, ids: batch.map((e) => e.id) });
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        assert.equal(error.expected, version);
        assert.ok(error.actual > version, `actual ${error.actual} must be past ${version}`);
        conflicts++;
      }
    }
  };
  const all = Promise.all(Array.from({ length: s.writers }, (_, w) => writer(w)));
  if (scheduler) await scheduler.waitFor(all);
  else await all;
  assert.equal(attempts, s.appends);
  assert.equal(successes.length + conflicts, s.appends);
  const read = await store.readStream(stream);
  assert.deepEqual(read.map((e) => e.version), read.map((_, i) => i), "no gap");
  assert.equal(new Set(read.map((e) => e.id)).size, read.length, "no duplicate");
  assertIncreasing(read);
  successes.sort((x, y) => x.from - y.from);
  let next = 0;
  for (const success of successes) {
    assert.equal(success.from, next, "each success starts where the previous one ended");
    next += success.ids.length;
  }
  assert.deepEqual(read.map((e) => e.id), successes.flatMap((x) => x.ids));
  return { successes: successes.length, conflicts };
}

async function raceScheduled(store: EventStore, s: Settings): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }),
      async (scheduler, sizes) => {
        const outcome = await race(store, s, sizes, scheduler);
        assert.ok(outcome.successes >= 1);
      },
    ),
    { numRuns: s.propertyRuns, endOnFailure: true },
  );
}

async function raceAsync(store: EventStore, s: Settings): Promise<void> {
  const outcome = await race(store, s, [1, 2, 1, 3]);
  assert.ok(outcome.successes >= 1);
}
