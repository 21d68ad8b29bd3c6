// Rendering of HashiCorp's consul-api-double fixtures (private to
// lib/testing; used by consul_double.ts).
//
// The fixtures under `@hashicorp/consul-api-double/v1/` are the files that
// `@hashicorp/api-double` serves: one file per API path (`_` stands for any
// segment, e.g. `v1/health/service/_`), whose content is a JavaScript
// template literal evaluated with a few helpers: `range(n)`, `env(name,
// default)`, `location.pathname` / `location.search`, `http`, and `fake`
// (faker.js 4.x). A `.config` file beside them is a YAML template giving the
// response headers (`X-Consul-Index`) and latency. This module renders them
// the same way, with a small seeded stand-in for the faker functions they
// use, so the output is deterministic for a given seed.

/** The package's folder, as a file URL ending in `/`. */
function packageRoot(): URL {
  return new URL("./", import.meta.resolve("@hashicorp/consul-api-double/package.json"));
}

/** The inputs a fixture template sees. */
export interface FixtureRequest {
  /** Request path, e.g. `/v1/health/service/payment`. */
  path: string;
  /** Query parameters (`location.search`). */
  query: Readonly<Record<string, string>>;
  /** Values `env(name)` returns before its default, e.g. `{ CONSUL_NODE_COUNT: 3 }`. */
  env: Readonly<Record<string, string | number>>;
  /** Seed of the fake data. */
  seed: number;
  /** Request headers (`http.headers`). */
  headers?: Readonly<Record<string, string>>;
  /** Request method (`http.method`). @default {"GET"} */
  method?: string;
}

/** A rendered fixture: its body and the headers its `.config` gives. */
export interface RenderedFixture {
  /** The body, as the template produced it (JSON for the v1 API). */
  body: string;
  /** Response headers from the nearest `.config`, e.g. `X-Consul-Index`. */
  headers: Record<string, string>;
  /** The latency the `.config` asks for, in milliseconds. */
  latencyMs: number;
}

/**
 * Finds the fixture file for `path` (`undefined` when there is none): each
 * segment matches a file or folder of that name, or else `_`.
 */
export async function findFixture(path: string): Promise<URL | undefined> {
  const segments = path.split("/").filter((s) => s !== "");
  let dir = packageRoot();
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    let next: URL | undefined;
    for (const candidate of [segment, "_"]) {
      const url = new URL(candidate + (last ? "" : "/"), dir);
      const info = await Deno.stat(url).catch(() => undefined);
      if (info !== undefined && (last ? info.isFile : info.isDirectory)) {
        next = url;
        break;
      }
    }
    if (next === undefined) return undefined;
    dir = next;
  }
  return segments.length === 0 ? undefined : dir;
}

/** Renders the fixture for `request.path`, or returns `undefined` when there is none. */
export async function renderFixture(request: FixtureRequest): Promise<RenderedFixture | undefined> {
  const file = await findFixture(request.path);
  if (file === undefined) return undefined;
  const body = renderTemplate(await Deno.readTextFile(file), request);
  const config = await findConfig(file);
  const rendered = config === undefined ? "" : renderTemplate(config, request);
  return { body, ...parseConfig(rendered, request.method ?? "GET") };
}

/** Evaluates one template as api-double does, with `request` as its variables. */
export function renderTemplate(template: string, request: FixtureRequest): string {
  const { fake, random } = createFake(request.seed);
  // Templates also call Math.random() (for default counts): seed it too.
  const seededMath = Object.create(Math, { random: { value: random } });
  const segments = request.path.split("/");
  const location = {
    search: { ...request.query },
    pathname: {
      toString: () => request.path,
      valueOf: () => request.path,
      slice: (start?: number, end?: number) => segments.slice(start, end).join("/"),
      isDir: () => request.path.endsWith("/"),
      get: (i: number) => segments[i + 1],
    },
  };
  const range = (a: unknown, b?: unknown) => {
    const start = b === undefined ? 0 : parseInt(String(a));
    const end = parseInt(String(b === undefined ? a : b));
    return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
  };
  const env = (name: string, fallback?: unknown) => {
    const key = name.toUpperCase();
    return request.env[key] ?? request.headers?.[`X-${key.replace("_", "-")}`] ?? fallback ??
      null;
  };
  const headers = request.headers ?? {};
  const method = request.method ?? "GET";
  const http = { headers, method, cookies: {} };
  const vars: Record<string, unknown> = {
    Math: seededMath,
    fake,
    location,
    range,
    env,
    http,
    headers,
    method,
    query: { ...request.query },
    cookies: {},
  };
  // The outer level keeps its backslashes (certificates hold `\n`), as a file would.
  const evaluate = new Function(
    ...Object.keys(vars),
    "return String.raw`" + template + "`;",
  ) as (...args: unknown[]) => string;
  return evaluate(...Object.values(vars));
}

