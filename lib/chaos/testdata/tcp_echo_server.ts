// A TCP echo server for the netns test: `deno run --allow-net tcp_echo_server.ts <host> <port>`.
const [hostname = "127.0.0.1", port = "7070"] = Deno.args;
const listener = Deno.listen({ hostname, port: Number(port) });
await Deno.stdout.write(new TextEncoder().encode(`listening ${hostname}:${port}\n`));
for await (const conn of listener) {
  (async () => {
    try {
      await conn.readable.pipeTo(conn.writable);
    } catch {
      // the client went away
    }
  })();
}
