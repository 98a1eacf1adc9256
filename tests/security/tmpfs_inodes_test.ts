// Class: host memory taken through tmpfs inodes. A tmpfs's size does not count its inodes (about 1 KiB of kernel
// memory each): every tmpfs also has an inode bound (nr_inodes), by default one per 4 KiB page of its size, so a
// 256 KiB tmpfs takes 63 empty files, not 20,000 (--tmpfs, /tmp, devfs's tmpfs and its /dev/shm alike).
import assert from "node:assert/strict";
import { sandboxTest } from "../helpers.ts";
import { inSandbox } from "./probe.ts";

/** Makes up to `n` empty files in `dir` inside a sandbox with `flags`; returns how many got made. */
async function fill(flags: string[], dir: string, n: number): Promise<number> {
  const py = `import os
made = 0
try:
    for i in range(${n}):
        open(f"${dir}/f{i}", "w").close()
        made += 1
except OSError as e:
    print(e.strerror)
print("made", made)`;
  const r = await inSandbox(flags, ["/usr/bin/python3", "-c", py]);
  const m = /^made (\d+)$/m.exec(r.stdout);
  assert.ok(m, `${flags.join(" ")}: ${r.stdout}${r.stderr}`);
  if (Number(m[1]) < n) assert.match(r.stdout, /No space left on device/, r.stdout);
  return Number(m[1]);
}

sandboxTest("tmpfs inodes: 20,000 empty files do not fit a 256K tmpfs, nor devfs's /dev/shm", async () => {
  assert.equal(await fill(["--tmpfs", "/t:256K"], "/t", 20_000), 63, "a 256K tmpfs took more than 64 inodes");
  // devfs's tmpfs (1 MiB: 256 inodes) holds its nodes and links too.
  const shm = await fill([], "/dev/shm", 20_000);
  assert.ok(shm > 200 && shm < 256, `/dev/shm took ${shm} files`);
});

sandboxTest("tmpfs inodes: the bound follows the size (/tmp 128 MiB: 32768; --tmpfs-size 8M: 2048)", async () => {
  const r = await inSandbox(["--tmpfs-size", "8M", "--tmpfs", "/big:1G"], [
    "/bin/sh",
    "-c",
    "stat -f -c '%n %c' /tmp /big /dev",
  ]);
  assert.equal(r.stdout, "/tmp 2048\n/big 262144\n/dev 256\n", r.stderr);
  const d = await inSandbox([], ["/bin/sh", "-c", "stat -f -c '%n %c' /tmp"]);
  assert.equal(d.stdout, "/tmp 32768\n", d.stderr);
});
