// Class: the 32-bit / x32 syscall ABI bypasses a filter. Needs the default seccomp profile, which kills
// foreign ABIs: a syscall through int 0x80 or with the x32 bit must end the payload with SIGSYS.
import assert from "node:assert/strict";
import { sandboxTest } from "../helpers.ts";
import { NO_I386 } from "../host_abi.ts";
import { inSandbox, policies, probe } from "./probe.ts";

for (const abi of ["i386", "x32"]) {
  sandboxTest(`abi: a ${abi} syscall is killed with SIGSYS (needs the default seccomp profile)`, async () => {
    const bin = await probe("abi");
    for (const p of await policies()) {
      const r = await inSandbox(p.flags, [bin, abi]);
      assert.equal(r.code, 128 + 31, `${p.name}: a ${abi} syscall was not killed: exit ${r.code} ${r.stdout}`);
    }
  }, abi === "i386" ? NO_I386 : null);
}
