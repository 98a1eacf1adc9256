/**
 * Where a cold `hakoniwa run -- /bin/true` spends its time: this process
 * walks the CLI's path step by step (module loading, policy, plan, library,
 * spec, clone, wait) and prints the milliseconds of each step as JSON. The
 * benchmark runs it many times as a fresh process and takes medians.
 *
 * ```sh
 * deno run -A bench/profile.ts
 * ```
 *
 * @module
 */
const steps: Record<string, number> = { "runtime start (to first statement)": performance.now() };
let last = performance.now();
function step(name: string) {
  const now = performance.now();
  steps[name] = now - last;
  last = now;
}

// Module loading, in the order cli.ts's graph reaches them. No npm package is on this path: run parses in
// src/cli/parse.ts (@stricli/core serves help and the other subcommands), the default policy ships parsed
// (src/policy/default.ts; no smol-toml or template engine), logtape loads only at -v/-vv.
await import("../src/native/image.ts");
step("load native_image.ts (the embedded core, base64)");
const cli = await import("../cli.ts");
step("load cli.ts and src/ modules");
const { setupLogging } = await import("../src/common/log.ts");
const { containerFromPolicy } = await import("../src/policy_container.ts");
const { defaultPolicy } = await import("../src/policy/default.ts");
const { buildPlan, currentHost } = await import("../src/plan/plan.ts");
const { loadNative } = await import("../src/native/ffi.ts");
const { startSandbox } = await import("../src/run/runner.ts");
const seccomp = await import("../src/seccomp/profile.ts").catch(() => undefined);
const { parseSandboxArgs } = await import("../src/cli/parse.ts");
const { RUN_FLAGS } = await import("../src/cli/flags.ts");
void cli;

if (parseSandboxArgs(RUN_FLAGS, ["--", "/bin/true"]).help) throw new Error("bench: help?");
step("parse the command line (src/cli/parse.ts)");
await setupLogging("warning");
step("setup logging");
const policy = defaultPolicy();
step("the default policy (parsed at build time)");
const container = containerFromPolicy(policy);
const plan = buildPlan(container.settings, { program: "/bin/true", args: [] }, currentHost());
step("container + buildPlan");
await loadNative();
step("load native library (decode, Web Crypto check, sealed memfd, dlopen)");
const filter = (plan as { seccomp?: unknown }).seccomp && seccomp
  ? (seccomp as unknown as { compileProfile(p: unknown): Uint8Array }).compileProfile(
    (plan as { seccomp?: unknown }).seccomp,
  )
  : undefined;
step("seccomp program (built-in profiles ship compiled; the guard)");
const sandbox = await startSandbox(plan, { stdio: [0, 1, 2], session: "new", setgroups: false, seccomp: filter });
step("start (spec, kmsg when the profile logs or kills, vfork + exec of hakoniwa-init)");
const report = await sandbox.finished;
if (report.status !== "OK") throw new Error(`bench: /bin/true ended with ${report.status}: ${report.reason}`);
step("wait (namespaces, root, exec, exit, report)");
steps["total inside"] = performance.now();
console.log(JSON.stringify(steps));
Deno.exit(0);
