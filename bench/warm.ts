/**
 * Where a warm library run of /bin/true spends its time: the phases of
 * one run (plan, seccomp filter, spec, clone, wait for the report) and
 * what leaving out a part of the default policy saves (the seccomp filter,
 * the network namespace, /proc and /dev), interleaved in one warm process.
 * The seccomp audit socket that startSandbox opens is left out.
 *
 * @module
 */
import { Container } from "../mod.ts";
import { loadNative } from "../src/native/ffi.ts";
import { buildPlan, currentHost } from "../src/plan/plan.ts";
import { compileProfile, unconfinedProfile } from "../src/seccomp/profile.ts";
import { encodeSpec } from "../src/run/spec.ts";
import { Reactor } from "../src/run/reactor.ts";
import { RESULT_SLOT } from "../src/generated/abi.js";
import { defaultContainer } from "./hakoniwa.ts";
import { interleave, median, type Samples } from "./lib.ts";

const SLOTS = RESULT_SLOT.SLOTS;

/**
 * Measures `runs` warm runs per variant; returns medians in ms per phase
 * and per variant.
 *
 * @example
 * ```ts ignore
 * const { phases, variants } = await warmBreakdown(50);
 * ```
 */
export async function warmBreakdown(
  runs: number,
): Promise<{ phases: Record<string, number>; variants: Samples }> {
  const native = await loadNative();
  const nullFd = native.hk_open_null();
  const setgroups = Deno.uid() === 0 && Deno.readTextFileSync("/proc/self/setgroups").trim() === "allow";
  const phases: Record<string, number[]> = {};
  const add = (k: string, v: number) => (phases[k] ??= []).push(v);
  const host = currentHost();
  const run = (c: Container, record: boolean) => async () => {
    let t = performance.now();
    const t0 = t;
    const lap = (k: string) => {
      const now = performance.now();
      if (record) add(k, now - t);
      t = now;
    };
    const plan = buildPlan(c.settings, { program: "/bin/true", args: [] }, host);
    lap("buildPlan");
    const seccomp = compileProfile(plan.seccomp ?? unconfinedProfile());
    lap("compile seccomp profile");
    const spec = encodeSpec(plan, { stdio: [nullFd, nullFd, nullFd], session: "new", setgroups, seccomp });
    lap("encodeSpec");
    const out = new BigInt64Array(4);
    const err = new Uint8Array(SLOTS * 8 + 1000);
    if (native.hk_spawn(spec, BigInt(spec.length), out, err) !== 0) throw new Error("bench: hk_spawn failed");
    lap("hk_spawn (vfork + exec of hakoniwa-init; JS thread)");
    const [, pidfd, reportFd, startNs] = Array.from(out, Number);
    const result = new Uint8Array(SLOTS * 8 + 1000);
    await Reactor.of(native).ready(pidfd, "read");
    Reactor.of(native).forget(pidfd);
    native.hk_reap(pidfd, reportFd, BigInt(startNs), result);
    lap("the wait (namespaces, root, exec, exit, report)");
    native.hk_close(pidfd);
    if (record) {
      add(
        "the sandbox's lifetime as the core reports it",
        Number(new BigInt64Array(result.buffer, 0, SLOTS)[RESULT_SLOT.REAL_NS]) / 1e6,
      );
    }
    return performance.now() - t0;
  };
  const full = defaultContainer();
  const shareNet = defaultContainer().share("network");
  const unconfined = defaultContainer().seccomp(null);
  const bare = Container.empty().bindRo("/bin").bindRo("/lib").bindRo("/lib64").bindRo("/usr");
  const variants = await interleave(
    [
      { name: "default policy", run: run(full, true) },
      { name: "default, seccomp unconfined", run: run(unconfined, false) },
      { name: "default, network shared", run: run(shareNet, false) },
      { name: "binds only, user+mount+pid", run: run(bare, false) },
    ],
    runs,
    5,
  );
  return { phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)])), variants };
}
