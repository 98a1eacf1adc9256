// examples/server.ts under load, as its users would drive it: 200 requests, 40 in flight, each with 200 KB of
// output, all answered in full; a client that disconnects takes its sandbox with it.
import assert from "node:assert/strict";
import { processesWith, ROOT, sandboxTest, waitFor } from "./helpers.ts";

/** Starts the example server on a free port with the library's documented permissions; returns its URL. */
async function startServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-check",
      "--unstable-no-legacy-abort",
      "--allow-ffi",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      "--allow-net=127.0.0.1",
      `${ROOT}/examples/server.ts`,
    ],
    env: { PORT: "0" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening on (\S+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server ended before listening: ${text}`);
    text += value;
  }
  const url = /listening on (\S+)/.exec(text)![1];
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await reader.cancel();
      await child.status;
    },
  };
}

/** Runs `n` tasks with at most `width` in flight. */
async function pool<T>(n: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    for (let i = next++; i < n; i = next++) out[i] = await task(i);
  }));
  return out;
}

sandboxTest("example server: 200 requests at 40 in flight, 200 KB of output each, none lost or cut off", async () => {
  const server = await startServer();
  try {
    const results = await pool(200, 40, async (i) => {
      const res = await fetch(`${server.url}/run`, {
        method: "POST",
        body: `yes r${i} | head -c 200000`,
      });
      return { http: res.status, body: await res.json(), i };
    });
    const bad = results.filter(({ http, body, i }) =>
      http !== 200 || body.status !== "OK" || body.stdout !== `r${i}\n`.repeat(100000).slice(0, 200000)
    );
    assert.deepEqual(bad.map((b) => [b.i, b.http, b.body.status, b.body.reason, b.body.stdout?.length]), []);
  } finally {
    await server.stop();
  }
});

sandboxTest("example server: limits give verdicts, a client that disconnects kills its sandbox", async () => {
  const server = await startServer();
  try {
    const cap = await (await fetch(`${server.url}/run`, { method: "POST", body: "yes" })).json();
    assert.equal(cap.status, "OLE");
    assert.equal(cap.stdout.length, 1 << 20);
    const ctl = new AbortController();
    const marker = "sleep 4242";
    const gone = fetch(`${server.url}/run`, { method: "POST", body: `${marker}; echo late`, signal: ctl.signal });
    assert.ok(await waitFor(() => processesWith(marker).length === 1), "the sandboxed sleep started");
    ctl.abort();
    await assert.rejects(gone);
    assert.ok(await waitFor(() => processesWith(marker).length === 0), "the sandbox outlived its client");
  } finally {
    await server.stop();
  }
});
