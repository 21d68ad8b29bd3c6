/**
 * The chaos suite's load, history and invariants (`tests/chaos`).
 *
 * - {@link seedChaosShop} fills a fresh data folder with a catalogue and
 *   customers sized for a few hundred checkouts (the services seed only empty
 *   stores), with a scarce product and a poor customer so that business
 *   cancellations (OUT_OF_STOCK, INSUFFICIENT_FUNDS) happen too.
 * - {@link ChaosLoad} places checkouts as a real client does — each with its
 *   own `Idempotency-Key`, retried with the same key on 429, 503, 504, a
 *   lost connection or a `PENDING` answer — and logs every checkout as an
 *   `enqueue` of its order id (known in advance: the order service derives
 *   it from the key) in a {@link History}: `ok` once the order is settled,
 *   `fail` when it certainly took no effect (a 4xx refusal), `info` when its
 *   outcome is unknown (gave up on 5xx/timeouts). A final `drain` logs every
 *   order the shop holds, so Jepsen's total-queue checker judges the run:
 *   every acknowledged checkout is there exactly once, nothing is there that
 *   no checkout could have placed.
 * - {@link assertShopInvariants} waits for every order to settle, then
 *   checks the history and the shop's invariants: stock and balances moved
 *   by exactly the confirmed orders, each confirmed order charged once and
 *   its stock reserved once, nothing charged or reserved for a cancelled
 *   one.
 *
 * "Success" of an operation, for the suite's ≥ 80 % rule: the order reached
 * CONFIRMED, or CANCELLED for a business reason (out of stock, insufficient
 * funds). Anything else — an error after the client's retries, a timeout, an
 * order still PENDING or CANCELLED because it TIMED_OUT — is a failure.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { checkEffects, checkTotalQueue, History } from "@flotilla/consistency";
import { waitFor } from "@flotilla/testing";
import { orderIdForKey } from "../../apps/shop/order/app/place_order.ts";
import { SqliteInventoryStore } from "../../apps/shop/inventory/infra/sqlite_inventory_store.ts";
import { SqlitePaymentStore } from "../../apps/shop/payment/infra/sqlite_payment_store.ts";

/** What the load needs of a running shop: its gateway and its data folder. */
export interface ShopLike {
  /** The gateway's base URL. */
  readonly url: string;
  /** The root data folder (`<dataDir>/<service>/…`). */
  readonly dataDir: string;
}

/** A checkout request. */
export interface CheckoutRequest {
  /** Who pays. */
  customerId: string;
  /** What is bought. */
  items: Array<{ sku: string; quantity: number }>;
}

/** An order as the gateway shows it. */
export interface Order {
  orderId: string;
  customerId: string;
  items: Array<{ sku: string; quantity: number; price: number }>;
  total: number;
  status: string;
  reason?: string;
}

/** The seeded catalogue: plenty of tea, three rare teapots. */
export const CHAOS_PRODUCTS = [
  { sku: "TEA", name: "Chaos tea", price: 100, stock: 100_000 },
  { sku: "MUG", name: "Chaos mug", price: 250, stock: 100_000 },
  { sku: "RARE", name: "Rare teapot", price: 100, stock: 3 },
] as const;

/** The seeded customers: four rich ones and one who can afford nothing. */
export const CHAOS_CUSTOMERS = [
  { id: "ann", name: "Ann", balance: 100_000_000 },
  { id: "ben", name: "Ben", balance: 100_000_000 },
  { id: "cat", name: "Cat", balance: 100_000_000 },
  { id: "dan", name: "Dan", balance: 100_000_000 },
  { id: "poor", name: "Poor", balance: 10 },
] as const;

/**
 * Seeds the inventory and payment stores of a data folder that the shop has
 * not started in yet.
 */
export async function seedChaosShop(dataDir: string): Promise<void> {
  await Deno.mkdir(join(dataDir, "inventory"), { recursive: true });
  await Deno.mkdir(join(dataDir, "payment"), { recursive: true });
  const inventory = SqliteInventoryStore.open(join(dataDir, "inventory", "inventory.db"));
  inventory.seed(CHAOS_PRODUCTS.map((p) => ({ ...p })));
  inventory.close();
  const payment = SqlitePaymentStore.open(join(dataDir, "payment", "payment.db"));
  payment.seed(CHAOS_CUSTOMERS.map((c) => ({ ...c })));
  payment.close();
}

