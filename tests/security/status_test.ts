// Class: a report the payload can fake. A signal the payload raises itself is SIG: OLE and TLE need their limit to
// have run out, RFE an audit record of the sandbox's own filter; audit records of other processes are not shown.
import assert from "node:assert/strict";
import { hakoniwa, IS_ROOT, sandboxTest, SKIP_REASON, tempDir } from "../helpers.ts";

async function status(
  flags: string[],
  script: string,
): Promise<{ status: string; reason: string; code: number; times: string }> {
  const dir = await tempDir();
  try {
    const r = await hakoniwa(["run", "--report-file", `${dir}/r.json`, ...flags, "--", "/bin/sh", "-c", script]);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
    return {
      status: json.status,
      reason: json.reason,
      code: r.code,
      times: ` user ${JSON.stringify(json.user_time)} system ${JSON.stringify(json.system_time)}`,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

sandboxTest("status: SIGXCPU, SIGXFSZ, SIGSYS raised by the payload itself are SIG, not TLE/OLE/RFE", async () => {
  // A profile that can kill (so its sandbox reads the audit log), with a kill no other test on the machine
  // triggers: records of other sandboxes of the same user cannot be taken for this one's.
  const dir = await tempDir();
  const profile = `${dir}/kill-syslog.json`;
  const arches = Deno.build.arch === "x86_64" ? ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"] : [];
  await Deno.writeTextFile(
    profile,
    JSON.stringify({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: arches,
      syscalls: [{ names: ["syslog"], action: "SCMP_ACT_KILL_PROCESS" }],
    }),
  );
  const cases: [string[], string, number][] = [
    [[], "kill -XCPU $$", 24],
    [["--limit-cpu", "30"], "kill -XCPU $$", 24],
    [[], "kill -XFSZ $$", 25],
    [["--seccomp", "unconfined"], "kill -SYS $$", 31],
    [["--seccomp", profile], "kill -SYS $$", 31],
  ];
  try {
    for (const [flags, script, sig] of cases) {
      const r = await status(flags, script);
      assert.equal(r.code, 128 + sig, JSON.stringify(r));
      assert.equal(r.status, "SIG", `${flags.join(" ")} ${script}: ${JSON.stringify(r)}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // The real limits still report theirs.
  const ole = await status(["--limit-fsize", "1024"], "exec head -c 4096 /dev/zero > /tmp/f");
  assert.equal(ole.status, "OLE", JSON.stringify(ole));
  const tle = await status(["--limit-cpu", "1"], "while :; do :; done");
  assert.equal(tle.status, "TLE", JSON.stringify(tle) + tle.times);
});

Deno.test({
  name: "status: a sandbox shows no audit record of another sandbox's process [root]",
  ignore: !IS_ROOT || SKIP_REASON !== null,
}, async () => {
  // A runs with the default profile (its filter can kill, so it reads /dev/kmsg); B, started after it, has
  // `log` records written for ptrace. None of them is A's.
  const a = hakoniwa(["run", "--", "/bin/sh", "-c", "sleep 2"]);
  await new Promise((r) => setTimeout(r, 300));
  const py = "import ctypes\nfor _ in range(3): ctypes.CDLL(None).syscall(101, 0, 0, 0, 0)";
  const b = await hakoniwa(["run", "--seccomp", "audit", "--", "/usr/bin/python3", "-c", py]);
  assert.equal(b.code, 0, b.stderr);
  const ra = await a;
  assert.equal(ra.code, 0, ra.stderr);
  assert.doesNotMatch(ra.stderr, /audit:/, `A printed B's audit records:\n${ra.stderr}`);
});

Deno.test({
  name:
    "status: a child the filter killed, then the command raising SIGSYS itself, is SIG; the command killed is RFE [root]",
  ignore: !IS_ROOT || SKIP_REASON !== null,
}, async () => {
  // Root reads the kernel's audit records. A profile that kills syslog(2), which dmesg calls.
  const dir = await tempDir();
  const profile = `${dir}/kill-syslog.json`;
  const arches = Deno.build.arch === "x86_64" ? ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"] : [];
  await Deno.writeTextFile(
    profile,
    JSON.stringify({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: arches,
      syscalls: [{ names: ["syslog"], action: "SCMP_ACT_KILL_PROCESS" }],
    }),
  );
  try {
    const child = await status(["--seccomp", profile], "dmesg >/dev/null 2>&1; kill -SYS $$");
    assert.equal(child.code, 128 + 31, JSON.stringify(child));
    assert.equal(
      child.status,
      "SIG",
      `a child's kill record made the command's own SIGSYS RFE: ${JSON.stringify(child)}`,
    );
    // The kernel rate-limits audit records (about 10 every 5 s, which an audit profile's run spends at once): a few
    // tries, spaced out, must name it at least once.
    let own = await status(["--seccomp", profile], "exec dmesg");
    for (let i = 0; i < 4 && own.status !== "RFE"; i++) {
      await new Promise((ok) => setTimeout(ok, 2000));
      own = await status(["--seccomp", profile], "exec dmesg");
    }
    assert.equal(own.code, 128 + 31, JSON.stringify(own));
    assert.equal(own.status, "RFE", JSON.stringify(own));
    assert.match(own.reason, /^killed by seccomp: forbidden syscall syslog \(x86_64\) by dmesg\[\d+\]$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
