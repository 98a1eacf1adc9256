// Class: state the supervisor trusts is writable from inside: the report pipe and the report file.
import assert from "node:assert/strict";
import { hakoniwa, sandboxTest, tempDir } from "../helpers.ts";
import { inSandbox, policies } from "./probe.ts";

sandboxTest("supervisor state: the payload cannot forge the report through init's pipe", async () => {
  for (const p of await policies()) {
    const r = await inSandbox(p.flags, [
      "/bin/sh",
      "-c",
      "for f in /proc/1/fd/*; do printf 'forged' > $f && echo WROTE $f; done 2>/dev/null; exit 3",
    ]);
    assert.equal(r.code, 3, `${p.name}: ${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stdout, /WROTE/);
  }
});

sandboxTest(
  "supervisor state: a symlink the payload plants at --report-file does not redirect the host's write",
  async () => {
    const dir = await tempDir();
    try {
      const victim = `${dir}/victim`;
      await Deno.writeTextFile(victim, "precious\n");
      await Deno.mkdir(`${dir}/w`);
      for (const p of await policies()) {
        const r = await hakoniwa([
          "run",
          "--rw-bind",
          `${dir}/w:/w`,
          "--report-file",
          `${dir}/w/report.json`,
          ...p.flags,
          "--",
          "/bin/sh",
          "-c",
          `rm -f /w/report.json; ln -s ${victim} /w/report.json`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await Deno.readTextFile(victim), "precious\n", `${p.name}: the report went through the symlink`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
