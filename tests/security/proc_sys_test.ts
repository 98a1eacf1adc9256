// Class: writes to /proc/sys, /sys and sysrq; nested user namespaces cannot undo the sandbox.
import assert from "node:assert/strict";
import { sandboxTest } from "../helpers.ts";
import { inSandbox, policies } from "./probe.ts";

const ATTEMPTS = [
  "echo 1 > /proc/sys/kernel/sysrq",
  "echo h > /proc/sysrq-trigger",
  "echo 1 > /proc/sys/vm/drop_caches",
  "echo 0 > /proc/sys/kernel/randomize_va_space",
  "echo hk > /proc/sys/kernel/hostname",
  "echo 5 > /proc/sys/user/max_user_namespaces",
  "mkdir -p /sys && mount -t sysfs sysfs /sys",
  "mount -t proc proc /tmp",
];

sandboxTest("proc/sys: every write to /proc/sys, sysrq and a new sysfs/proc mount fails, even as uid 0", async () => {
  for (const p of await policies()) {
    for (const uid of [["--uid", "0"], []]) {
      for (const a of ATTEMPTS) {
        const r = await inSandbox([...p.flags, ...uid], ["/bin/sh", "-c", `(${a}) 2>/dev/null && echo WROTE`]);
        assert.doesNotMatch(r.stdout, /WROTE/, `${p.name} ${uid.join(" ")}: ${a}`);
      }
      // From a nested user namespace with every capability in it, the same writes still fail.
      const nested = await inSandbox([...p.flags, ...uid], [
        "/bin/sh",
        "-c",
        `unshare -Urm sh -c '(echo h > /proc/sysrq-trigger || echo 1 > /proc/sys/kernel/sysrq || mount -o remount,rw /) 2>/dev/null && echo WROTE' 2>/dev/null; true`,
      ]);
      assert.doesNotMatch(nested.stdout, /WROTE/, `${p.name}: nested user namespace`);
    }
  }
});

sandboxTest(
  "nested user namespaces: --seccomp strict forbids them (the switch); default allows them unprivileged",
  async () => {
    const r = await inSandbox(["--seccomp", "strict"], ["/bin/sh", "-c", "unshare -U true && echo NESTED"]);
    assert.doesNotMatch(r.stdout, /NESTED/, "a user namespace was created under --seccomp strict");
    const d = await inSandbox([], ["/bin/sh", "-c", "unshare -U true && echo NESTED"]);
    assert.match(d.stdout, /NESTED/, d.stderr);
  },
);
