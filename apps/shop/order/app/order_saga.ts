/**
 * Checkout as a durable saga (`@flotilla/tx`): create order → reserve stock
 * → charge payment → confirm order, with compensations release stock,
 * refund, cancel order — or, with `FLOTILLA_CHECKOUT=tcc`, create order →
 * reserve and charge as one TCC transaction → confirm order.
 *
 * The orchestrator persists the saga before and after every step (in the
 * order service's database), so a crash anywhere resumes where it stopped;
 * each step appends what it learnt to the order's stream (`StockReserved`,
 * `PaymentCharged`, `CancellationStarted` with the reason, then
 * `OrderConfirmed` / `OrderCancelled`).
 *
 * @module
 */

import {
  childTrace,
  type Clock,
  type Context,
  createContext,
  FlotillaError,
  Logger,
  newTrace,
  systemClock,
  type TraceContext,
  UnavailableError,
} from "@flotilla/core";
import {
  defineSaga,
  type FaultHook,
  MemorySagaStore,
  RejectedError,
  type SagaDefinition,
  SagaOrchestrator,
  type SagaStore,
  type SagaView,
  TccCoordinator,
  type TccParticipant,
  type TccView,
} from "@flotilla/tx";
import {
  beginCancel,
  cancelOrder,
  type CancelReason,
  confirmOrder,
  type Order,
  type OrderEvent,
  type OrderLineRequest,
  recordPaymentCharged,
  recordStockReserved,
} from "../domain/order.ts";
import type { CheckoutStatus, CheckoutView } from "../../contracts/mod.ts";
import { checkoutNotFound, orderNotFound } from "../errors.ts";
import type { InventoryPort, OrderStore, PaymentPort } from "./ports.ts";

/** Which protocol checkout runs (`FLOTILLA_CHECKOUT`). */
export type CheckoutProtocol = "saga" | "tcc";

/** The TCC participants of checkout (`FLOTILLA_CHECKOUT=tcc`). */
export interface CheckoutParticipants {
  /** Holds stock: Try `{ items }`. */
  inventory: TccParticipant<{ items: OrderLineRequest[] }>;
  /** Holds the amount: Try `{ customerId, amount }`. */
  payment: TccParticipant<{ customerId: string; amount: number }>;
}

/** What an {@link OrderSaga} needs. */
export interface OrderSagaDeps {
  /** Where orders live. */
  store: OrderStore;
  /** The inventory service. */
  inventory: InventoryPort;
  /** The payment service. */
  payments: PaymentPort;
  /** The clock for `updatedAt`, deadlines and leases. @default {systemClock} */
  clock?: Clock;
  /** Where sagas (and TCC transactions) are persisted. @default {a MemorySagaStore} */
  sagas?: SagaStore;
  /** This process's name in the store's leases: a restarted instance takes its sagas back at once. */
  owner?: string;
  /** The protocol. @default {"saga"} */
  protocol?: CheckoutProtocol;
  /**
   * The participants, required with the `tcc` protocol. When given, the
   * checkouts of both protocols are resumed, listed and driven on in their
   * own protocol, so switching `protocol` strands none in flight.
   */
  participants?: CheckoutParticipants;
  /** Called at every step boundary (the crash suite kills the process there). */
  faults?: FaultHook;
  /** How long a checkout may take before it is undone. @default {120_000} */
  timeoutMs?: number;
  /** How long a TCC transaction may stay undecided before it is cancelled. @default {30_000} */
  tccTimeoutMs?: number;
  /** Logger of steps driven outside a request (recovery). */
  logger?: Logger;
  /** Told of every checkout a drive brought to an end (metrics: outcome and duration). */
  onSettled?: (saga: SagaView) => void;
  /** Traces each step and compensation as a span of the checkout's trace. */
  tracer?: StepTracer;
  /**
   * How many times a compensation is tried (with backoff and full jitter
   * from 50 ms up to 5 s apart) before the checkout is parked as
   * `NEEDS_ATTENTION` for an operator. The default spans about half a
   * minute: longer than a peer's restart, so a crash never parks a checkout.
   * @default {20}
   */
  compensationAttempts?: number;
}

