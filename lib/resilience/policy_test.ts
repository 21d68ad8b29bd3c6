import assert from "node:assert/strict";
import fc from "fast-check";
import { ValidationError } from "@flotilla/core";
import { Bulkhead } from "./bulkhead.ts";
import { CircuitBreaker } from "./circuit_breaker.ts";
import { OutlierDetector } from "./outlier_detector.ts";
import { DEFAULT_POLICY, parsePolicyConfig, type PolicyConfig, resolvePolicy } from "./policy.ts";
import { RetryPolicy } from "./retry.ts";

Deno.test("resolvePolicy() gives the built-in defaults without configuration", () => {
  const policy = resolvePolicy({}, "inventory", "getProducts");
  assert.deepEqual(policy, {
    timeoutMs: 10_000,
    attemptTimeoutMs: false,
    retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 2_000, minAttemptMs: 20 },
    breaker: {
      slidingWindow: { type: "count", size: 100 },
      failureRateThreshold: 50,
      slowCallRateThreshold: 100,
      slowCallDurationMs: 60_000,
      minimumNumberOfCalls: 10,
      waitDurationInOpenMs: 5_000,
      permittedCallsInHalfOpen: 3,
      halfOpenProbeTimeoutMs: 10_000,
    },
    bulkhead: { maxConcurrent: 64, maxQueue: 0, maxWaitMs: 1_000 },
    outlier: {
      consecutiveFailures: 5,
      baseEjectionMs: 30_000,
      maxEjectionMs: 300_000,
      maxEjectionPercent: 50,
    },
    balancer: "p2c_ewma",
  });
  assert.deepEqual(policy, DEFAULT_POLICY);
  assert.ok(Object.isFrozen(DEFAULT_POLICY) && Object.isFrozen(DEFAULT_POLICY.retry));
});

Deno.test("resolvePolicy() lets the action override the peer, the peer the defaults", () => {
  const config: PolicyConfig = {
    defaults: { timeoutMs: 5_000, balancer: "round_robin", retry: { maxAttempts: 2 } },
    peers: {
      payment: {
        timeoutMs: 3_000,
        retry: { baseDelayMs: 10 },
        actions: { charge: { timeoutMs: 20_000, balancer: "least_outstanding" } },
      },
    },
  };
  const charge = resolvePolicy(config, "payment", "charge");
  assert.equal(charge.timeoutMs, 20_000);
  assert.equal(charge.balancer, "least_outstanding");
  assert.deepEqual(charge.retry, {
    maxAttempts: 2,
    baseDelayMs: 10,
    maxDelayMs: 2_000,
    minAttemptMs: 20,
  });
  const refund = resolvePolicy(config, "payment", "refund");
  assert.equal(refund.timeoutMs, 3_000);
  assert.equal(refund.balancer, "round_robin");
  const other = resolvePolicy(config, "inventory", "charge");
  assert.equal(other.timeoutMs, 5_000);
  assert.deepEqual(other.retry, {
    maxAttempts: 2,
    baseDelayMs: 50,
    maxDelayMs: 2_000,
    minAttemptMs: 20,
  });
});

Deno.test("resolvePolicy() turns mechanisms off with false and back on over the built-ins", () => {
  const config: PolicyConfig = {
    defaults: { retry: { maxAttempts: 7 }, bulkhead: false },
    peers: {
      payment: {
        retry: false,
        actions: { getPayment: { retry: { baseDelayMs: 5 }, bulkhead: {} } },
      },
    },
  };
  assert.equal(resolvePolicy(config, "payment", "charge").retry, false);
  assert.equal(resolvePolicy(config, "payment", "charge").bulkhead, false);
  const getPayment = resolvePolicy(config, "payment", "getPayment");
  // Re-enabled on top of the built-ins, not of the defaults that were turned off below.
  assert.deepEqual(getPayment.retry, {
    maxAttempts: 3,
    baseDelayMs: 5,
    maxDelayMs: 2_000,
    minAttemptMs: 20,
  });
  assert.deepEqual(getPayment.bulkhead, DEFAULT_POLICY.bulkhead);
});

Deno.test("resolvePolicy() merges the breaker's nested options and its sliding window", () => {
  const config: PolicyConfig = {
    defaults: { breaker: { failureRateThreshold: 30, slidingWindow: { type: "count", size: 20 } } },
    peers: {
      inventory: {
        breaker: { minimumNumberOfCalls: 5 },
        actions: {
          getProducts: { breaker: { slidingWindow: { type: "time" } } },
          reserve: { breaker: { slidingWindow: { type: "count" } } },
        },
      },
    },
  };
  const peer = resolvePolicy(config, "inventory", "x");
  assert.ok(peer.breaker);
  assert.equal(peer.breaker.failureRateThreshold, 30);
  assert.equal(peer.breaker.minimumNumberOfCalls, 5);
  assert.deepEqual(peer.breaker.slidingWindow, { type: "count", size: 20 });
  const time = resolvePolicy(config, "inventory", "getProducts");
  assert.ok(time.breaker);
  assert.deepEqual(time.breaker.slidingWindow, { type: "time", sizeMs: 10_000, bucketMs: 1_000 });
  assert.equal(time.breaker.failureRateThreshold, 30);
  const count = resolvePolicy(config, "inventory", "reserve");
  assert.ok(count.breaker);
  assert.deepEqual(count.breaker.slidingWindow, { type: "count", size: 20 });
});

