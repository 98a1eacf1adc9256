import assert from "node:assert/strict";
import { actionName1x, archName1x, seccompLines1x } from "./lines_1x.ts";
import { defaultProfile, type SeccompAction } from "./profile.ts";

Deno.test("1.x's arch and action names", () => {
  assert.deepEqual(["x86_64", "x86", "x32", "aarch64", "riscv64"].map(archName1x), [
    "X8664",
    "X86",
    "X32",
    "Aarch64",
    "Riscv64",
  ]);
  const actions: SeccompAction[] = ["allow", "kill_process", "kill_thread", "log", "trap", { errno: 38 }];
  assert.deepEqual(actions.map(actionName1x), [
    "Allow",
    "KillProcess",
    "KillThread",
    "Log",
    "Trap",
    "Errno(38)",
  ]);
});

Deno.test("seccompLines1x: the default action counts as a rule; arches sorted; one line a name", () => {
  const lines = seccompLines1x(defaultProfile(), "x86_64");
  const names = defaultProfile().rules.reduce((n, r) => n + r.names.length, 0);
  assert.equal(lines[0], `Seccomp: Load ${names + 1} rules for architectures(X8664)`);
  assert.equal(lines[1], "Seccomp rule: ... -> Allow");
  assert.equal(lines.length, names + 2);
  assert.ok(lines.includes("Seccomp rule: ioctl($1 & 4294967295 = 21522, ..) -> Errno(1)"), "TIOCSTI");
  const audit = seccompLines1x({ name: "audit", defaultAction: "log", arches: [], rules: [] }, "x86_64");
  assert.deepEqual(audit, ["Seccomp: Load 1 rules for architectures(X8664)", "Seccomp rule: ... -> Log"]);
  assert.deepEqual(seccompLines1x(null, "x86_64"), []);
  const arches = seccompLines1x({ name: "p", defaultAction: "allow", arches: ["x32", "x86"], rules: [] }, "x86_64");
  assert.equal(arches[0], "Seccomp: Load 1 rules for architectures(X32, X86, X8664)");
});