/** What {@link OrderSaga} needs of a tracer (`@flotilla/telemetry`'s `Tracer` is one). */
export interface StepTracer {
  /** Starts a span whose own context is `trace` (a child of the checkout's). */
  startSpan(
    name: string,
    options: { kind: "internal"; trace: TraceContext; attributes: Record<string, string | number> },
  ): { recordError(error: unknown): unknown; end(): void };
}

/** The saga's input: which order. Everything else is read from the order's stream. */
interface CheckoutInput {
  readonly orderId: string;
}

/**
 * The reason an order is cancelled when its checkout could not finish (a peer unavailable
 * past the checkout's deadline) rather than being refused.
 */
const TIMED_OUT: CancelReason = "TIMED_OUT";

/**
 * Drives orders through checkout, one drive per order at a time in this
 * process, and resumes the checkouts a crash interrupted.
 *
 * A refusal (out of stock, declined) records `CancellationStarted` with its
 * reason and undoes, in reverse, every step that was started — a step whose
 * outcome is unknown included, since every compensation is idempotent and
 * tombstones what never happened, so a late duplicate cannot reserve or
 * charge a cancelled order. A step never started is not compensated.
 * Infrastructure errors (unavailable, deadline) are retried with backoff
 * until the checkout's deadline, then the checkout is undone (`TIMED_OUT`).
 * A drive stopped by its caller (`ctx.signal`) leaves the order `PENDING`
 * for {@link resume} / the next drive. With TCC, the transaction's decision
 * is final: a checkout undone after its transaction decided CONFIRM (its
 * deadline passed while phase two or the order's update was stuck) confirms
 * the order instead of cancelling it.
 *
 * @example
 * ```ts
 * const saga = new OrderSaga({ store, inventory, payments, sagas: new SqliteSagaStore({ db }) });
 * const order = await saga.drive(orderId, ctx); // CONFIRMED or CANCELLED
 * ```
 */
export class OrderSaga implements AsyncDisposable {
  readonly #store: OrderStore;
  readonly #inventory: InventoryPort;
  readonly #payments: PaymentPort;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #orchestrator: SagaOrchestrator;
  readonly #coordinator: TccCoordinator | undefined;
  /** The definition new checkouts run. */
  readonly #definition: SagaDefinition<CheckoutInput, Record<string, unknown>>;
  /** Every definition this saga drives, by name: the current protocol's and the other's. */
  readonly #definitions = new Map<string, SagaDefinition<CheckoutInput, Record<string, unknown>>>();
  readonly #timeoutMs: number;
  readonly #onSettled: ((saga: SagaView) => void) | undefined;
  readonly #compensationRetry: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number };
  /** The context of the request driving each order now, so its steps continue its trace. */
  readonly #drivers = new Map<string, Context>();
  readonly #tracer: StepTracer | undefined;
  /** The span of the step running now for each order (steps of one order run one at a time). */
  readonly #stepTraces = new Map<string, TraceContext>();

