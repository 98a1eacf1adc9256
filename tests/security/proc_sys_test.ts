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

sandboxTest(
  "the init's /proc files: the command cannot write PID 1's oom_score_adj, clear_refs, sched, autogroup",
  async () => {
    const writes = [
      "echo 1000 > /proc/1/oom_score_adj",
      "echo 15 > /proc/1/oom_adj",
      "echo 0 > /proc/1/coredump_filter",
      "echo 1 > /proc/1/clear_refs",
      "echo 0 > /proc/1/sched",
      "echo 19 > /proc/1/autogroup",
    ];
    for (const p of await policies()) {
      const script = writes.map((w) => `(${w}) 2>/dev/null && echo "WROTE ${w}"`).join("; ") +
        "; cat /proc/1/oom_score_adj; echo 100 > /proc/self/oom_score_adj && echo OWN";
      const r = await inSandbox([...p.flags, "--uid", "0"], ["/bin/sh", "-c", script]);
      assert.doesNotMatch(r.stdout, /WROTE/, `${p.name}: ${r.stdout}`);
      assert.match(r.stdout, /^0\nOWN$/m, `${p.name}: the command's own files stay its own: ${r.stdout}${r.stderr}`);
    }
  },
);
