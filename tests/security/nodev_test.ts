// Class: devices reached through the sandbox's mounts. Every mount is nodev unless a device is asked for: a device
// node in a --rootdir cannot be opened from inside. Needs root (to make the node).
import assert from "node:assert/strict";
import { hakoniwa, IS_ROOT, SKIP_REASON, tempDir } from "../helpers.ts";

Deno.test({
  name: "nodev: a device node in a --rootdir (read-only or :rw) cannot be opened inside [root]",
  ignore: !IS_ROOT || SKIP_REASON !== null,
}, async () => {
  const dir = await tempDir();
  try {
    for (const d of ["bin", "lib", "lib64", "usr", "proc", "dev", "tmp"]) await Deno.mkdir(`${dir}/${d}`);
    const mk = await new Deno.Command("mknod", { args: ["-m", "666", `${dir}/null-dev`, "c", "1", "3"] }).output();
    assert.ok(mk.success, "mknod failed");
    for (const rw of ["", ":rw"]) {
      const r = await hakoniwa([
        "run",
        "--rootdir",
        `${dir}${rw}`,
        "--",
        "/bin/sh",
        "-c",
        "echo x > /null-dev && echo opened || echo refused",
      ]);
      assert.match(
        r.stdout,
        /refused/,
        `--rootdir${rw}: a device node of the rootdir was opened:\n${r.stdout}${r.stderr}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
