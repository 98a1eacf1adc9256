/**
 * Prints, as JSON, the programs libseccomp compiles for the built-in seccomp
 * profiles on this machine's architecture, keyed by profile (see
 * `profileKey`). scripts/generate.ts runs it in a fresh process (after the
 * native core is rebuilt) and writes src/generated/seccomp.js from it.
 */
import { auditProfile, compileOwnProgram, defaultProfile, profileKey } from "../src/seccomp/profile.ts";

const profiles = [
  defaultProfile(),
  defaultProfile({ noNamespaces: true }),
  auditProfile(),
];
const out: Record<string, string> = {};
for (const p of profiles) {
  const program = compileOwnProgram(p);
  if (program) out[profileKey(p)] = btoa(String.fromCharCode(...program));
}
console.log(JSON.stringify({ arch: Deno.build.arch, programs: out }));
