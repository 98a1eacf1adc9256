/**
 * The example code-runner (examples/server.ts) on `Deno.Command("bwrap")`
 * instead of hakoniwa, for bench/server_load.ts: the same endpoint, the
 * same answer, the same walltime; bwrap has no output cap or CPU verdict,
 * which this twin does not add.
 *
 * @module
 */
import { bwrapArgs } from "./lib.ts";

const args = bwrapArgs();
const decoder = new TextDecoder();
const server = Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 8001),
  onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}`),
}, async (req) => {
  const script = await req.text();
  const out = await new Deno.Command("timeout", {
    args: ["-s", "KILL", "10", "bwrap", ...args, "/bin/sh", "-c", script],
    stdin: "null",
    signal: req.signal,
  }).output();
  return Response.json({
    status: out.success ? "OK" : "RE",
    exitCode: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  });
});
Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;
