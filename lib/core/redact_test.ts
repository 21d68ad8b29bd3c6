import assert from "node:assert/strict";
import { redactPassword } from "./redact.ts";

Deno.test("redactPassword() hides every password and keeps the rest", () => {
  assert.equal(redactPassword("postgres://app:hunter2@db/shop"), "postgres://app:***@db/shop");
  assert.equal(redactPassword("postgres://:hunter2@db/shop"), "postgres://:***@db/shop");
  assert.equal(redactPassword("nats://a:pw1@h1,b:pw2@h2:4223"), "nats://a:***@h1,b:***@h2:4223");
  assert.equal(redactPassword("redis://db:6379/2"), "redis://db:6379/2");
  assert.equal(redactPassword("sqlite"), "sqlite");
});
