import assert from "node:assert/strict";
import { archToken, syscallNumber } from "./libseccomp.ts";
import { compileProfile, defaultProfile, profileCanLogOrKill, unconfinedProfile } from "./profile.ts";
import { GUARD_ABIS, GUARDED_SYSCALLS, guardProgram, withGuard } from "./guard.ts";
import { AUDIT_ARCH, runSeccomp, X32_BIT } from "../../tests/bpf_vm.ts";

Deno.test("guard: its syscall numbers are libseccomp's on every ABI it covers", () => {
  for (const [abi, { numbers }] of Object.entries(GUARD_ABIS)) {
    const token = archToken(abi);
    assert.ok(token !== null, abi);
    for (const [name, nr] of Object.entries(numbers)) {
      const known = syscallNumber(name, token);
      // libseccomp 2.5.4 predates fchmodat2 (Linux 6.6): its number is the same on every arch.
      if (known === null || known < 0) assert.equal(name, "fchmodat2", `${abi} ${name}`);
      else assert.equal(nr, known, `${abi} ${name}`);
    }
    for (const name of Object.keys(GUARDED_SYSCALLS)) {
      const has = name in numbers;
      const exists: boolean = (syscallNumber(name, token!) ?? -1) >= 0 || name === "fchmodat2";
      assert.equal(has, exists, `${abi} ${name}: table and libseccomp disagree on whether it exists`);
    }
  }
});

Deno.test("guard: put before a profile, its allows jump to the profile's first instruction", () => {
  const guard = guardProgram();
  const profile = compileProfile(defaultProfile());
  const own = profile.subarray(guard.length);
  assert.equal(profile.length % 8, 0);
  const view = new DataView(profile.buffer, profile.byteOffset);
  const n = guard.length / 8;
  let jumps = 0;
  for (let i = 0; i < n; i++) {
    const code = view.getUint16(i * 8, true), k = view.getUint32(i * 8 + 4, true);
    assert.ok(!(code === 0x06 && k === 0x7fff0000), `instruction ${i} still allows`);
    if (code === 0x05) {
      assert.equal(i + 1 + k, n, `instruction ${i} jumps elsewhere`);
      jumps++;
    }
  }
  assert.ok(jumps > 0);
  assert.ok(own.length > 0);
  assert.deepEqual(compileProfile(unconfinedProfile()), withGuard(null));
});

Deno.test("profileCanLogOrKill: kill and log actions count, errno does not", () => {
  assert.equal(profileCanLogOrKill(unconfinedProfile()), false);
  assert.equal(profileCanLogOrKill({ ...unconfinedProfile(), rules: [{ names: ["ptrace"], action: "log" }] }), true);
  assert.equal(profileCanLogOrKill(defaultProfile()), true); // foreign ABIs are killed
  assert.equal(profileCanLogOrKill({ ...defaultProfile(), badArchAction: { errno: 1 } }), false);
});

// The guard's and the profiles' code for each ABI, run in a BPF interpreter: proven on every host, also where the
// kernel does not run that ABI (an i386 syscall then faults before any filter sees it).
const EPERM_ = 1, ENOSYS_ = 38;
const SETID = 0o6755, PLAIN = 0o755, O_CREAT = 0o100, O_TMPFILE = 0o20000000 | 0o200000;

/** The arguments that should be refused (`deny`) and let through (`allow`) for one guarded syscall. */
function guardCases(name: string): { deny: bigint[][]; allow: bigint[][]; errno: number } {
  const check = GUARDED_SYSCALLS[name];
  const at = (i: number, v: number) => Object.assign([0n, 0n, 0n, 0n, 0n, 0n], { [i]: BigInt(v) });
  switch (check.kind) {
    case "deny":
      return { deny: [at(0, 0)], allow: [], errno: check.errno };
    case "mode":
      return { deny: [at(check.arg, SETID), at(check.arg, 0o2000)], allow: [at(check.arg, PLAIN)], errno: EPERM_ };
    case "create": {
      const args = (flags: number, mode: number) => {
        const a = at(check.flagsArg, flags);
        a[check.modeArg] = BigInt(mode);
        return a;
      };
      return {
        deny: [args(O_CREAT, SETID), args(O_TMPFILE, 0o4000)],
        allow: [args(O_CREAT, PLAIN), args(0, SETID)], // without O_CREAT the mode is not used
        errno: EPERM_,
      };
    }
  }
}

