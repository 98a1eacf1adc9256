// Class: wrong credentials after setup. `--user NAME` with a --rootdir takes the name from the rootdir's own
// etc/passwd: whoever can write that file chooses the uid (another user's rootdir maps `nobody` to 0, and root's
// `--rootdir D --user nobody` would run as host root). Names are taken only from a file that belongs to the caller
// or root, in a directory of theirs, neither writable by another user; otherwise the run is refused, nothing runs.
import assert from "node:assert/strict";
import { hakoniwa, IS_ROOT, pathExists, sandboxTest, SKIP_REASON, tempDir } from "../helpers.ts";

/** A rootdir whose etc/passwd says `nobody` is uid 0. */
async function hostileRoot(): Promise<string> {
  const dir = await tempDir();
  for (const d of ["bin", "lib", "lib64", "usr", "proc", "tmp", "dev", "etc", "out"]) await Deno.mkdir(`${dir}/${d}`);
  await Deno.writeTextFile(`${dir}/etc/passwd`, "root:x:0:0::/:/bin/sh\nnobody:x:0:0::/:/bin/sh\n");
  await Deno.writeTextFile(`${dir}/etc/group`, "root:x:0:\nnogroup:x:0:\n");
  await Deno.chmod(`${dir}/out`, 0o777);
  return dir;
}

Deno.test({
  name: "rootdir --user: another user's rootdir cannot make root's --user nobody host root [root]",
  ignore: !IS_ROOT || SKIP_REASON !== null,
}, async () => {
  const dir = await hostileRoot();
  try {
    const chown = await new Deno.Command("chown", { args: ["-R", "65534:65534", dir] }).output();
    assert.ok(chown.success);
    const r = await hakoniwa([
      "run",
      "--rootdir",
      dir,
      "--rw-bind",
      `${dir}/out:/out`,
      "--user",
      "nobody",
      "--",
      "/bin/sh",
      "-c",
      "id -u > /out/uid",
    ]);
    assert.equal(
      r.code,
      2,
      `${r.stderr} (ran as ${pathExists(`${dir}/out/uid`) ? Deno.readTextFileSync(`${dir}/out/uid`) : "nobody"})`,
    );
    assert.equal(
      r.stderr,
      `hakoniwa: --user: ${dir}/etc/passwd belongs to uid 65534, not to you or root: its names are not taken ` +
        "(whoever can write it chooses the id a name stands for; give ids as numbers, USER:GROUP)\n",
    );
    assert.equal(pathExists(`${dir}/out/uid`), false, "the command ran");
    // Ids given as numbers need no name: they run as asked.
    const n = await hakoniwa([
      "run",
      "--rootdir",
      dir,
      "--rw-bind",
      `${dir}/out:/out`,
      "--user",
      "65534:65534",
      "--",
      "/bin/sh",
      "-c",
      "id -u > /out/uid",
    ]);
    assert.equal(n.code, 0, n.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/out/uid`), "65534\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("rootdir --user: names are not taken from an etc/passwd other users can write", async () => {
  const dir = await hostileRoot();
  try {
    await Deno.chmod(`${dir}/etc/passwd`, 0o666);
    const r = await hakoniwa(["run", "--rootdir", dir, "--user", "nobody", "--", "/bin/sh", "-c", `touch /out/ran`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^hakoniwa: --user: .*\/etc\/passwd can be written by other users \(mode 0666\): its names/);
    assert.equal(pathExists(`${dir}/out/ran`), false);
    await Deno.chmod(`${dir}/etc/passwd`, 0o644);
    await Deno.chmod(`${dir}/etc`, 0o777);
    const d = await hakoniwa(["run", "--rootdir", dir, "--user", "nobody", "--", "/bin/true"]);
    assert.equal(d.code, 2, d.stderr);
    assert.match(d.stderr, /is in a directory other users can write \(mode 0777\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
