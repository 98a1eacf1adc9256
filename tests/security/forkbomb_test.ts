// Class: fork bomb. RLIMIT_NPROC stops it, the launcher survives, nothing is left behind.
import assert from "node:assert/strict";
import { processesWith, sandboxTest } from "../helpers.ts";
import { inSandbox, policies, probe } from "./probe.ts";

sandboxTest("fork bomb: --limit-nproc stops it with EAGAIN, the launcher reports, no process survives", async () => {
  const bin = await probe("forkbomb");
  for (const p of await policies()) {
    const r = await inSandbox([...p.flags, "--limit-nproc", "64", "--limit-walltime", "30"], [bin]);
    assert.equal(r.code, 0, `${p.name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /fork failed after \d+: Resource temporarily unavailable/);
    assert.deepEqual(processesWith("/probe/forkbomb"), [], `${p.name}: forked children outlived the sandbox`);
  }
});