Deno.test("resolvePolicy() neither mutates its input nor shares objects between results", () => {
  const config: PolicyConfig = { defaults: { retry: { maxAttempts: 4 } } };
  const before = structuredClone(config);
  const a = resolvePolicy(config, "s", "a");
  const b = resolvePolicy(config, "s", "a");
  assert.notEqual(a.retry, b.retry);
  assert.notEqual(a.breaker && a.breaker.slidingWindow, b.breaker && b.breaker.slidingWindow);
  assert.deepEqual(config, before);
});

Deno.test("resolvePolicy() looks up only own peers and actions", () => {
  const policy = resolvePolicy({ peers: {} }, "__proto__", "toString");
  assert.deepEqual(policy, DEFAULT_POLICY);
  const config: PolicyConfig = { peers: { a: { actions: {} } } };
  assert.deepEqual(resolvePolicy(config, "a", "constructor"), DEFAULT_POLICY);
});

Deno.test("resolvePolicy() output builds every primitive", () => {
  const policy = resolvePolicy({}, "s", "a");
  assert.ok(policy.retry && policy.breaker && policy.bulkhead && policy.outlier);
  new RetryPolicy(policy.retry);
  new CircuitBreaker(policy.breaker);
  new Bulkhead(policy.bulkhead);
  new OutlierDetector(policy.outlier);
});

Deno.test("resolvePolicy() applies the most specific level that sets a field", () => {
  const level = fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined });
  fc.assert(
    fc.property(level, level, level, (defaults, peer, action) => {
      const config: PolicyConfig = {
        defaults: defaults === undefined
          ? {}
          : { timeoutMs: defaults, retry: { maxAttempts: defaults } },
        peers: {
          s: {
            ...(peer === undefined ? {} : { timeoutMs: peer, retry: { maxAttempts: peer } }),
            actions: {
              a: action === undefined ? {} : { timeoutMs: action, retry: { maxAttempts: action } },
            },
          },
        },
      };
      const expected = action ?? peer ?? defaults;
      const policy = resolvePolicy(config, "s", "a");
      assert.equal(policy.timeoutMs, expected ?? 10_000);
      assert.equal(policy.retry && policy.retry.maxAttempts, expected ?? 3);
    }),
  );
});

Deno.test("parsePolicyConfig() accepts a valid configuration", () => {
  const json = {
    defaults: { timeoutMs: 5_000, balancer: "random", outlier: false },
    peers: {
      payment: {
        retry: false,
        breaker: { slidingWindow: { type: "time", sizeMs: 30_000, bucketMs: 500 } },
        actions: { charge: { bulkhead: { maxConcurrent: 8, maxQueue: 16, maxWaitMs: 250 } } },
      },
    },
  };
  const config = parsePolicyConfig(structuredClone(json));
  assert.deepEqual(config, json);
  assert.equal(resolvePolicy(config, "payment", "charge").retry, false);
});

Deno.test("parsePolicyConfig() names every offending field", () => {
  let error: unknown;
  try {
    parsePolicyConfig({
      defaults: { timeoutMs: -1, balancer: "fastest" },
      peers: {
        payment: {
          retry: { maxAttempts: 0, maxAtempts: 3 },
          breaker: true,
          actions: { charge: { bulkhead: { maxQueue: 1.5 } } },
        },
      },
    });
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof ValidationError);
  assert.equal(error.code, "INVALID_POLICY");
  const fields = error.issues.map((issue) => issue.pointer).sort();
  assert.deepEqual(fields, [
    "/defaults/balancer",
    "/defaults/timeoutMs",
    "/peers/payment/actions/charge/bulkhead/maxQueue",
    "/peers/payment/breaker",
    "/peers/payment/retry",
    "/peers/payment/retry/maxAttempts",
  ]);
  assert.match(error.message, /peers\.payment\.retry\.maxAttempts: Too small/);
  assert.match(error.message, /peers\.payment\.retry: Unrecognized key: "maxAtempts"/);
  assert.match(error.message, /peers\.payment\.breaker: Expected false or an options object/);
});

Deno.test("parsePolicyConfig() checks related fields and the root", () => {
  assert.throws(
    () => parsePolicyConfig({ defaults: { retry: { baseDelayMs: 100, maxDelayMs: 10 } } }),
    {
      message: /defaults\.retry\.maxDelayMs: Must be >= baseDelayMs/,
    },
  );
  assert.throws(
    () =>
      parsePolicyConfig({
        defaults: { breaker: { slidingWindow: { type: "time", sizeMs: 100, bucketMs: 1_000 } } },
      }),
    { message: /defaults\.breaker\.slidingWindow\.bucketMs: Must be <= sizeMs/ },
  );
  assert.throws(
    () => parsePolicyConfig({ defaults: { breaker: { slidingWindow: { type: "sliding" } } } }),
    { message: /defaults\.breaker\.slidingWindow\.type/ },
  );
  assert.throws(() => parsePolicyConfig(null), ValidationError);
  assert.throws(() => parsePolicyConfig({ defaults: { actions: {} } }), {
    message: /defaults: Unrecognized key: "actions"/,
  });
});
