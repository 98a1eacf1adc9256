// Class: host memory taken through tmpfs. Every tmpfs has a size: 128 MiB by default, --tmpfs-size for all,
// --tmpfs DIR:SIZE for one, tmpfs_size and mounts[].size in a policy.
import assert from "node:assert/strict";
import { sandboxTest, tempDir } from "../helpers.ts";
import { inSandbox } from "./probe.ts";

/** Writes `mb` MiB into `path` inside a sandbox with `flags`; returns how many MiB got written. */
async function fill(flags: string[], path: string, mb: number): Promise<number> {
  const r = await inSandbox(flags, [
    "/bin/sh",
    "-c",
    `dd if=/dev/zero of=${path} bs=1M count=${mb} 2>/dev/null; echo size=$(($(wc -c < ${path}) / 1048576))`,
  ]);
  const m = /size=(\d+)/.exec(r.stdout);
  assert.ok(m, `${flags.join(" ")}: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

sandboxTest("tmpfs: /tmp holds 128 MiB by default, and what --tmpfs-size or --tmpfs DIR:SIZE say", async () => {
  assert.equal(await fill([], "/tmp/big", 200), 128, "the default /tmp is not bounded to 128 MiB");
  assert.equal(await fill(["--tmpfs-size", "8M"], "/tmp/big", 20), 8);
  assert.equal(await fill(["--tmpfs", "/scratch:4M"], "/scratch/big", 20), 4);
  assert.equal(await fill(["--tmpfs-size", "8M", "--tmpfs", "/scratch"], "/scratch/big", 20), 8);
});

sandboxTest("tmpfs: tmpfs_size and mounts[].size in a policy", async () => {
  const dir = await tempDir();
  try {
    const file = `${dir}/p.toml`;
    await Deno.writeTextFile(
      file,
      `mount_new_tmpfs = true
mount_new_devfs = true
tmpfs_size = "6M"
mounts = [
  { source = "/bin", target = "/bin" }, { source = "/lib", target = "/lib" },
  { source = "/lib64", target = "/lib64" }, { source = "/usr", target = "/usr" },
  { fstype = "tmpfs", target = "/scratch", size = 3145728 },
]
`,
    );
    assert.equal(await fill(["--policy-file", file], "/tmp/big", 20), 6);
    assert.equal(await fill(["--policy-file", file], "/scratch/big", 20), 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
