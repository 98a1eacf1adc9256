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

// Module loading, in the order cli.ts's graph reaches them.
await import("@commander-js/extra-typings");
step("load commander");
await import("@logtape/logtape");
step("load logtape");
await import("smol-toml");
step("load smol-toml");
await import("../src/template.ts");
step("load template.ts (handlebars when static)");
const cli = await import("../cli.ts");
step("load cli.ts and src/ modules");
const { setupLogging } = await import("../src/log.ts");
const { POLICIES } = await import("../src/generated/policies.ts");
const { containerFromPolicy, parsePolicy } = await import("../src/policy.ts");
const { buildPlan, currentHost } = await import("../src/plan.ts");
const { loadNative } = await import("../src/ffi.ts");
const { encodeSpec } = await import("../src/spec.ts");
void cli;

await setupLogging("warning");
step("setup logging");
const policy = parsePolicy(POLICIES["KISS-policy"], "KISS-policy.toml");
step("parse policy (toml + templates)");
const container = containerFromPolicy(policy);
const plan = buildPlan(container.settings, { program: "/bin/true", args: [] }, currentHost());
step("container + buildPlan");
const native = await loadNative();
step("load native library (dlopen)");
const spec = encodeSpec(plan, { stdio: [0, 1, 2], session: "new", setgroups: false });
step("encode spec");
const out = new BigInt64Array(4);
const err = new Uint8Array(9 * 8 + 1000);
if (native.hk_spawn(spec, BigInt(spec.length), out, err) !== 0) throw new Error("hk_spawn failed");
step("hk_spawn (clone, maps, returns)");
const [, pidfd, reportFd, startNs] = Array.from(out, Number);
const result = new Uint8Array(9 * 8 + 1000);
await native.hk_wait(pidfd, reportFd, -1n, BigInt(startNs), result);
native.hk_close(pidfd);
step("hk_wait (mounts, exec, exit, report)");
steps["total inside"] = performance.now();
console.log(JSON.stringify(steps));
Deno.exit(0);
