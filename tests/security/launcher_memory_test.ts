// Class: the launcher's memory, environment and argv read from inside.
import assert from "node:assert/strict";
import { sandboxTest } from "../helpers.ts";
import { inSandbox, policies, probe } from "./probe.ts";

sandboxTest("launcher memory: a secret in the launcher's environment and argv is nowhere inside", async () => {
  const bin = await probe("peek");
  const secret = `HK-LAUNCHER-SECRET-${crypto.randomUUID()}`;
  for (const p of await policies()) {
    // The secret is in the launcher's environment and argv (the command's own argv, which the probe skips).
    const r = await inSandbox(p.flags, [bin, secret], { HK_SECRET: secret });
    assert.equal(r.code, 0, `${p.name}:\n${r.stdout}${r.stderr}`);
    const r2 = await inSandbox(p.flags, ["/bin/sh", "-c", "cat /proc/1/environ /proc/1/cmdline 2>/dev/null; true"], {
      HK_SECRET: secret,
    });
    assert.equal(r2.code, 0, r2.stderr);
    assert.ok(!r2.stdout.includes(secret), `${p.name}: /proc/1 shows the launcher's environment`);
    assert.doesNotMatch(r2.stdout, /deno|cli\.ts/, `${p.name}: /proc/1/cmdline shows the launcher`);
  }
});
