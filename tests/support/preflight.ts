/**
 * Run by `deno task test` before the tests: makes sure the servers the
 * integration tests start for themselves are installed. As root (as CI runs)
 * it installs the missing Debian packages; otherwise it says exactly what to
 * install and stops.
 *
 * @module
 */

/** The binaries the tests run, and the Debian packages that provide them. */
const NEEDED: ReadonlyArray<{ binary: string; paths: string[]; packages: string[] }> = [
  { binary: "etcd", paths: ["/usr/bin/etcd"], packages: ["etcd-server", "etcd-client"] },
  { binary: "dnsmasq", paths: ["/usr/sbin/dnsmasq"], packages: ["dnsmasq-base"] },
  { binary: "redis-server", paths: ["/usr/bin/redis-server"], packages: ["redis-server"] },
  {
    binary: "nats-server",
    paths: ["/usr/sbin/nats-server", "/usr/bin/nats-server"],
    packages: ["nats-server"],
  },
  {
    // The event store tests start private PostgreSQL servers (initdb + postgres on a free port).
    binary: "postgres",
    paths: ["/usr/lib/postgresql/15/bin/postgres"],
    packages: ["postgresql-15"],
  },
  {
    // The telemetry tests lint every service's /metrics with promtool and query a real Prometheus.
    binary: "prometheus",
    paths: ["/usr/bin/prometheus"],
    packages: ["prometheus"],
  },
];

function installed(paths: string[]): boolean {
  return paths.some((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

async function run(command: string, args: string[]): Promise<boolean> {
  const { success } = await new Deno.Command(command, {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "inherit",
  }).output();
  return success;
}

const missing = NEEDED.filter((need) => !installed(need.paths));
if (missing.length > 0) {
  const packages = missing.flatMap((need) => need.packages);
  const isRoot = Deno.uid() === 0;
  if (!isRoot) {
    await Deno.stderr.write(new TextEncoder().encode(
      `The tests need ${missing.map((m) => m.binary).join(", ")}. Install them with:\n` +
        `  sudo apt-get install -y ${packages.join(" ")}\n`,
    ));
    Deno.exit(1);
  }
  await Deno.stderr.write(
    new TextEncoder().encode(`preflight: installing ${packages.join(" ")}\n`),
  );
  const ok = await run("apt-get", ["install", "-y", ...packages]) ||
    (await run("apt-get", ["update"]) && await run("apt-get", ["install", "-y", ...packages]));
  if (!ok || NEEDED.some((need) => !installed(need.paths))) {
    await Deno.stderr.write(
      new TextEncoder().encode(`preflight: could not install ${packages.join(" ")}\n`),
    );
    Deno.exit(1);
  }
}