/**
 * The `n`-th request of a load: mostly tea for the rich customers, every
 * 10th one by the poor customer (INSUFFICIENT_FUNDS), every 15th one for
 * the rare teapot (OUT_OF_STOCK once three are sold).
 */
export function mixedRequest(n: number): CheckoutRequest {
  if (n % 10 === 9) return { customerId: "poor", items: [{ sku: "TEA", quantity: 1 }] };
  const customerId = CHAOS_CUSTOMERS[n % 4]!.id;
  if (n % 15 === 14) return { customerId, items: [{ sku: "RARE", quantity: 1 }] };
  return {
    customerId,
    items: n % 3 === 0
      ? [{ sku: "TEA", quantity: 1 + (n % 4) }, { sku: "MUG", quantity: 1 }]
      : [{ sku: "TEA", quantity: 1 + (n % 4) }],
  };
}

/** How one checkout ended, from the client's side. */
export interface Outcome {
  /** The phase of the scenario it belongs to. */
  readonly phase: string;
  /** The order id its key names. */
  readonly orderId: string;
  /** `success` per the module's definition, or why not. */
  readonly result: "success" | "failed";
  /** The order's status when it was settled. */
  readonly status?: string | undefined;
  /** The cancellation reason. */
  readonly reason?: string | undefined;
  /** Every error code answered along the way (one per failed attempt). */
  readonly codes: readonly string[];
}

/** Options of {@link ChaosLoad}. */
export interface ChaosLoadOptions {
  /** Attempts per checkout, the first included. @default {6} */
  attempts?: number;
  /** First backoff between attempts; doubles up to `maxDelayMs`. @default {100} */
  baseDelayMs?: number;
  /** Longest backoff. @default {1000} */
  maxDelayMs?: number;
}

const BUSINESS_REASONS = new Set(["OUT_OF_STOCK", "INSUFFICIENT_FUNDS"]);
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

/** A client population placing checkouts and logging them in a {@link History}. */
export class ChaosLoad {
  /** Every operation, as the checker reads it. */
  readonly history: History<string> = new History<string>();
  /** The outcome of every checkout, in completion order. */
  readonly outcomes: Outcome[] = [];
  readonly #shop: ShopLike;
  readonly #attempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #generation = new Map<string, number>();
  #count = 0;

  constructor(shop: ShopLike, options: ChaosLoadOptions = {}) {
    this.#shop = shop;
    this.#attempts = options.attempts ?? 6;
    this.#baseDelayMs = options.baseDelayMs ?? 100;
    this.#maxDelayMs = options.maxDelayMs ?? 1_000;
  }