for (const machine of ["x86_64", "aarch64"]) {
  Deno.test(`guard (${machine}): every ABI's guarded syscalls, in a BPF interpreter; a foreign ABI is killed`, () => {
    const program = guardProgram(machine);
    const abis = machine === "x86_64" ? ["x86_64", "x86"] : ["aarch64", "arm"];
    for (const abi of abis) {
      const { audit, numbers } = GUARD_ABIS[abi];
      // x32 shares x86_64's audit arch and numbers, with bit 30 set.
      const variants = abi === "x86_64" ? [0, X32_BIT] : [0];
      for (const bit of variants) {
        for (const [name, nr] of Object.entries(numbers)) {
          const { deny, allow, errno } = guardCases(name);
          for (const args of deny) {
            assert.deepEqual(
              runSeccomp(program, { nr: nr | bit, arch: audit, args }),
              { action: "errno", data: errno },
              `${abi}${bit ? "/x32" : ""} ${name} ${args}`,
            );
          }
          for (const args of allow) {
            assert.equal(
              runSeccomp(program, { nr: nr | bit, arch: audit, args }).action,
              "allow",
              `${abi} ${name} ${args}`,
            );
          }
        }
        // getpid-like numbers that the guard does not look at pass.
        assert.equal(runSeccomp(program, { nr: 39 | bit, arch: audit }).action, "allow");
      }
    }
    const foreign = machine === "x86_64" ? AUDIT_ARCH.aarch64 : AUDIT_ARCH.x86_64;
    assert.equal(runSeccomp(program, { nr: 20, arch: foreign }).action, "kill_process");
  });
}

Deno.test("profiles on the i386 and x32 ABIs, in a BPF interpreter: default kills them, unconfined keeps the guard", () => {
  if (Deno.build.arch !== "x86_64") return;
  const i386 = { getpid: 20, keyctl: 288, chmod: 15 };
  const dflt = compileProfile(defaultProfile());
  assert.equal(runSeccomp(dflt, { nr: i386.getpid, arch: AUDIT_ARCH.i386 }).action, "kill_process");
  assert.equal(runSeccomp(dflt, { nr: 39 | X32_BIT, arch: AUDIT_ARCH.x86_64 }).action, "kill_process");
  assert.equal(runSeccomp(dflt, { nr: 39, arch: AUDIT_ARCH.x86_64 }).action, "allow");
  assert.deepEqual(runSeccomp(dflt, { nr: 101, arch: AUDIT_ARCH.x86_64 }), { action: "errno", data: EPERM_ }); // ptrace
  const unconfined = compileProfile(unconfinedProfile());
  assert.equal(runSeccomp(unconfined, { nr: i386.getpid, arch: AUDIT_ARCH.i386 }).action, "allow");
  assert.deepEqual(runSeccomp(unconfined, { nr: i386.keyctl, arch: AUDIT_ARCH.i386 }), {
    action: "errno",
    data: EPERM_,
  });
  assert.deepEqual(
    runSeccomp(unconfined, { nr: i386.chmod, arch: AUDIT_ARCH.i386, args: [0, SETID] }),
    { action: "errno", data: EPERM_ },
  );
  assert.equal(runSeccomp(unconfined, { nr: 39, arch: AUDIT_ARCH.x86_64 }).action, "allow");
  // openat2 is refused with ENOSYS so that programs fall back to openat.
  assert.deepEqual(runSeccomp(unconfined, { nr: 437, arch: AUDIT_ARCH.i386 }), { action: "errno", data: ENOSYS_ });
});
