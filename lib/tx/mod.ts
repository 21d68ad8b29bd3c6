/**
 * Durable distributed transactions: **sagas** (ordered steps with
 * compensations, driven by a persisted orchestrator) and **TCC**
 * (Try-Confirm/Cancel with a persisted coordinator and a SQLite barrier for
 * participants).
 *
 * - {@link defineSaga} builds a saga; {@link SagaOrchestrator} persists it
 *   before and after every step in a {@link SagaStore} (SQLite by default,
 *   PostgreSQL from `@flotilla/tx/postgres`, memory for tests), compensates
 *   started steps in reverse order, retries with backoff and full jitter,
 *   parks a saga whose compensation keeps failing as `NEEDS_ATTENTION`
 *   (`listSagas({ status })`, `resumeSaga(id)`), and `recover()`s after a crash.
 * - {@link TccCoordinator} tries every participant, persists its decision,
 *   then confirms or cancels all until done; {@link SqliteTccParticipant}
 *   handles empty rollback, hanging Tries, replays and expiry with a barrier
 *   row in the participant's own transaction.
 * - A {@link FaultHook} is called at every step boundary, so tests crash at
 *   exact points; time and waiting are injectable ({@link manualSleep}).
 *
 * **Orchestration or choreography?** Orchestrate (this module) when a
 * business process has an order, a deadline and compensations someone must
 * be able to see and resume — checkout: the order service owns the saga,
 * its state is one row, `listSagas` shows what is stuck. Choreograph (the
 * bus: each service reacts to the others' events, e.g. `order.placed` →
 * inventory reserves → `stock.reserved` → payment charges) when the steps
 * are loosely coupled, few, and need no central view: nothing coordinates,
 * so nothing is a bottleneck, but the flow lives in no one place and
 * compensation is every service listening for failure events. A mix is
 * common: a saga step may publish through the outbox and wait for the
 * answering event. Use TCC instead of a saga when intermediate states must
 * not be visible (a reservation, not a charge then a refund) and every
 * participant can hold a reservation.
 *
 * @example
 * ```ts
 * import { defineSaga, RejectedError, SagaOrchestrator, SqliteSagaStore } from "@flotilla/tx";
 *
 * const checkout = defineSaga<{ orderId: string; amount: number }>("checkout")
 *   .step("reserve", {
 *     action: ({ input }) => inventory.reserve(input.orderId),
 *     compensate: ({ input }) => inventory.release(input.orderId),
 *   })
 *   .step("charge", {
 *     action: async ({ input }) => {
 *       if (!(await payments.charge(input.orderId, input.amount))) {
 *         throw new RejectedError("INSUFFICIENT_FUNDS", "declined");
 *       }
 *     },
 *     compensate: ({ input }) => payments.refund(input.orderId),
 *   })
 *   .build({ timeoutMs: 60_000 });
 *
 * await using orchestrator = new SagaOrchestrator({
 *   store: new SqliteSagaStore({ path: "sagas.db" }),
 *   sagas: [checkout],
 * });
 * await orchestrator.recover();
 * const saga = await orchestrator.start(checkout, "order-1", { orderId: "order-1", amount: 12 });
 * ```
 *
 * @module
 */

// The kernel's types that this module's signatures use, for its documentation.
export type { Clock, ErrorKind, FieldIssue, FlotillaError, ManualClock } from "@flotilla/core";
export {
  classifyError,
  type ErrorClass,
  type ErrorClassifier,
  type ErrorInfo,
  errorInfo,
  RejectedError,
  TxError,
  type TxErrorCode,
} from "./errors.ts";
export type { FaultBoundary, FaultHook, FaultPoint } from "./faults.ts";
export {
  backoffDelay,
  DEFAULT_RETRY,
  manualSleep,
  type ResolvedRetry,
  type RetryOptions,
  type Sleep,
  systemSleep,
} from "./timing.ts";
export {
  type ActionOutcome,
  type AnySagaDefinition,
  type CompensationContext,
  defineSaga,
  SagaBuilder,
  type SagaDefinition,
  type SagaOptions,
  type SagaStep,
  type SagaStepDefinition,
  type StepContext,
} from "./saga.ts";
export {
  ACTIVE_STATUSES,
  isTerminal,
  type SagaStatus,
  type SagaStore,
  type TccStatus,
  type TxHistoryEntry,
  type TxKind,
  type TxQuery,
  type TxRecord,
  type TxStatus,
} from "./saga_store.ts";
export { MemorySagaStore } from "./memory_saga_store.ts";
export {
  SQLITE_SAGA_SCHEMA,
  SqliteSagaStore,
  type SqliteSagaStoreOptions,
} from "./sqlite_saga_store.ts";
export { openSagaStore, type SagaStoreConfig } from "./open_saga_store.ts";
export type { DriverOptions } from "./_runtime.ts";
export {
  type ListSagasQuery,
  type RecoverResult,
  SagaOrchestrator,
  type SagaOrchestratorOptions,
  type SagaStepView,
  type SagaView,
  type StartSagaOptions,
  type StepActionState,
  type StepCompensationState,
} from "./saga_orchestrator.ts";
export {
  type TccBranchView,
  type TccCall,
  TccCoordinator,
  type TccCoordinatorOptions,
  type TccParticipant,
  type TccPhase,
  type TccView,
} from "./tcc_coordinator.ts";
export {
  type BarrierContext,
  type BarrierState,
  type CancelOutcome,
  type ConfirmOutcome,
  SqliteTccParticipant,
  type SqliteTccParticipantOptions,
  type TryOutcome,
} from "./tcc_participant.ts";
export { type ExpirySweepOptions, startExpirySweep } from "./expiry_sweep.ts";