  /** Error codes answered so far, with how often. */
  codes(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const outcome of this.outcomes) {
      for (const code of outcome.codes) counts.set(code, (counts.get(code) ?? 0) + 1);
    }
    return counts;
  }

  /**
   * Places one checkout with a fresh key, retrying it as a client would,
   * and logs it as client `client`.
   */
  async checkout(client: string, phase: string, request: CheckoutRequest): Promise<Outcome> {
    const key = `chaos-${phase}-${crypto.randomUUID()}`;
    const orderId = await orderIdForKey(key);
    const process = this.#process(client);
    this.#count++;
    this.history.invoke(process, "enqueue", orderId);
    const codes: string[] = [];
    let lastError = "";
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      if (attempt > 1) {
        const cap = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 2));
        await delay(cap / 2 + Math.random() * cap / 2);
      }
      let status: number;
      let body: Partial<Order> & { code?: string; detail?: string };
      try {
        const response = await fetch(`${this.#shop.url}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json", "Idempotency-Key": key },
          body: JSON.stringify(request),
          signal: AbortSignal.timeout(30_000),
        });
        status = response.status;
        const text = await response.text();
        body = text === "" ? {} : JSON.parse(text);
      } catch (error) {
        codes.push("CLIENT_NETWORK_ERROR");
        lastError = String(error);
        continue;
      }
      if (status === 201 && (body.status === "CONFIRMED" || body.status === "CANCELLED")) {
        this.history.ok(process, "enqueue", orderId);
        const success = body.status === "CONFIRMED" || BUSINESS_REASONS.has(body.reason ?? "");
        return this.#done({
          phase,
          orderId,
          result: success ? "success" : "failed",
          status: body.status,
          reason: body.reason,
          codes,
        });
      }
      if (status === 201) {
        codes.push(`PENDING`); // the request gave up first; the same key resumes it
        lastError = "the order is still PENDING";
        continue;
      }
      codes.push(body.code ?? `HTTP_${status}`);
      lastError = `${status} ${body.code ?? ""} ${body.detail ?? ""}`.trim();
      if (RETRYABLE_STATUSES.has(status)) continue;
      if (status >= 400 && status < 500) {
        // A refusal: the request was rejected and nothing took effect.
        this.history.fail(process, "enqueue", orderId, lastError);
        return this.#done({ phase, orderId, result: "failed", codes });
      }
      break;
    }
    // Given up: the order may or may not exist (it settles on its own if it does).
    this.history.info(process, "enqueue", orderId, lastError);
    this.#generation.set(client, (this.#generation.get(client) ?? 0) + 1);
    return this.#done({ phase, orderId, result: "failed", codes });
  }

  /**
   * `clients` concurrent clients, each placing `perClient` checkouts one
   * after the other; the `n`-th checkout (over all clients) is
   * `request(n)`.
   */
  async run(
    phase: string,
    clients: number,
    perClient: number,
    request: (n: number) => CheckoutRequest = mixedRequest,
  ): Promise<Outcome[]> {
    let next = 0;
    const results = await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const mine: Outcome[] = [];
        for (let i = 0; i < perClient; i++) {
          mine.push(await this.checkout(`${phase}-${c}`, phase, request(next++)));
        }
        return mine;
      }),
    );
    return results.flat();
  }

  /** Operations attempted, succeeded, and the ratio. */
  successRate(): { attempted: number; succeeded: number; rate: number } {
    const attempted = this.outcomes.length;
    const succeeded = this.outcomes.filter((o) => o.result === "success").length;
    return { attempted, succeeded, rate: attempted === 0 ? 0 : succeeded / attempted };
  }

  /** A one-line summary per phase, for assertion messages and logs. */
  summary(): string {
    const phases = new Map<string, { n: number; ok: number }>();
    for (const o of this.outcomes) {
      const p = phases.get(o.phase) ?? { n: 0, ok: 0 };
      p.n++;
      if (o.result === "success") p.ok++;
      phases.set(o.phase, p);
    }
    const { attempted, succeeded, rate } = this.successRate();
    const parts = [...phases].map(([name, p]) => `${name} ${p.ok}/${p.n}`);
    const codes = [...this.codes()].map(([code, n]) => `${code}×${n}`).join(" ");
    return `${succeeded}/${attempted} succeeded (${(rate * 100).toFixed(1)} %): ${
      parts.join(", ")
    }; codes: ${codes || "none"}`;
  }

  /** Asserts the suite's rule: at least `threshold` of the attempted operations succeeded. */
  assertSuccessRate(threshold = 0.8): void {
    const { attempted, rate } = this.successRate();
    assert.ok(attempted > 0, "no operation was attempted");
    assert.ok(rate >= threshold, `success rate below ${threshold * 100} %: ${this.summary()}`);
  }

  #process(client: string): string {
    const generation = this.#generation.get(client) ?? 0;
    return generation === 0 ? client : `${client}#${generation}`;
  }

  #done(outcome: Outcome): Outcome {
    this.outcomes.push(outcome);
    return outcome;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function getJson<T>(shop: ShopLike, path: string): Promise<T> {
  const response = await fetch(shop.url + path, { signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Rows of a service's SQLite database, read-only, while the shop runs. */
function rows(
  shop: ShopLike,
  service: string,
  file: string,
  sql: string,
): Array<Record<string, unknown>> {
  const db = new DatabaseSync(join(shop.dataDir, service, file), { readOnly: true });
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    return db.prepare(sql).all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

/** The state the invariants are checked against. */
export interface SettledShop {
  /** Every order, each CONFIRMED or CANCELLED. */
  orders: Order[];
  /** The confirmed ones. */
  confirmed: Order[];
}

/**
 * Waits (generously) until every order is CONFIRMED or CANCELLED, logs the
 * final `drain` of every order in the shop, and asserts:
 *
 * 1. the history checker's verdict (total queue, exactly once): no
 *    acknowledged checkout lost, no order that no checkout placed, none
 *    twice; each acknowledged order's status is the one the client saw;
 * 2. stock conserved: each product's stock moved by exactly what the
 *    confirmed orders bought;
 * 3. no double charge: each balance moved by exactly the confirmed orders'
 *    totals, and the payments table charged (CHARGED) exactly the confirmed
 *    orders, once each — nothing left charged for a cancelled one;
 * 4. no duplicate reservation: the reservations held (RESERVED) are exactly
 *    the confirmed orders', once each.
 */
export async function assertShopInvariants(
  shop: ShopLike,
  load: ChaosLoad,
  options: { timeoutMs?: number } = {},
): Promise<SettledShop> {
  const orders = await waitFor(async () => {
    const all = await getJson<Order[]>(shop, "/orders?limit=1000").catch(() => undefined);
    return all !== undefined &&
      all.every((o) => o.status === "CONFIRMED" || o.status === "CANCELLED") && all;
  }, {
    what: "every order to be CONFIRMED or CANCELLED",
    timeoutMs: options.timeoutMs ?? 180_000,
    intervalMs: 250,
  });
  assert.ok(orders.length < 1000, "more orders than one page: raise the page size");

  // 1. The history checker.
  load.history.invoke("reader", "drain");
  load.history.ok("reader", "drain", orders.map((o) => o.orderId));
  const verdict = checkTotalQueue(load.history, { exactlyOnce: true });
  assert.ok(
    verdict.valid,
    `history checker: lost ${JSON.stringify(verdict.lost)}, unexpected ${
      JSON.stringify(verdict.unexpected)
    }, duplicated ${JSON.stringify([...verdict.duplicated])}`,
  );
  assert.equal(verdict.attempted, load.outcomes.length);
  const byId = new Map(orders.map((o) => [o.orderId, o]));
  for (const outcome of load.outcomes) {
    if (outcome.status === undefined) continue;
    assert.equal(
      byId.get(outcome.orderId)?.status,
      outcome.status,
      `order ${outcome.orderId} keeps the status its client was told`,
    );
  }

  const confirmed = orders.filter((o) => o.status === "CONFIRMED");
  const confirmedIds = confirmed.map((o) => o.orderId);

  // 2. Stock conserved.
  const products = await getJson<Array<{ sku: string; stock: number }>>(shop, "/products");
  const stock = new Map(products.map((p) => [p.sku, p.stock]));
  for (const product of CHAOS_PRODUCTS) {
    const sold = confirmed.flatMap((o) => o.items).filter((i) => i.sku === product.sku)
      .reduce((sum, i) => sum + i.quantity, 0);
    assert.equal(stock.get(product.sku), product.stock - sold, `stock of ${product.sku}`);
  }

  // 3. No double charge.
  const customers = await getJson<Array<{ id: string; balance: number }>>(shop, "/customers");
  const balance = new Map(customers.map((c) => [c.id, c.balance]));
  for (const customer of CHAOS_CUSTOMERS) {
    const paid = confirmed.filter((o) => o.customerId === customer.id)
      .reduce((sum, o) => sum + o.total, 0);
    assert.equal(balance.get(customer.id), customer.balance - paid, `${customer.id} paid once`);
  }
  const charged = rows(
    shop,
    "payment",
    "payment.db",
    "SELECT order_id FROM payments WHERE status = 'CHARGED'",
  ).map((r) => String(r.order_id));
  const charges = checkEffects(confirmedIds, charged);
  assert.ok(
    charges.valid,
    `charges: missing ${charges.missing}, duplicated ${[...charges.duplicated]}, unexpected ${[
      ...charges.unexpected,
    ]}`,
  );

  // 4. No duplicate reservation.
  const reserved = rows(
    shop,
    "inventory",
    "inventory.db",
    "SELECT order_id FROM reservations WHERE status = 'RESERVED'",
  ).map((r) => String(r.order_id));
  const reservations = checkEffects(confirmedIds, reserved);
  assert.ok(
    reservations.valid,
    `reservations: missing ${reservations.missing}, duplicated ${[
      ...reservations.duplicated,
    ]}, unexpected ${[...reservations.unexpected]}`,
  );
  return { orders, confirmed };
}

/** The `circuit breaker changed state` transitions a service logged for `peer`, in order. */
export async function breakerTransitions(
  dataDir: string,
  service: string,
  peer: string,
): Promise<string[]> {
  const text = await Deno.readTextFile(join(dataDir, "logs", `${service}.log`));
  return text.split("\n").filter(Boolean).flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  }).filter((r) => r.msg === "circuit breaker changed state" && r.peer === peer)
    .map((r) => `${r.from}->${r.to}`);
}

/**
 * The sum of a Prometheus counter or gauge over the series whose labels
 * include `labels`, read from `http://<host>:<port>/metrics`.
 */
export async function metricSum(
  host: string,
  port: number,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const response = await fetch(`http://${host}:${port}/metrics`, {
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const series = match[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) {
      sum += Number(match[3]);
    }
  }
  return sum;
}
