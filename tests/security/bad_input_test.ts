// Class: bad input: malformed policy, huge numbers, negative sizes, duplicate keys, paths with : , \.
// A clear error naming the key or flag, exit 2 (or 125 for a setup error), and nothing runs.
import assert from "node:assert/strict";
import { hakoniwa, sandboxTest, tempDir } from "../helpers.ts";

sandboxTest("bad input: every malformed policy or flag names its key, exits 2 or 125 and runs nothing", async () => {
  const dir = await tempDir();
  try {
    const run = ["--", "/bin/sh", "-c", `touch ${dir}/ran`];
    const policies: [string, RegExp][] = [
      ["uid = 1\nuid = 2", /p\.toml:2:1: .*redefine/], // names the line of the duplicate, not yet the key
      ["[limits]\nnofile = 99999999999999999999999", /nofile/],
      ["[limits]\nfsize = -1", /fsize/],
      ["[limits]\nwalltime = 0", /walltime/],
      ['mounts = [{ source = "relative" }]', /mounts\[0\]|source/],
      ['mounts = [{ source = "/usr", target = "/a/../b" }]', /target|\.\./],
      ['mounts = "x"', /mounts/],
      ["bogus = 1", /bogus/],
      ["hostname = [1]", /hostname/],
      ["uid = 4294967295", /uid/],
      ['[env]\n"A=B" = "x"', /env|A=B/],
      ["mount_new_tmpfs = tru", /:1:/],
    ];
    for (const [text, key] of policies) {
      const file = `${dir}/p.toml`;
      await Deno.writeTextFile(file, text);
      const r = await hakoniwa(["run", "--policy-file", file, "--rw-bind", dir, ...run]);
      assert.equal(r.code, 2, `${JSON.stringify(text)}: exit ${r.code} ${r.stderr}`);
      assert.match(r.stderr, key, JSON.stringify(text));
      assert.match(r.stderr, /p\.toml/, `${JSON.stringify(text)}: the file is not named`);
    }
    const flags: [string[], RegExp, number][] = [
      [["--limit-nofile", "-1"], /--limit-nofile/, 2],
      [["--limit-as", "999999999999999999999999"], /--limit-as/, 2],
      [["--uid", "x"], /--uid/, 2],
      [["--ro-bind", "no-such-relative"], /open-source: .*no-such-relative/, 125],
      [["--ro-bind", "/usr:/a:b"], /--ro-bind|:/, 2],
      [["--setenv", "=x"], /--setenv/, 2],
      [["--ro-bind", `${dir}/no,such\\path`], /open-source|no,such/, 125],
    ];
    for (const [f, key, code] of flags) {
      const r = await hakoniwa(["run", "--rw-bind", dir, ...f, ...run]);
      assert.equal(r.code, code, `${f.join(" ")}: exit ${r.code} ${r.stderr}`);
      assert.match(r.stderr, key, f.join(" "));
    }
    await assert.rejects(Deno.stat(`${dir}/ran`), "a command ran after bad input");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
