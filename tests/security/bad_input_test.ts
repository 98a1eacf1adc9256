// Class: bad input: malformed policy, huge numbers, negative sizes, duplicate keys, paths with : , \.
// A clear error naming the key or flag, exit 2 (or 125 for a setup error), and nothing runs.
import assert from "node:assert/strict";
import { hakoniwa, sandboxTest, tempDir } from "../helpers.ts";

/** Runs the CLI on a policy file holding `text`: exit 2, the error matching `key` and naming the file. */
async function rejectsPolicy(dir: string, text: string, key: RegExp, run: string[]) {
  const file = `${dir}/p.toml`;
  await Deno.writeTextFile(file, text);
  const r = await hakoniwa(["run", "--policy-file", file, "--rw-bind", dir, ...run]);
  assert.equal(r.code, 2, `${JSON.stringify(text)}: exit ${r.code} ${r.stderr}`);
  assert.match(r.stderr, key, JSON.stringify(text));
  assert.match(r.stderr, /p\.toml/, `${JSON.stringify(text)}: the file is not named`);
}

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
    for (const [text, key] of policies) await rejectsPolicy(dir, text, key, run);
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

sandboxTest(
  "bad input: relative bind targets, mounts over /, a file as rootdir, endless policies, set-id dirs",
  async () => {
    const dir = await tempDir();
    try {
      const run = ["--", "/bin/sh", "-c", `touch ${dir}/ran`];
      await Deno.writeTextFile(`${dir}/file`, "");
      await Deno.writeTextFile(`${dir}/huge.toml`, "");
      await Deno.truncate(`${dir}/huge.toml`, 5 * 1024 * 1024); // sparse: no disk used
      const flags: [string[], RegExp][] = [
        [["--ro-bind", "/usr:usr"], /--ro-bind: expected an absolute path, got "usr"/],
        [["--rw-bind", `${dir}:relative/dir`], /--rw-bind: expected an absolute path/],
        [["--tmpfs", "/"], /--tmpfs: cannot mount over the sandbox's root/],
        [["--ro-bind", "/usr:/"], /--ro-bind: cannot bind onto the sandbox's root/],
        [["--rw-bind", `${dir}:/`], /--rw-bind: cannot bind onto the sandbox's root/],
        [["--rootdir", `${dir}/file`], /--rootdir: .*file is not a directory/],
        [["--rootdir", `${dir}/file:rw`], /--rootdir: .*file is not a directory/],
        [["--policy-file", "/dev/zero"], /--policy-file: cannot read \/dev\/zero: is not a regular file/],
        [["--policy-file", `${dir}/huge.toml`], /--policy-file: cannot read .*huge.toml: is larger than 4194304 bytes/],
        [["--dir", "/d:6777"], /--dir: set-uid and set-gid bits are not allowed/],
        [["--dir", "/d:4755"], /--dir: set-uid and set-gid bits are not allowed/],
        [["--tmpfs", "/t:0"], /--tmpfs: expected a size/],
        [["--tmpfs-size", "-1"], /--tmpfs-size: expected a size/],
      ];
      for (const [f, key] of flags) {
        const r = await hakoniwa(["run", "--rw-bind", dir, ...f, ...run]);
        assert.equal(r.code, 2, `${f.join(" ")}: exit ${r.code} ${r.stderr}`);
        assert.match(r.stderr, key, f.join(" "));
      }
      const check = await hakoniwa(["check", "/dev/zero"]);
      assert.equal(check.code, 2, check.stderr);
      assert.match(check.stderr, /check: cannot read \/dev\/zero: is not a regular file \(a character device\)/);
      const policies: [string, RegExp][] = [
        ['mounts = [{ source = "/usr", target = "/" }]', /mounts\[0\]\.target.*root/],
        ['mounts = [{ fstype = "tmpfs", target = "/" }]', /mounts\[0\]\.target.*root/],
        ['dirs = [{ target = "/d", mode = 0o6777 }]', /dirs\[0\]\.mode.*set-uid/],
        [`rootdir = { path = "${dir}/file" }`, /rootdir.*not a directory/],
        ['tmpfs_size = "lots"', /tmpfs_size/],
        ['mounts = [{ fstype = "tmpfs", target = "/t", size = 0 }]', /mounts\[0\]\.size/],
        ['mounts = [{ source = "/usr", size = 5 }]', /mounts\[0\]\.size/],
        ['include = ["/dev/zero"]', /include.*\/dev\/zero: is not a regular file/],
        [`include = ["${dir}/huge.toml"]`, /include.*huge.toml: is larger than/],
      ];
      for (const [text, key] of policies) await rejectsPolicy(dir, text, key, run);
      await assert.rejects(Deno.stat(`${dir}/ran`), "a command ran after bad input");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
