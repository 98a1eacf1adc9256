import assert from "node:assert/strict";
import { archToken, syscallNumber } from "./libseccomp.ts";
import { compileProfile, defaultProfile, profileCanLogOrKill, unconfinedProfile } from "./seccomp.ts";
import { GUARD_ABIS, GUARDED_SYSCALLS, guardProgram, withGuard } from "./seccomp_guard.ts";

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