async function findConfig(file: URL): Promise<string | undefined> {
  const root = packageRoot().href;
  for (let dir = new URL("./", file); dir.href.startsWith(root); dir = new URL("../", dir)) {
    const text = await Deno.readTextFile(new URL(".config", dir)).catch(() => undefined);
    if (text !== undefined) return text;
    if (dir.href === root) break;
  }
  return undefined;
}

/**
 * Reads the `"*": <METHOD>: "*": { latency, headers: { response: {…} } }`
 * shape of a rendered `.config` (a YAML subset: keys, scalars, indentation).
 */
function parseConfig(yaml: string, method: string): Omit<RenderedFixture, "body"> {
  const headers: Record<string, string> = {};
  let latencyMs = 0;
  const path: Array<{ indent: number; key: string }> = [];
  for (const raw of yaml.split("\n")) {
    const line = raw.replace(/\s+$/, "");
    const match = /^(\s*)("?[^":]+"?):\s*(.*)$/.exec(line);
    if (match === null || line.trim() === "---") continue;
    const indent = match[1]!.length;
    const key = match[2]!.replace(/^"|"$/g, "");
    const value = match[3]!;
    while (path.length > 0 && path.at(-1)!.indent >= indent) path.pop();
    const keys = path.map((p) => p.key);
    if (value === "") {
      path.push({ indent, key });
      continue;
    }
    if (keys[1] !== method && keys[1] !== "*") continue;
    if (key === "latency" && keys.length === 3) latencyMs = Number(value) || 0;
    if (keys.length === 5 && keys[3] === "headers" && keys[4] === "response") {
      headers[key] = value.replace(/^"|"$/g, "");
    }
  }
  return { headers, latencyMs };
}

/** A seeded stand-in for the faker.js 4.x functions the fixtures call. */
function createFake(seed: number): { fake: Record<string, unknown>; random: () => number } {
  let state = seed >>> 0;
  // mulberry32
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const hex = (n: number) => Array.from({ length: n }, () => int(0, 15).toString(16)).join("");
  const words = [
    "alias",
    "bandwidth",
    "capacitor",
    "circuit",
    "driver",
    "firewall",
    "hard drive",
    "interface",
    "matrix",
    "microchip",
    "monitor",
    "pixel",
    "port",
    "protocol",
    "sensor",
    "system",
    "transmitter",
  ];
  const lorem = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"];
  const sentence = () => {
    const text = Array.from({ length: int(3, 8) }, () => pick(lorem)).join(" ");
    return text.charAt(0).toUpperCase() + text.slice(1) + ".";
  };
  const fake = {
    seed: (value: number) => {
      state = value >>> 0;
    },
    random: {
      number: (options?: number | { min?: number; max?: number }) => {
        const { min = 0, max = 99_999 } = typeof options === "number"
          ? { max: options }
          : options ?? {};
        return int(min, max);
      },
      boolean: () => random() < 0.5,
      uuid: () =>
        `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(["8", "9", "a", "b"])}${hex(3)}-${hex(12)}`,
    },
    helpers: {
      randomize: <T>(items: readonly T[]): T => pick(items),
      shuffle: <T>(items: readonly T[]): T[] => {
        const copy = [...items];
        for (let i = copy.length - 1; i > 0; i--) {
          const j = int(0, i);
          [copy[i], copy[j]] = [copy[j]!, copy[i]!];
        }
        return copy;
      },
    },
    hacker: { noun: () => pick(words) },
    lorem: {
      word: () => pick(lorem),
      words: (n = 3) => Array.from({ length: n }, () => pick(lorem)).join(" "),
      sentence,
      paragraph: () => Array.from({ length: 3 }, sentence).join(" "),
    },
    internet: {
      ip: () => Array.from({ length: 4 }, () => int(1, 254)).join("."),
      ipv6: () => Array.from({ length: 8 }, () => hex(4)).join(":"),
      protocol: () => pick(["http", "https"]),
      domainName: () => `${pick(lorem)}-${pick(lorem)}.${pick(["com", "net", "org", "io"])}`,
      userName: () => `${pick(lorem)}_${int(1, 99)}`,
      password: () => hex(15),
      userAgent: () => `Mozilla/5.0 (X11; Linux x86_64; rv:${int(50, 99)}.0)`,
    },
    address: { countryCode: () => pick(["DE", "FR", "GB", "IT", "JP", "NL", "US"]) },
    system: { fileName: () => `${pick(lorem)}_${pick(lorem)}.${pick(["txt", "json", "png"])}` },
    date: { past: () => new Date(Date.UTC(2020, int(0, 11), int(1, 28))) },
    company: { companyName: () => `${pick(lorem)} ${pick(["Inc", "LLC", "Group"])}` },
  };
  return { fake, random };
}
