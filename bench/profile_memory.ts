/**
 * Where a cold `hakoniwa run -- /bin/true` puts its resident memory: the
 * CLI's path step by step, as bench/profile.ts walks it for time, but with
 * static imports as cli.ts has them (a first dynamic import alone pages in
 * ~4 MiB of Deno's loader). Prints, as JSON, what each step adds in MiB
 * (see bench/resident.ts for the kinds); the first entry is the resident set
 * once Deno has loaded the graph. Reading smaps allocates too: `anon` is
 * rough. The benchmark runs it several times and takes medians.
 *
 * ```sh
 * deno run -A bench/profile_memory.ts
 * ```
 *
 * @module
 */
import { AT_FIRST_EVALUATION, type Resident, resident } from "./resident.ts";
import "../cli.ts";
import { parseSandboxArgs } from "../src/cli/parse.ts";
import { RUN_FLAGS } from "../src/cli/flags.ts";
import { setupLogging } from "../src/common/log.ts";
import { defaultPolicy } from "../src/policy/default.ts";
import { containerFromPolicy } from "../src/policy_container.ts";
import { buildPlan, currentHost } from "../src/plan/plan.ts";
import { loadNative } from "../src/native/ffi.ts";
import { startSandbox } from "../src/run/runner.ts";

const steps: Record<string, Resident> = { "Deno started, the graph loaded": AT_FIRST_EVALUATION };
let last = AT_FIRST_EVALUATION;
function step(name: string) {
  const now = resident();
  steps[name] = { deno: now.deno - last.deno, anon: now.anon - last.anon, files: now.files - last.files };
  last = resident(); // what reading smaps touched is not the next step's
}

step("evaluate cli.ts and src/ modules");
if (parseSandboxArgs(RUN_FLAGS, ["--", "/bin/true"]).help) throw new Error("bench: help?");
await setupLogging("warning");
step("parse the command line, logging");
const plan = buildPlan(
  containerFromPolicy(defaultPolicy()).settings,
  { program: "/bin/true", args: [] },
  currentHost(),
);
step("default policy, container, buildPlan");
await loadNative();
step("load the native core (digest, memfd, dlopen)");
const sandbox = await startSandbox(plan, { stdio: [0, 1, 2], session: "new", setgroups: false });
step("start (spec, vfork + exec of hakoniwa-init)");
const report = await sandbox.finished;
if (report.status !== "OK") throw new Error(`bench: /bin/true ended with ${report.status}: ${report.reason}`);
step("wait (report)");
console.log(JSON.stringify(steps));
Deno.exit(0);
