/**
 * Run under a service's exact permission flags by the least-privilege test:
 * tries what it is told to and prints, as JSON, `ok` or the error class of
 * each attempt. Keys of attempts that must fail start with `deny:`.
 *
 * @module
 */

interface Plan {
  readable?: string[];
  writable?: string[];
  unreadable?: string[];
  unwritable?: string[];
  reachable?: number[];
  unreachable?: number[];
  readableEnv?: string[];
  unreadableEnv?: string[];
}

const plan: Plan = JSON.parse(Deno.args[0] ?? "{}");
const results: Record<string, string> = {};

async function attempt(key: string, action: () => unknown): Promise<void> {
  try {
    await action();
    results[key] = "ok";
  } catch (error) {
    results[key] = error instanceof Deno.errors.NotCapable
      ? "NotCapable"
      : `${(error as Error).name}: ${(error as Error).message}`;
  }
}

for (const path of plan.readable ?? []) await attempt(`allow:read ${path}`, () => Deno.stat(path));
for (const path of plan.writable ?? []) {
  await attempt(`allow:write ${path}`, async () => {
    await Deno.writeTextFile(path, "probe");
    await Deno.remove(path);
  });
}
for (const path of plan.unreadable ?? []) {
  await attempt(`deny:read ${path}`, () => Deno.readFile(path));
}
for (const path of plan.unwritable ?? []) {
  await attempt(`deny:write ${path}`, () => Deno.writeTextFile(path, "x"));
}
for (const port of plan.reachable ?? []) {
  await attempt(
    `allow:connect ${port}`,
    async () => (await Deno.connect({ hostname: "127.0.0.1", port })).close(),
  );
}
for (const port of plan.unreachable ?? []) {
  await attempt(
    `deny:connect ${port}`,
    async () => (await Deno.connect({ hostname: "127.0.0.1", port })).close(),
  );
}
for (const name of plan.readableEnv ?? []) {
  await attempt(`allow:env ${name}`, () => Deno.env.get(name));
}
for (const name of plan.unreadableEnv ?? []) {
  await attempt(`deny:env ${name}`, () => Deno.env.get(name));
}

// The test parses this one line.
// deno-lint-ignore no-console
console.log(JSON.stringify(results));
