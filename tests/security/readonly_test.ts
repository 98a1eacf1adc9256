// Class: read-only binds made writable (remount, mount_setattr, a new bind, a nested user namespace,
// submounts of a read-only bind).
import assert from "node:assert/strict";
import { IS_ROOT, sandboxTest, tempDir } from "../helpers.ts";
import { inSandbox, policies, probe } from "./probe.ts";

sandboxTest(
  "read-only: /usr, / and a --ro-bind stay read-only against remount, setattr, rebind, nested userns",
  async () => {
    const bin = await probe("remount");
    const dir = await tempDir();
    try {
      for (const p of await policies()) {
        for (const uid of [["--uid", "0"], []]) {
          for (const target of ["/usr", "/", "/ro"]) {
            const r = await inSandbox([...p.flags, ...uid, "--ro-bind", `${dir}:/ro`], [bin, target]);
            assert.equal(r.code, 0, `${p.name} ${uid.join(" ")} ${target}:\n${r.stdout}${r.stderr}`);
            assert.doesNotMatch(r.stdout, /: ok$/m, `${p.name} ${target}:\n${r.stdout}`);
          }
        }
      }
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

sandboxTest("read-only: a submount of a read-only bind (the host's /dev/shm under /dev) is read-only too", async () => {
  const bin = await probe("remount");
  const marker = `hk-ro-${crypto.randomUUID()}`;
  for (const p of await policies()) {
    const r = await inSandbox([...p.flags, "--ro-bind", "/dev:/hostdev"], [
      "/bin/sh",
      "-c",
      `touch /hostdev/shm/${marker} 2>&1; ${bin} /hostdev/shm`,
    ]);
    assert.equal(r.code, 0, `${p.name}: ${r.stdout}${r.stderr}`);
    assert.throws(() => Deno.statSync(`/dev/shm/${marker}`), `${p.name}: a file appeared in the host's /dev/shm`);
  }
  if (IS_ROOT) {
    // As root a real submount can be made on the host: a tmpfs under a ro-bound directory.
    const dir = await tempDir();
    await Deno.mkdir(`${dir}/sub`);
    const m = await new Deno.Command("mount", { args: ["-t", "tmpfs", "tmpfs", `${dir}/sub`] }).output();
    assert.ok(m.success);
    try {
      const r = await inSandbox(["--ro-bind", `${dir}:/ro`], [bin, "/ro/sub"]);
      assert.equal(r.code, 0, r.stdout);
    } finally {
      await new Deno.Command("umount", { args: [`${dir}/sub`] }).output();
      await Deno.remove(dir, { recursive: true });
    }
  }
});
