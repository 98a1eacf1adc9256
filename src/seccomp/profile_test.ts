// Unit tests of seccomp profiles, their compilation, OCI parsing and audit records.
import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import { archToken, libseccompVersion, syscallName, syscallNumber } from "./libseccomp.ts";
import { AUDIT_ARCH, runSeccomp } from "../../tests/bpf_vm.ts";
import {
  auditProfile,
  compileOwnProgram,
  compileProfile,
  defaultProfile,
  describeProfile,
  refusedSyscalls,
  seedProfile,
  unconfinedProfile,
} from "./profile.ts";
import { withGuard } from "./guard.ts";
import { loggedLines, parseAuditRecord, profileActions } from "../run/seccomp_audit.ts";
import { ociProfile, resolveSeccomp } from "./oci.ts";

const insns = (b: Uint8Array) => b.length / 8;

Deno.test("libseccomp: version, arches and syscall names", () => {
  const v = libseccompVersion();
  assert.ok(v.major > 2 || (v.major === 2 && v.minor >= 5), JSON.stringify(v));
  assert.equal(archToken("x86_64"), 0xc000003e);
  assert.equal(archToken("x86"), 0x40000003);
  assert.equal(archToken("nope"), null);
  assert.equal(syscallNumber("getppid"), 110);
  assert.equal(syscallNumber("getpid", archToken("x86")!), 20);
  assert.equal(syscallNumber("no_such_syscall"), null);
  assert.equal(syscallName(110), "getppid");
});

Deno.test("compileProfile: a struct sock_filter[] program; unknown names refused unless skipped", () => {
  const def = compileProfile(defaultProfile());
  assert.ok(def.length % 8 === 0 && insns(def) > 10 && insns(def) < 4096);
  // The first instruction loads the arch (offset 4 of struct seccomp_data).
  const view = new DataView(def.buffer);
  assert.equal(view.getUint16(0, true), 0x20); // BPF_LD | BPF_W | BPF_ABS
  assert.equal(view.getUint32(4, true), 4);
  const strict = compileProfile(defaultProfile({ noNamespaces: true }));
  assert.ok(insns(strict) > insns(def));
  const bad = { ...defaultProfile(), rules: [{ names: ["nosuch"], action: "kill_process" as const }] };
  assert.throws(
    () => compileProfile(bad),
    (e) => e instanceof UsageError && /unknown syscall "nosuch"/.test(e.message),
  );
  const skipped = compileProfile({ ...bad, rules: [{ ...bad.rules[0], skipUnknown: true }] });
  assert.ok(insns(skipped) > 0);
  assert.throws(() => compileProfile({ ...bad, rules: [], arches: ["vax"] }), /unknown arch "vax"/);
});

Deno.test("defaultProfile: TIOCSTI compared on the low 32 bits; audit logs instead of refusing", () => {
  const p = defaultProfile();
  const tiocsti = p.rules.find((r) => r.names.includes("ioctl") && r.args?.[0].value === 0x5412n);
  assert.deepEqual(tiocsti?.args, [{ index: 1, op: "masked_eq", mask: 0xffffffffn, value: 0x5412n }]);
  assert.equal(p.badArchAction, "kill_process");
  const audit = defaultProfile({ action: "log", name: "audit" });
  assert.ok(audit.rules.every((r) => r.action === "log"));
  assert.equal(audit.badArchAction, "log");
  assert.match(describeProfile(p), /^default: default action allow, \d+ rules on \d+ syscalls/);
  assert.match(describeProfile(null), /^unconfined: no profile, only the guard/);
  assert.match(describeProfile(unconfinedProfile()), /^unconfined: no profile, only the guard/);
});

Deno.test("audit, as 1.x's: every syscall is allowed and logged, not only what default refuses", () => {
  assert.deepEqual(resolveSeccomp("audit"), auditProfile());
  const program = compileProfile(auditProfile());
  if (Deno.build.arch !== "x86_64") return console.log("audit's program is checked on x86_64 only"); // numbers below
  for (const nr of [39, 101, 0]) { // getpid, ptrace (default refuses it), read
    assert.deepEqual(runSeccomp(program, { nr, arch: AUDIT_ARCH.x86_64 }), { action: "log", data: 0 }, `nr ${nr}`);
  }
  assert.equal(runSeccomp(program, { nr: 20, arch: AUDIT_ARCH.i386 }).action, "log", "a foreign ABI too");
  // The guard stays: a keyring call is still refused.
  assert.equal(runSeccomp(program, { nr: 250, arch: AUDIT_ARCH.x86_64 }).action, "errno");
});

Deno.test("seedProfile: allowlist, denylist and audit", () => {
  assert.deepEqual(
    [seedProfile(["read"], "kill_process"), seedProfile(["read"], "allow"), seedProfile(["read"], "log")].map((
      p,
    ) => [p.defaultAction, p.rules[0].action]),
    [["kill_process", "allow"], ["allow", "kill_process"], ["log", "allow"]],
  );
});

