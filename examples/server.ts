/**
 * A small code-runner service: `POST /run` with a shell script as the body
 * runs it in a fresh sandbox per request and answers with JSON (status,
 * exit code, stdout, stderr, times). Each run has a walltime, a CPU limit
 * and an output cap; a client that disconnects kills its sandbox (the
 * request's AbortSignal). Any number of requests may be in flight: the
 * sandboxes' pipes share one event loop.
 *
 * Run it (the library's permissions, plus the network for the server;
 * `--unstable-no-legacy-abort` makes a request's signal abort only when its
 * client goes away, not also once the response is sent):
 *
 * ```sh
 * deno run --unstable-no-legacy-abort --allow-ffi --allow-read --allow-env --allow-sys --allow-net=127.0.0.1 \
 *   examples/server.ts
 * curl -s --data-binary 'echo hello; uname -n' http://127.0.0.1:8000/run
 * ```
 *
 * `PORT` sets the port (0: any free one; the first line printed names it).
 */
import { Container } from "../mod.ts";

/** Per run: seconds of wall time and of CPU, and bytes kept of stdout and of stderr. */
const LIMITS = { walltime: 10, cpu: 5, output: 1 << 20 };
/** The largest script accepted. */
const MAX_SCRIPT = 64 * 1024;

const container = new Container()
  .bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true })
  .devfs("/dev")
  .rlimit("cpu", LIMITS.cpu)
  .rlimit("nofile", 256)
  .walltime(LIMITS.walltime);

const decoder = new TextDecoder();

async function run(req: Request): Promise<Response> {
  const script = await req.text();
  if (script.length > MAX_SCRIPT) return Response.json({ error: "script too large" }, { status: 413 });
  const out = await container.command("/bin/sh", {
    args: ["-c", script],
    maxOutput: LIMITS.output,
    signal: req.signal, // the client went away: its sandbox goes too
  }).output();
  return Response.json({
    status: out.status,
    reason: out.reason,
    exitCode: out.exitCode,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    realTimeMs: out.realTimeMs,
    cpuTimeMs: out.userTimeMs + out.systemTimeMs,
  });
}

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 8000),
  onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}`),
}, async (req) => {
  const url = new URL(req.url);
  if (req.method !== "POST" || url.pathname !== "/run") return new Response("POST /run\n", { status: 404 });
  try {
    return await run(req);
  } catch (e) {
    if (req.signal.aborted) return new Response(null, { status: 499 });
    return Response.json({ error: String((e as Error).message ?? e) }, { status: 500 });
  }
});

Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;
