// Connects, sends "ping", expects it echoed; prints "ok" or "unreachable: <why>".
// `deno run --allow-net tcp_probe.ts <host> <port> <timeoutMs>`
const [hostname = "127.0.0.1", port = "7070", timeoutMs = "1000"] = Deno.args;
const signal = AbortSignal.timeout(Number(timeoutMs));
try {
  const conn = await Deno.connect({ hostname, port: Number(port), signal });
  await conn.write(new TextEncoder().encode("ping"));
  const buffer = new Uint8Array(4);
  const read = await Promise.race([
    conn.read(buffer),
    new Promise<"timeout">((resolve) => signal.addEventListener("abort", () => resolve("timeout"))),
  ]);
  conn.close();
  if (read === "timeout" || read === null) throw new Error(`no echo (${read})`);
  await Deno.stdout.write(new TextEncoder().encode("ok\n"));
  Deno.exit(0);
} catch (error) {
  await Deno.stdout.write(
    new TextEncoder().encode(`unreachable: ${error instanceof Error ? error.message : error}\n`),
  );
  Deno.exit(1);
}
