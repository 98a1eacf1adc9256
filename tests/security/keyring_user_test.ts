// Class: the caller's keyrings. A key in the caller's user keyring is neither listed in /proc/keys nor
// reachable by its serial from inside, under every profile, `--seccomp unconfined` included.
import assert from "node:assert/strict";
import { sandboxTest } from "../helpers.ts";
import { inSandbox, policies, probe, probesDir } from "./probe.ts";

sandboxTest("keyring: the caller's user keyring is not listed in /proc/keys nor reachable by serial", async () => {
  const bin = await probe("userkeys");
  const dir = await probesDir();
  const host = `${dir}/userkeys`;
  const name = `hk-user-${crypto.randomUUID().slice(0, 8)}`;
  const planted = await new Deno.Command(host, { args: ["plant", name], stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(planted.stdout);
  const m = /ring=(\d+) key=(\d+)/.exec(text);
  assert.ok(m, `cannot plant a key: ${text}${new TextDecoder().decode(planted.stderr)}`);
  const [, ring, key] = m;
  try {
    const all = [...await policies(), { name: "unconfined", flags: ["--seccomp", "unconfined"] }, {
      name: "audit",
      flags: ["--seccomp", "audit"],
    }];
    for (const p of all) {
      const r = await inSandbox(p.flags, [bin, "reach", ring, key]);
      assert.equal(r.code, 0, `${p.name}: ${r.stdout}${r.stderr}`);
      for (const what of ["link ring", "read key", "describe key", "describe ring"]) {
        assert.match(
          r.stdout,
          new RegExp(`^${what}: -1 `, "m"),
          `${p.name}: ${what} reached the caller's key:\n${r.stdout}`,
        );
      }
      assert.match(r.stdout, /^proc-keys: \d+ lines, 0 ours/m, `${p.name}: /proc/keys lists the caller's keys`);
      assert.match(r.stdout, /^proc-keys: 0 lines/m, `${p.name}: /proc/keys lists keys:\n${r.stdout}`);
    }
  } finally {
    await new Deno.Command(host, { args: ["unplant", key] }).output();
  }
});
