// Class: inherited file descriptors.
import assert from "node:assert/strict";
import { cliArgv, sandboxTest, tempDir } from "../helpers.ts";
import { policies, probe, probesDir } from "./probe.ts";

sandboxTest("fds: a secret open on fds 7 and 200 of the launcher is not reachable inside", async () => {
  const bin = await probe("fds");
  const dir = await probesDir();
  const tmp = await tempDir();
  try {
    await Deno.writeTextFile(`${tmp}/secret`, "HK-FD-SECRET\n");
    for (const p of await policies()) {
      const cli = [...cliArgv(), "run", "--ro-bind", `${dir}:/probe`];
      const line = [...cli, ...p.flags, "--", bin].map((a) => `'${a}'`).join(" ");
      const out = await new Deno.Command("bash", {
        args: ["-c", `exec 7<'${tmp}/secret' 200<'${tmp}/secret'; ${line}`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, `${p.name}: fds above 2 inside:\n${text}`);
      const cat = await new Deno.Command("bash", {
        args: [
          "-c",
          `exec 7<'${tmp}/secret'; ${
            [...cli, ...p.flags, "--", "/bin/sh", "-c", "cat <&7"].map((a) => `'${a}'`).join(" ")
          }`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.doesNotMatch(new TextDecoder().decode(cat.stdout), /HK-FD-SECRET/, `${p.name}: fd 7 was readable`);
      assert.notEqual(cat.code, 0);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
