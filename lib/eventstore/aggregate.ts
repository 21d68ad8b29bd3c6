/**
 * Aggregates: the domain as pure functions (`evolve`, `decide`) over
 * events. `AggregateRepository` runs them against an event store.
 *
 * @module
 */

import { invalid } from "./_append.ts";

/**
 * An event as the domain decides it: a type and its data, optionally an id
 * (one is made when absent — give one to make a command idempotent) and
 * metadata. Events read back from the store have this shape too (with the
 * fields of a `RecordedEvent` besides).
 */
export interface DomainEvent<T extends string = string, D = unknown> {
  /** Event type, e.g. `Deposited`. */
  readonly type: T;
  /** Payload, JSON-serialisable. */
  readonly data: D;
  /** Event id. @default {a new `newEventId()`} */
  readonly id?: string;
  /** Metadata, merged over the command's ({@link ExecuteOptions.metadata}). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** How an aggregate's state is kept in snapshots. */
export interface AggregateSnapshotOptions<S> {
  /**
   * The shape of the stored state: bump it when the state's shape changes,
   * and snapshots of other revisions are ignored (the state is folded from
   * the events again). @default {1}
   */
  revision?: number;
  /** The state as JSON. @default {the state itself} */
  encode?: (state: S) => unknown;
  /** The state from its JSON. @default {the JSON itself} */
  decode?: (json: unknown) => S;
}

/** The pure functions of an aggregate. */
export interface AggregateDefinition<S, E extends DomainEvent, C = never> {
  /** The state before any event. `evolve` must not mutate it. */
  readonly initial: S;
  /** The state after `event`. Pure: no I/O, no clock, no mutation of `state`. */
  evolve(state: S, event: E): S;
  /**
   * The events that `command` causes in `state`, none when it changes
   * nothing; throws (a domain error) to refuse it. Pure, like `evolve`.
   * Optional: `AggregateRepository.execute()` also takes a function of
   * the state.
   */
  decide?(command: C, state: S): readonly E[];
  /** How the state is kept in snapshots. */
  readonly snapshot?: AggregateSnapshotOptions<S>;
}

/** An aggregate: its definition, checked, and {@link Aggregate.fold}. */
export interface Aggregate<S, E extends DomainEvent, C = never>
  extends AggregateDefinition<S, E, C> {
  /** Folds `events` into `state` (the initial state by default). */
  fold(events: Iterable<E>, state?: S): S;
}

/**
 * Defines an aggregate from its pure functions.
 *
 * @example
 * ```ts
 * import { defineAggregate } from "@flotilla/eventstore";
 *
 * type AccountEvent =
 *   | { type: "Opened"; data: { owner: string } }
 *   | { type: "Deposited"; data: { amount: number } }
 *   | { type: "Withdrawn"; data: { amount: number } };
 * type AccountCommand =
 *   | { type: "deposit"; amount: number }
 *   | { type: "withdraw"; amount: number };
 *
 * export const account = defineAggregate<{ balance: number }, AccountEvent, AccountCommand>({
 *   initial: { balance: 0 },
 *   evolve: (state, event) => {
 *     switch (event.type) {
 *       case "Opened":
 *         return state;
 *       case "Deposited":
 *         return { balance: state.balance + event.data.amount };
 *       case "Withdrawn":
 *         return { balance: state.balance - event.data.amount };
 *     }
 *   },
 *   decide: (command, state) => {
 *     if (command.type === "deposit") return [{ type: "Deposited", data: { amount: command.amount } }];
 *     if (state.balance < command.amount) throw new Error("insufficient funds");
 *     return [{ type: "Withdrawn", data: { amount: command.amount } }];
 *   },
 * });
 * account.fold([{ type: "Deposited", data: { amount: 5 } }]); // { balance: 5 }
 * ```
 *
 * @throws {RangeError} when `evolve` or `decide` is not a function, or the
 * snapshot revision is not a positive integer.
 */
export function defineAggregate<S, E extends DomainEvent, C = never>(
  definition: AggregateDefinition<S, E, C>,
): Aggregate<S, E, C> {
  const action = "define the aggregate";
  if (typeof definition !== "object" || definition === null) {
    throw invalid(action, "definition", "an object with 'initial' and 'evolve'", definition);
  }
  if (typeof definition.evolve !== "function") {
    throw invalid(action, "evolve", "a function", typeof definition.evolve);
  }
  if (definition.decide !== undefined && typeof definition.decide !== "function") {
    throw invalid(action, "decide", "a function", typeof definition.decide);
  }
  const revision = definition.snapshot?.revision;
  if (revision !== undefined && !(Number.isSafeInteger(revision) && revision > 0)) {
    throw invalid(action, "snapshot.revision", "a positive integer", revision);
  }
  const evolve = definition.evolve;
  return Object.freeze({
    ...definition,
    fold(events: Iterable<E>, state: S = definition.initial): S {
      let current = state;
      for (const event of events) current = evolve(current, event);
      return current;
    },
  });
}
