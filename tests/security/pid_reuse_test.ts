// Class: pid reuse when signalling. The runner signals through a pidfd: once the sandbox is gone, kill()
// cannot reach a new process that got the same pid.
import assert from "node:assert/strict";
import { IS_ROOT, SKIP_REASON, WHO } from "../helpers.ts";
import { Container } from "../../src/container.ts";
import { buildPlan, currentHost } from "../../src/plan/plan.ts";
import { startSandbox } from "../../src/run/runner.ts";

// The library loads the core with Deno.dlopen and keeps it: no resource sanitizer here.
Deno.test({
  name: `pid reuse: kill() after the sandbox ended never signals a process that reused its pid [${WHO}]`,
  ignore: SKIP_REASON !== null,
  sanitizeResources: false,
}, async () => {
  const c = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64");
  const plan = buildPlan(c.settings, { program: "/bin/true", args: [] }, currentHost());
  const sb = await startSandbox(plan, { stdio: [0, 1, 2], session: "new", setgroups: IS_ROOT });
  const report = await sb.finished;
  assert.equal(report.status, "OK");
  let victim: Deno.ChildProcess | null = null;
  if (IS_ROOT) {
    // Make the next pid the sandbox's old one, as an attacker cycling pids would.
    for (let i = 0; i < 20 && victim?.pid !== sb.pid; i++) {
      if (victim) {
        victim.kill("SIGKILL");
        await victim.status;
      }
      Deno.writeTextFileSync("/proc/sys/kernel/ns_last_pid", String(sb.pid - 1));
      victim = new Deno.Command("sleep", { args: ["30"] }).spawn();
    }
    assert.equal(victim!.pid, sb.pid, "could not reuse the pid");
  } else {
    victim = new Deno.Command("sleep", { args: ["30"] }).spawn();
  }
  sb.kill("SIGKILL");
  sb.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 200));
  const alive = Deno.readTextFileSync(`/proc/${victim!.pid}/stat`).split(" ")[2];
  assert.notEqual(alive, "Z", "the process that reused the pid was killed");
  victim!.kill("SIGKILL");
  await victim!.status;
});
