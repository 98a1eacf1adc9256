// examples/server.ts under load, as its users would drive it: 200 requests, 40 in flight, each with 200 KB of
// output, all answered in full; a client that disconnects takes its sandbox with it.
import assert from "node:assert/strict";
import { pool, processesWith, ROOT, sandboxTest, waitFor } from "./helpers.ts";
import { startServer } from "../bench/server_load.ts";

/** The example server with the library's documented permissions and the network. */
function startExample() {
  return startServer(`${ROOT}/examples/server.ts`, [
    "--allow-ffi",
    "--allow-read",
    "--allow-env",
    "--allow-sys",
    "--allow-net=127.0.0.1",
  ]);
}

sandboxTest("example server: 200 requests at 40 in flight, 200 KB of output each, none lost or cut off", async () => {
  const server = await startExample();
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
  const server = await startExample();
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