Deno.test("ociProfile: actions, errnoRet, masked_eq order, 64-bit values, archMap, includes", () => {
  const p = ociProfile(
    `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
      "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]},
                 {"architecture":"SCMP_ARCH_AARCH64","subArchitectures":["SCMP_ARCH_ARM"]}],
      "syscalls":[
        {"names":["ioctl"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":18446744073709551615,"valueTwo":21523,"op":"SCMP_CMP_MASKED_EQ"}]},
        {"name":"read","action":"SCMP_ACT_KILL"},
        {"names":["bpf"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_BPF"]}},
        {"names":["arch_prctl"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["s390x"]}}]}`,
    "x.json",
  );
  assert.deepEqual(p.defaultAction, { errno: 38 });
  assert.deepEqual(p.arches.sort(), ["x32", "x86"]);
  assert.deepEqual(p.rules[0].args, [{ index: 1, op: "masked_eq", mask: 0xffffffffffffffffn, value: 21523n }]);
  assert.equal(p.rules[1].action, "kill_thread");
  assert.equal(p.rules.length, 2);
  assert.throws(
    () => ociProfile('{"defaultAction":"SCMP_ACT_TRACE"}', "t.json"),
    /t\.json: defaultAction: unsupported/,
  );
  assert.throws(
    () =>
      ociProfile(
        '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":9,"value":1,"op":"SCMP_CMP_EQ"}]}]}',
        "a.json",
      ),
    /syscalls\[0\]\.args\[0\]\.index: expected a whole number from 0 to 5/,
  );
  assert.equal(resolveSeccomp("unconfined"), null);
  assert.equal(resolveSeccomp("strict")?.name, "strict");
  assert.throws(() => resolveSeccomp("bogus"), UsageError);
});

Deno.test("parseAuditRecord: kill and log records, x32 and i386", () => {
  const rec = (arch: string, nr: number, code: string) =>
    `6,1,2,-;audit: type=1326 audit(1.2:3): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=42 comm="probe" ` +
    `exe="/probe/probe" sig=31 arch=${arch} syscall=${nr} compat=0 ip=0x1 code=${code}`;
  assert.deepEqual(parseAuditRecord(rec("c000003e", 110, "0x80000000")), {
    pid: 42,
    uid: 0,
    comm: "probe",
    syscall: "getppid",
    arch: "x86_64",
    action: "kill_process",
  });
  assert.equal(parseAuditRecord(rec("c000003e", 0x40000000 + 39, "0x0"))?.arch, "x32");
  assert.equal(parseAuditRecord(rec("c000003e", 0x40000000 + 39, "0x0"))?.syscall, "getpid");
  assert.equal(parseAuditRecord(rec("40000003", 20, "0x7ffc0000"))?.action, "log");
  assert.equal(parseAuditRecord(rec("40000003", 20, "0x7ffc0000"))?.syscall, "getpid");
  assert.equal(parseAuditRecord("6,1,2,-;audit: type=1400 something"), null);
});

Deno.test("profileActions: what a profile may do with a syscall on an ABI", () => {
  assert.deepEqual(profileActions(defaultProfile(), "getpid", "x86"), ["kill_process"]);
  assert.deepEqual(profileActions(defaultProfile(), "getpid", "native"), ["allow"]);
  assert.deepEqual(profileActions(defaultProfile(), "ptrace", "native"), [{ errno: 1 }]);
  assert.deepEqual(profileActions(defaultProfile({ action: "log" }), "ptrace", "native"), ["log"]);
  assert.deepEqual(profileActions(seedProfile(["read"], "kill_process"), "write", "native"), ["kill_process"]);
});

Deno.test("the shipped programs of the built-in profiles are what libseccomp compiles here", () => {
  for (
    const p of [
      defaultProfile(),
      defaultProfile({ noNamespaces: true }),
      auditProfile(),
    ]
  ) {
    assert.deepEqual(compileProfile(p), withGuard(compileOwnProgram(p)), p.name);
  }
});

Deno.test("refusedSyscalls: what a profile may refuse of the setup's calls under --allow-new-privs", () => {
  assert.deepEqual(refusedSyscalls(defaultProfile(), ["setresuid", "capset", "execve", "prctl"]), []);
  assert.deepEqual(refusedSyscalls(defaultProfile(), ["ptrace", "execve"]), ["ptrace"]);
  assert.deepEqual(refusedSyscalls(seedProfile(["execve", "write"], "kill_process"), ["execve", "capset"]), ["capset"]);
  const conditional = {
    name: "c",
    defaultAction: "kill_process" as const,
    arches: [],
    rules: [{ names: ["prctl"], action: "allow" as const, args: [{ index: 0, op: "eq" as const, value: 1n }] }],
  };
  assert.deepEqual(refusedSyscalls(conditional, ["prctl"]), ["prctl"]);
  assert.deepEqual(refusedSyscalls(unconfinedProfile(), ["setgroups"]), []);
});

Deno.test("loggedLines: each logged syscall once, then those the default profile refuses", () => {
  const arch = Deno.build.arch;
  const e = (syscall: string, action = "log") => ({ pid: 7, comm: "sh", syscall, arch, action });
  assert.deepEqual(loggedLines([e("execve"), e("ptrace"), e("execve"), e("getpid", "kill_process")]), [
    `audit: the profile logged execve (${arch}), ptrace (${arch})`,
    "audit: of these, the default profile refuses ptrace",
  ]);
  assert.deepEqual(loggedLines([e("read")]), [`audit: the profile logged read (${arch})`]);
  assert.deepEqual(loggedLines([]), []);
});
