/**
 * Queries the name server `<ipAddr> <port>` (the arguments) as the DNS
 * registry does, and prints the name of the error it gets, or `answered`:
 * `NotCapable` when its permissions do not cover the name server.
 *
 * @module
 */

const [ipAddr, port] = Deno.args;
const abort = new AbortController();
// Nothing need answer: only whether the query may be sent matters.
const timer = setTimeout(() => abort.abort(), 500);
let outcome = "answered";
try {
  await Deno.resolveDns("_http._tcp.back.svc.test", "SRV", {
    nameServer: { ipAddr: ipAddr!, port: Number(port) },
    signal: abort.signal,
  });
} catch (error) {
  outcome = (error as Error).name;
}
clearTimeout(timer);
await Deno.stdout.write(new TextEncoder().encode(outcome + "\n"));
