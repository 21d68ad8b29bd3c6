import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { fixture } from "../lib/supervisor/testdata/plans.ts";
import { loadPlan } from "./_load_plan.ts";

const here = fromFileUrl(new URL(".", import.meta.url));

Deno.test("loadPlan() takes the named export", async () => {
  assert.equal(await loadPlan("testdata/plans.ts#first", here), fixture);
  assert.equal((await loadPlan("testdata/plans.ts#second", here)).name, "crashing");
});

Deno.test("loadPlan() takes the default export, a URL or an absolute path", async () => {
  const url = new URL("../lib/supervisor/testdata/plans.ts", import.meta.url);
  assert.equal(await loadPlan(url.href, "/"), fixture);
  assert.equal(await loadPlan(fromFileUrl(url), "/"), fixture);
  assert.equal(await loadPlan("../lib/supervisor/testdata/plans.ts", here), fixture);
});

Deno.test("loadPlan() asks for an export name when a module has several plans", async () => {
  await assert.rejects(() => loadPlan("testdata/plans.ts", here), {
    message:
      'Cannot load the plan "testdata/plans.ts" as the module exports several plans (first, second): name one with "testdata/plans.ts#<export>"',
  });
});

Deno.test("loadPlan() rejects a module without that plan", async () => {
  await assert.rejects(() => loadPlan("testdata/no_plan.ts", here), {
    message: 'Cannot load the plan "testdata/no_plan.ts" as the module exports no system plan',
  });
  await assert.rejects(() => loadPlan("testdata/plans.ts#notAPlan", here), {
    message:
      'Cannot load the plan "testdata/plans.ts#notAPlan" as the module has no export "notAPlan" that is a system plan',
  });
});

Deno.test("loadPlan() rejects a module that cannot be imported", async () => {
  await assert.rejects(
    () => loadPlan("testdata/missing.ts", here),
    /^Error: Cannot load the plan "testdata\/missing.ts": Module not found/,
  );
});
