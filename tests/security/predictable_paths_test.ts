// Class: predictable host paths another user can pre-create. A run creates nothing on the host and mounts
// nothing the host can see.
import assert from "node:assert/strict";
import { hostMounts, mountsAdded, sandboxTest, tempDir } from "../helpers.ts";
import { inSandbox, policies } from "./probe.ts";

const SHARED = ["/tmp", "/var/tmp", "/dev/shm", "/run", "/mnt"];

function listing(): string[] {
  const out: string[] = [];
  for (const d of SHARED) {
    try {
      for (const e of Deno.readDirSync(d)) if (!e.name.startsWith("hakoniwa-")) out.push(`${d}/${e.name}`);
    } catch { /* missing or unreadable */ }
  }
  return out.sort();
}

sandboxTest("predictable paths: a run creates no host path and no host-visible mount", async () => {
  const dir = await tempDir();
  try {
    for (const p of await policies()) {
      const before = listing(), mounts = hostMounts();
      const r = await inSandbox([...p.flags, "--rw-bind", `${dir}:/w`, "--hostname", "hk"], [
        "/bin/sh",
        "-c",
        "mount | wc -l; touch /tmp/inside",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(listing(), before, `${p.name}: host paths appeared`);
      assert.deepEqual(mountsAdded(mounts), [], `${p.name}: a mount appeared in the host's mount table`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
