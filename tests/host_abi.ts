/**
 * Which foreign syscall ABIs the host kernel runs, probed once per test
 * process outside any sandbox. A kernel booted with `ia32_emulation=0` (or
 * built without IA32 emulation) answers `int 0x80` with SIGSEGV, so no
 * sandbox test can show that a filter kills an i386 syscall there: such
 * tests are skipped with the reason printed, and the filters' i386 code is
 * proven by the unit tests that run it in tests/bpf_vm.ts.
 *
 * The x32 ABI needs no probe: its syscall numbers carry bit 30, which every
 * filter sees before the kernel dispatches (or refuses) the call.
 */
import { ROOT } from "./helpers.ts";

/** Why the host cannot run an i386 syscall, or null when it can. */
async function probeI386(): Promise<string | null> {
  if (Deno.build.arch !== "x86_64") return `the i386 ABI exists only on x86_64 (this is ${Deno.build.arch})`;
  const dir = await Deno.makeTempDir({ prefix: "hakoniwa-abi-" });
  try {
    const bin = `${dir}/probe`;
    const cc = await new Deno.Command("gcc", {
      args: ["-O1", "-o", bin, `${ROOT}/native/tests/seccomp_probe.c`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!cc.success) throw new Error(`gcc seccomp_probe.c: ${new TextDecoder().decode(cc.stderr)}`);
    // getpid through int 0x80 (i386 number 20).
    const r = await new Deno.Command(bin, { args: ["i386", "20"], stdout: "piped", stderr: "null" }).output();
    if (r.success && /^ret=\d+ errno=0$/m.test(new TextDecoder().decode(r.stdout))) return null;
    const how = r.signal ? `is killed by ${r.signal}` : `exits ${r.code}`;
    return `the host kernel does not run i386 syscalls (int 0x80 getpid outside any sandbox ${how}; ` +
      "e.g. ia32_emulation=0)";
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Why i386 syscalls cannot be tried here, or null when they can. */
export const NO_I386: string | null = await probeI386();
if (NO_I386) console.log(`skipping the tests that make i386 syscalls: ${NO_I386}`);
