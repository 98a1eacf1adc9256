/**
 * The example code-runner service under load: 200 requests, 40 in flight,
 * each running `sh -c` with 200 KB of output, against examples/server.ts
 * (hakoniwa) and its twin on `Deno.Command("bwrap")` (bench/server_bwrap.ts),
 * rounds interleaved. Every answer is checked in full; the figure is
 * requests per second.
 *
 * ```sh
 * deno run -A bench/server_load.ts [--quick]
 * ```
 *
 * @module
 */
import { ensureBwrap, interleave, median, pairedRatio, ROOT, type Samples } from "./lib.ts";

const REQUESTS = 200, IN_FLIGHT = 40, BYTES = 200_000;

/**
 * Starts a code-runner server script on a free port (`PORT=0`), with `permissions` (default `-A`); resolves once it
 * listens, with its URL.
 */
export async function startServer(
  script: string,
  permissions: string[] = ["-A"],
): Promise<{ url: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-check", "--unstable-no-legacy-abort", ...permissions, script],
    env: { PORT: "0" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening on (\S+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`bench: ${script} ended before listening`);
    text += value;
  }
  return {
    url: /listening on (\S+)/.exec(text)![1],
    async stop() {
      child.kill("SIGTERM");
      await reader.cancel();
      await child.status;
    },
  };
}

/** Requests per second of one round; throws on any error or short answer. */
async function round(url: string): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    for (let i = next++; i < REQUESTS; i = next++) {
      const res = await fetch(`${url}/run`, { method: "POST", body: `yes r${i} | head -c ${BYTES}` });
      const body = await res.json();
      if (res.status !== 200 || body.status !== "OK" || body.stdout.length !== BYTES) {
        throw new Error(`bench: request ${i}: ${res.status} ${body.status} ${body.stdout?.length}`);
      }
    }
  }));
  return REQUESTS / ((performance.now() - t0) / 1000);
}

/** Interleaved rounds against both servers. */
export async function serverSamples(rounds: number): Promise<Samples> {
  const hk = await startServer(`${ROOT}examples/server.ts`);
  const bw = await startServer(`${ROOT}bench/server_bwrap.ts`);
  try {
    return await interleave(
      [
        { name: "hakoniwa (examples/server.ts)", run: () => round(hk.url) },
        { name: "Deno.Command bwrap", run: () => round(bw.url) },
      ],
      rounds,
      1,
    );
  } finally {
    await hk.stop();
    await bw.stop();
  }
}

if (import.meta.main) {
  await ensureBwrap();
  const s = await serverSamples(Deno.args.includes("--quick") ? 3 : 7);
  const [h, b] = [s["hakoniwa (examples/server.ts)"], s["Deno.Command bwrap"]];
  console.log(
    `${REQUESTS} requests, ${IN_FLIGHT} in flight, ${BYTES} bytes each: hakoniwa ${median(h).toFixed(1)} req/s, ` +
      `Deno.Command bwrap ${median(b).toFixed(1)} req/s, ratio ${pairedRatio(h, b).toFixed(2)}`,
  );
}
