// Class: the session keyring shared with the host.
import assert from "node:assert/strict";
import { cliArgv, sandboxTest } from "../helpers.ts";
import { policies, probe, probesDir } from "./probe.ts";

sandboxTest("keyring: a key in the launcher's session keyring cannot be found or requested inside", async () => {
  const bin = await probe("keyring");
  const dir = await probesDir();
  for (const p of await policies()) {
    const out = await new Deno.Command(`${dir}/keyring`, {
      args: [
        "host",
        ...cliArgv(),
        "run",
        "--ro-bind",
        `${dir}:/probe`,
        ...p.flags,
        "--",
        bin,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `${p.name}: the host's key is reachable:\n${text}`);
    assert.match(text, /search session keyring: -1/, text);
  }
});
