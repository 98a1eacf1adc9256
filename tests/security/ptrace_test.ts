// Class: ptrace of the launcher (or of the sandbox's init, a copy of it) from inside.
import assert from "node:assert/strict";
import { sandboxTest } from "../helpers.ts";
import { inSandbox, policies, probe } from "./probe.ts";

sandboxTest("ptrace: no process of the sandbox can seize or read init (the launcher's copy)", async () => {
  const bin = await probe("peek");
  for (const p of await policies()) {
    // A background sleep gives the probe a sibling too: it may attach to that (same uid), never to init.
    const r = await inSandbox(p.flags, ["/bin/sh", "-c", `${bin} nothing-to-find; echo rc=$?`]);
    assert.match(r.stdout, /looked at [1-9]\d* processes/, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /seize 1 |readv 1 |\/proc\/1\/mem readable/, `${p.name}:\n${r.stdout}`);
  }
});
