// Class: a command that promises to run nothing changes the host. `explain` (like `check`) prints the plan and
// runs nothing: a 1.x config's template functions that change the host (fs_mkdir, fs_touch) are not run, and a
// warning says what a run would do; `run` still does them, as 1.x does.
import assert from "node:assert/strict";
import { hakoniwa, pathExists, sandboxTest, tempDir } from "../helpers.ts";

sandboxTest("explain -c: a 1.x config's fs_touch and fs_mkdir change nothing on the host; run does them", async () => {
  const dir = await tempDir();
  try {
    const config = `${dir}/config.toml`;
    await Deno.writeTextFile(
      config,
      `mounts = [{ source = "/bin" }, { source = "/lib" }, { source = "/lib64" }, { source = "/usr" }]
# {{ fs_touch("${dir}/touched") }}{{ fs_mkdir("${dir}/made/deep") }}
`,
    );
    const explain = await hakoniwa(["explain", "-c", config, "--", "/bin/true"]);
    assert.equal(explain.code, 0, explain.stderr);
    assert.match(explain.stdout, /program\s+\/bin\/true/);
    assert.equal(pathExists(`${dir}/touched`), false, "explain touched a host file");
    assert.equal(pathExists(`${dir}/made`), false, "explain made a host directory");
    assert.match(explain.stderr, new RegExp(`fs_touch\\("${dir}/touched"\\) not run: explain changes nothing`));
    assert.match(explain.stderr, /fs_mkdir\(.*made\/deep"\) not run/);
    const run = await hakoniwa(["run", "-c", config, "--", "/bin/true"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(pathExists(`${dir}/touched`), true);
    assert.equal(pathExists(`${dir}/made/deep`), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