  /** Creates a saga over the given store and peers. */
  constructor(deps: OrderSagaDeps) {
    this.#store = deps.store;
    this.#inventory = deps.inventory;
    this.#payments = deps.payments;
    this.#clock = deps.clock ?? systemClock;
    this.#logger = deps.logger ?? new Logger({ fields: { service: "order" } });
    this.#timeoutMs = deps.timeoutMs ?? 120_000;
    this.#onSettled = deps.onSettled;
    this.#tracer = deps.tracer;
    this.#compensationRetry = {
      maxAttempts: deps.compensationAttempts ?? 20,
      initialDelayMs: 50,
      maxDelayMs: 5_000,
    };
    const store = deps.sagas ?? new MemorySagaStore();
    const driver = {
      store,
      clock: this.#clock,
      ...(deps.owner === undefined ? {} : { owner: deps.owner }),
      ...(deps.faults === undefined ? {} : { faults: deps.faults }),
    };
    const protocol = deps.protocol ?? "saga";
    if (protocol === "tcc" && !deps.participants) {
      throw new RangeError("The tcc checkout needs its participants");
    }
    const saga = this.#traced(this.#sagaCheckout());
    this.#definitions.set(saga.name, saga);
    if (deps.participants) {
      this.#coordinator = new TccCoordinator({
        ...driver,
        name: "checkout-tcc",
        participants: [deps.participants.inventory, deps.participants.payment],
        timeoutMs: deps.tccTimeoutMs ?? 30_000,
        tryRetry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 500 },
        // Stock and payment holds at once: a checkout waits for the slower, not for both.
        parallelTries: true,
        phaseTwoRetry: { maxAttempts: Infinity, initialDelayMs: 50, maxDelayMs: 2_000 },
      });
      const tcc = this.#traced(this.#tccCheckout());
      this.#definitions.set(tcc.name, tcc);
    }
    this.#definition = protocol === "tcc" ? this.#definitions.get("checkout-tcc")! : saga;
    this.#orchestrator = new SagaOrchestrator({
      ...driver,
      sagas: [...this.#definitions.values()],
    });
  }

  /** The orchestrator, for operators (`listSagas`, `resumeSaga`). */
  get orchestrator(): SagaOrchestrator {
    return this.#orchestrator;
  }

  /** Checkouts, oldest first, optionally in one state, as operators see them. */
  async listCheckouts(
    query: { status?: CheckoutStatus | undefined; limit: number },
  ): Promise<CheckoutView[]> {
    const lists = await Promise.all(
      [...this.#definitions.keys()].map((name) =>
        this.#orchestrator.listSagas({
          name,
          limit: query.limit,
          ...(query.status === undefined ? {} : { status: query.status }),
        })
      ),
    );
    return lists.flat()
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, query.limit)
      .map(checkoutView);
  }

  /**
   * Drives a parked (`NEEDS_ATTENTION`) or interrupted checkout on and
   * returns it as it stands after.
   *
   * @throws {FlotillaError} `CHECKOUT_NOT_FOUND`; `TX_LEASE_HELD` while
   * another live instance drives it.
   */
  async resumeCheckout(orderId: string): Promise<CheckoutView> {
    try {
      return checkoutView(await this.#orchestrator.resumeSaga(checkoutId(orderId)));
    } catch (error) {
      if (error instanceof FlotillaError && error.code === "TX_NOT_FOUND") {
        throw checkoutNotFound(orderId);
      }
      throw error;
    }
  }

  /** The checkout saga of the order, as persisted (steps, attempts, errors), if it started. */
  checkoutOf(orderId: string): Promise<SagaView | undefined> {
    return this.#orchestrator.getSaga(checkoutId(orderId));
  }

  /**
   * Drives the order until it is `CONFIRMED` or `CANCELLED` and returns it;
   * an order already there is returned as is.
   *
   * @throws {FlotillaError} `ORDER_NOT_FOUND`; the reason `ctx.signal`
   * aborted (the order stays `PENDING` and its checkout resumable).
   */
  async drive(orderId: string, ctx: Context): Promise<Order> {
    ctx.throwIfDone();
    const order = await this.#store.get(orderId, { signal: ctx.signal });
    if (!order) throw orderNotFound(orderId);
    if (order.status !== "PENDING") return order;
    this.#drivers.set(orderId, ctx);
    let saga: SagaView;
    try {
      saga = await this.#start(this.#definition, orderId, ctx);
    } catch (error) {
      // The order's checkout began under the other protocol (the service was switched since):
      // it is driven on in that one.
      if (!(error instanceof FlotillaError && error.code === "TX_ID_CONFLICT")) throw error;
      const begun = await this.#orchestrator.getSaga(checkoutId(orderId));
      const definition = begun && this.#definitions.get(begun.name);
      if (!definition || definition === this.#definition) throw error;
      saga = await this.#start(definition, orderId, ctx);
    } finally {
      if (this.#drivers.get(orderId) === ctx) this.#drivers.delete(orderId);
    }
    if (saga.status !== "RUNNING" && saga.status !== "COMPENSATING") this.#onSettled?.(saga);
    if (saga.status === "RUNNING" || saga.status === "COMPENSATING") {
      ctx.throwIfDone();
      ctx.logger.info("the order's checkout is driven elsewhere", { orderId });
    } else if (saga.status === "COMPENSATED") {
      ctx.logger.info("the order's checkout was undone", { orderId, cause: saga.error });
    } else if (saga.status === "NEEDS_ATTENTION") {
      ctx.logger.error("the order's checkout needs an operator", { orderId, error: saga.error });
    }
    return (await this.#store.get(orderId))!;
  }

  #start(
    definition: SagaDefinition<CheckoutInput, Record<string, unknown>>,
    orderId: string,
    ctx: Context,
  ): Promise<SagaView> {
    return this.#orchestrator.start(definition, checkoutId(orderId), { orderId }, {
      timeoutMs: this.#timeoutMs,
      signal: ctx.signal,
    });
  }

  /**
   * Resumes every checkout a crash (or a stopped drive) left unfinished,
   * and finishes undecided TCC transactions.
   */
  async resume(): Promise<{ driven: number; failed: number }> {
    await this.#coordinator?.recover();
    const { driven, failed } = await this.#orchestrator.recover();
    return { driven: driven.length, failed: failed.length };
  }

  /** Stops driving (persisted checkouts stay resumable). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#orchestrator[Symbol.asyncDispose]();
    await this.#coordinator?.[Symbol.asyncDispose]();
  }

  #sagaCheckout(): SagaDefinition<CheckoutInput, Record<string, unknown>> {
    return defineSaga<CheckoutInput>("checkout")
      .step("createOrder", this.#createOrder())
      .step("reserveStock", {
        action: async ({ input: { orderId }, signal }) => {
          const order = await this.#load(orderId);
          if (order.stockReserved) return { reserved: true };
          const ctx = this.#context(orderId, "reserveStock", signal);
          const reserved = await this.#inventory.reserve({ orderId, items: order.items }, ctx);
          if (reserved.status !== "RESERVED") {
            if (reserved.status === "RELEASED") {
              ctx.logger.warn("the order's reservation was released elsewhere", { orderId });
            }
            return await this.#refuse(orderId, "OUT_OF_STOCK", ctx);
          }
          await this.#update(orderId, (o) => recordStockReserved(o, this.#now()), ctx);
          return { reserved: true };
        },
        compensate: async ({ input: { orderId }, signal }) => {
          await this.#inventory.release(orderId, this.#context(orderId, "releaseStock", signal));
        },
        retry: TRANSIENT,
        compensationRetry: this.#compensationRetry,
      })
      .step("chargePayment", {
        action: async ({ input: { orderId }, signal }) => {
          const order = await this.#load(orderId);
          if (order.charged) return { charged: true };
          const ctx = this.#context(orderId, "chargePayment", signal);
          const charged = await this.#payments.charge(
            { orderId, customerId: order.customerId, amount: order.total },
            ctx,
          );
          if (charged !== "CHARGED") {
            if (charged === "VOIDED") {
              ctx.logger.warn("the order's payment was voided elsewhere", { orderId });
            }
            return await this.#refuse(orderId, "INSUFFICIENT_FUNDS", ctx);
          }
          await this.#update(orderId, (o) => recordPaymentCharged(o, this.#now()), ctx);
          return { charged: true };
        },
        compensate: async ({ input: { orderId }, signal }) => {
          await this.#payments.refund(orderId, this.#context(orderId, "refund", signal));
        },
        retry: TRANSIENT,
        compensationRetry: this.#compensationRetry,
      })
      .step("confirmOrder", this.#confirmOrder())
      .build();
  }

  #tccCheckout(): SagaDefinition<CheckoutInput, Record<string, unknown>> {
    const coordinator = this.#coordinator!;
    const createOrder = this.#createOrder();
    return defineSaga<CheckoutInput>("checkout-tcc")
      .step("createOrder", {
        ...createOrder,
        // The transaction may have decided CONFIRM (stock sold, money taken) before the checkout
        // was undone — its deadline passed while phase two or the order's update was stuck. The
        // decision stands, so the order is confirmed rather than cancelled with the money kept.
        compensate: async (args: { input: CheckoutInput; signal: AbortSignal }) => {
          const { orderId } = args.input;
          const tx = await coordinator.getTransaction(orderId);
          if (tx?.decision !== "CONFIRM") return await createOrder.compensate(args);
          const ctx = this.#context(orderId, "confirmOrder", args.signal);
          const confirmed = await this.#update(orderId, (o) => {
            if (o.status === "CONFIRMED") return [];
            const now = this.#now();
            return [
              ...recordStockReserved(o, now),
              ...recordPaymentCharged({ ...o, stockReserved: true }, now),
              ...confirmOrder({ ...o, stockReserved: true, charged: true }, now),
            ];
          }, ctx);
          ctx.logger.warn("checkout undone after its transaction confirmed: order confirmed", {
            orderId,
            transaction: tx.status,
            total: confirmed.total,
          });
        },
      })
      .step("reserveAndCharge", {
        // No compensation: the transaction decides itself (Cancel on any refusal, or past its
        // timeout), and this step waits for that decision, which the checkout's deadline outlasts.
        action: async ({ input: { orderId }, signal }) => {
          const order = await this.#load(orderId);
          const ctx = this.#context(orderId, "reserveAndCharge", signal);
          // The step's signal stops the transaction's drive too (step timeout, checkout stopped):
          // it is left TRYING or deciding, and the next attempt or recovery drives it on.
          const tx = await coordinator.run(orderId, {
            inventory: { items: order.items.map(({ sku, quantity }) => ({ sku, quantity })) },
            payment: { customerId: order.customerId, amount: order.total },
          }, { signal });
          // Once decided, the outcome is known even while phase two still waits for a participant
          // (CONFIRMING, or parked): recovery finishes it, the order need not wait.
          if (tx.decision === "CONFIRM") {
            await this.#update(orderId, (o) => [
              ...recordStockReserved(o, this.#now()),
              ...recordPaymentCharged({ ...o, stockReserved: true }, this.#now()),
            ], ctx);
            return { transaction: tx.status };
          }
          if (tx.decision === "CANCEL") return await this.#refuse(orderId, refusal(tx), ctx);
          throw new UnavailableError(`The order's transaction is ${tx.status}`, {
            code: "TRANSACTION_UNDECIDED",
          });
        },
        retry: TRANSIENT,
      })
      .step("confirmOrder", this.#confirmOrder())
      .build();
  }

  /** The first step: the order exists (placed before the saga); undoing it cancels the order. */
  #createOrder() {
    return {
      action: async ({ input: { orderId } }: { input: CheckoutInput }) => {
        await this.#load(orderId);
        return { created: true };
      },
      compensate: async ({ input: { orderId }, signal }: {
        input: CheckoutInput;
        signal: AbortSignal;
      }) => {
        const ctx = this.#context(orderId, "cancelOrder", signal);
        const cancelled = await this.#update(orderId, (order) => {
          if (order.status !== "PENDING") return [];
          const reason = order.cancelling ?? TIMED_OUT;
          const started = order.cancelling === undefined
            ? beginCancel(order, reason, this.#now())
            : [];
          return [
            ...started,
            ...cancelOrder({ ...order, cancelling: reason }, reason, this.#now()),
          ];
        }, ctx);
        ctx.logger.info("order cancelled", { orderId, reason: cancelled.reason });
      },
      compensationRetry: this.#compensationRetry,
    };
  }

  #confirmOrder() {
    return {
      action: async ({ input: { orderId }, signal }: {
        input: CheckoutInput;
        signal: AbortSignal;
      }) => {
        const ctx = this.#context(orderId, "confirmOrder", signal);
        const confirmed = await this.#update(orderId, (o) => confirmOrder(o, this.#now()), ctx);
        ctx.logger.info("order confirmed", { orderId, total: confirmed.total });
        return { confirmed: true };
      },
      retry: TRANSIENT,
    };
  }

  /** Records why the order is cancelled, then refuses the step: the saga compensates. */
  async #refuse(orderId: string, reason: CancelReason, ctx: Context): Promise<never> {
    await this.#update(orderId, (o) => beginCancel(o, reason, this.#now()), ctx);
    throw new RejectedError(reason, `The order cannot go on: ${reason}`, { data: { orderId } });
  }

  async #load(orderId: string): Promise<Order> {
    const order = await this.#store.get(orderId);
    if (!order) throw orderNotFound(orderId);
    return order;
  }

  /** Appends a step's events to the order's stream, in `ctx`'s trace. */
  #update(orderId: string, decide: (order: Order) => OrderEvent[], ctx: Context): Promise<Order> {
    return this.#store.update(orderId, decide, { trace: ctx.trace, signal: ctx.signal });
  }

  /** `definition` with each action and compensation run in a span of its own. */
  #traced(
    definition: SagaDefinition<CheckoutInput, Record<string, unknown>>,
  ): SagaDefinition<CheckoutInput, Record<string, unknown>> {
    const tracer = this.#tracer;
    if (!tracer) return definition;
    const spanned = <A extends { input: unknown; attempt: number }>(
      step: string,
      phase: "action" | "compensation",
      run: (args: A) => unknown,
    ) =>
    async (args: A) => {
      const { orderId } = args.input as CheckoutInput;
      const parent = this.#drivers.get(orderId)?.trace;
      const trace = parent ? childTrace(parent) : newTrace();
      const span = tracer.startSpan(
        `${definition.name} ${step}${phase === "action" ? "" : " undo"}`,
        {
          kind: "internal",
          trace,
          attributes: {
            "flotilla.saga.name": definition.name,
            "flotilla.saga.step": step,
            "flotilla.saga.phase": phase,
            "flotilla.saga.attempt": args.attempt,
            "flotilla.order.id": orderId,
          },
        },
      );
      this.#stepTraces.set(orderId, trace);
      try {
        return await run(args);
      } catch (error) {
        span.recordError(error);
        throw error;
      } finally {
        this.#stepTraces.delete(orderId);
        span.end();
      }
    };
    return {
      ...definition,
      steps: definition.steps.map((step) => ({
        ...step,
        action: spanned(step.name, "action", step.action),
        compensate: step.compensate && spanned(step.name, "compensation", step.compensate),
      })),
    };
  }

  /** The context of one step: its span, the driving request's trace, or a new one (recovery). */
  #context(orderId: string, step: string, signal: AbortSignal): Context {
    const driver = this.#drivers.get(orderId);
    const trace: TraceContext = this.#stepTraces.get(orderId) ?? driver?.trace ?? newTrace();
    return createContext({
      service: "order",
      action: `checkout.${step}`,
      trace,
      logger: driver?.logger ?? this.#logger,
      clock: this.#clock,
      signal,
    });
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }
}

