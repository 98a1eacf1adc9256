// Class: fork bomb. RLIMIT_NPROC (and for root, whom the kernel exempts from it, a pids cgroup) stops it, the
// launcher survives, nothing is left behind.
import assert from "node:assert/strict";
import { pathExists, processesWith, sandboxTest } from "../helpers.ts";
import { inSandbox, policies, probe } from "./probe.ts";

sandboxTest("fork bomb: --limit-nproc stops it with EAGAIN, the launcher reports, no process survives", async () => {
  const bin = await probe("forkbomb");
  for (const p of await policies()) {
    const r = await inSandbox([...p.flags, "--limit-nproc", "64", "--limit-walltime", "30"], [bin]);
    assert.equal(r.code, 0, `${p.name}: ${r.stdout}${r.stderr}`);
    const made = /fork failed after (\d+): Resource temporarily unavailable/.exec(r.stdout);
    assert.ok(made, `${p.name}: ${r.stdout}`);
    // The limit binds root too (a pids cgroup): never more than 64 processes of the command's.
    assert.ok(Number(made[1]) <= 64, `${p.name}: ${made[1]} processes forked under --limit-nproc 64`);
    assert.deepEqual(processesWith("/probe/forkbomb"), [], `${p.name}: forked children outlived the sandbox`);
  }
});

Deno.test({
  name: "nproc as root: the sandbox's pids cgroup is gone after the run, and a dead monitor's is swept [root]",
  ignore: Deno.uid() !== 0 || !pathExists("/sys/fs/cgroup/pids/cgroup.procs"),
  async fn() {
    // Beneath root's own pids cgroup, where the monitor makes the sandbox's.
    const own = /^\d+:([^:]*,)?pids(,[^:]*)?:(.*)$/m.exec(Deno.readTextFileSync("/proc/self/cgroup"))![3];
    const parent = `/sys/fs/cgroup/pids${own === "/" ? "" : own}`;
    Deno.mkdirSync(`${parent}/hakoniwa-9999999/sandbox`, { recursive: true }); // above any pid_max: a dead monitor
    const r = await inSandbox(["--limit-nproc", "8"], ["/bin/true"]);
    assert.equal(r.code, 0, r.stderr);
    const left = [...Deno.readDirSync(parent)].filter((e) => e.isDirectory).map((e) => e.name);
    assert.deepEqual(left.filter((n) => n === "hakoniwa-9999999"), [], "the dead monitor's cgroup stayed");
    assert.deepEqual(left.filter((n) => /^hakoniwa-\d+$/.test(n) && !pathExists(`/proc/${n.slice(9)}`)), []);
  },
});
