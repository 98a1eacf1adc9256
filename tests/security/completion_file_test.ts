// Class: predictable host paths another user can prepare. `completion -f FILE` writes a script a shell later
// sources by its path: never beneath a directory another user made or can write (unless sticky), where its owner
// could replace the script (as root: a shell of root's would then source theirs).
import assert from "node:assert/strict";
import { hakoniwa, IS_ROOT, SKIP_REASON, tempDir } from "../helpers.ts";

Deno.test({
  name: "completion -f: not into a directory another user made in a sticky /tmp, nor beneath it [root]",
  ignore: !IS_ROOT || SKIP_REASON !== null,
}, async () => {
  const tmp = await tempDir();
  try {
    await Deno.chmod(tmp, 0o1777); // as /tmp
    await Deno.mkdir(`${tmp}/theirs`);
    await Deno.chown(`${tmp}/theirs`, 65534, 65534);
    const r = await hakoniwa(["completion", "-f", `${tmp}/theirs/x.bash`, "bash"]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `hakoniwa: --file: cannot write ${tmp}/theirs/x.bash: ${tmp}/theirs belongs to uid 65534, not to you or root: ` +
        "not writing beneath it\n",
    );
    // A directory of root's inside theirs: they can still rename it away and put their own in its place.
    await Deno.mkdir(`${tmp}/theirs/mine`);
    const nested = await hakoniwa(["completion", "-f", `${tmp}/theirs/mine/x.bash`, "bash"]);
    assert.equal(nested.code, 2, nested.stderr);
    assert.match(nested.stderr, /theirs belongs to uid 65534/);
    assert.deepEqual([...Deno.readDirSync(`${tmp}/theirs`)].map((e) => e.name), ["mine"]);
    assert.deepEqual([...Deno.readDirSync(`${tmp}/theirs/mine`)], []);
    // The caller's own directory in the same sticky /tmp is fine.
    const own = await hakoniwa(["completion", "-f", `${tmp}/own/x.bash`, "bash"]);
    assert.equal(own.code, 0, own.stderr);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test({
  name: `completion -f: not beneath a directory every user can write (not sticky) [${IS_ROOT ? "root" : "rootless"}]`,
  ignore: SKIP_REASON !== null,
}, async () => {
  const dir = await tempDir();
  try {
    await Deno.mkdir(`${dir}/shared`);
    await Deno.chmod(`${dir}/shared`, 0o777);
    const r = await hakoniwa(["completion", "-f", `${dir}/shared/completions/x.bash`, "bash"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /shared can be written by every user \(mode 0777, not sticky\): not writing beneath it\n$/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/shared`)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