/**
 * The id of an order's checkout saga. The order id itself is the TCC
 * transaction's (the participants' `txId`), which shares the store.
 */
function checkoutId(orderId: string): string {
  return `checkout:${orderId}`;
}

/** A saga as the `listCheckouts` / `resumeCheckout` actions show it. */
function checkoutView(saga: SagaView): CheckoutView {
  return {
    orderId: (saga.input as CheckoutInput).orderId,
    protocol: saga.name,
    status: saga.status,
    steps: saga.steps.map((step) => ({
      name: step.name,
      action: step.action,
      compensation: step.compensation,
      actionAttempts: step.actionAttempts,
      compensationAttempts: step.compensationAttempts,
    })),
    error: saga.error === null ? null : { code: saga.error.code, message: saga.error.message },
    createdAt: new Date(saga.createdAt).toISOString(),
    updatedAt: new Date(saga.updatedAt).toISOString(),
  };
}

/** Peers' infrastructure errors: retried until the checkout's deadline. */
const TRANSIENT = { maxAttempts: Infinity, initialDelayMs: 20, maxDelayMs: 2_000 };

/** Why a cancelled transaction was cancelled: the first refusal's code, if it is a reason. */
function refusal(tx: TccView): CancelReason {
  for (const branch of tx.branches) {
    const code = branch.error?.code;
    if (code === "OUT_OF_STOCK" || code === "INSUFFICIENT_FUNDS") return code;
  }
  return TIMED_OUT;
}
