/**
 * Soak: many sandboxes in a row and at once through src/run/runner.ts, counting the launcher's fds, children,
 * the host's mounts and temp files before and after.
 */
import assert from "node:assert/strict";
import { hakoniwa, IS_ROOT } from "../helpers.ts";
import { Container } from "../../src/container.ts";
import { buildPlan, currentHost } from "../../src/plan/plan.ts";
import { startSandbox } from "../../src/run/runner.ts";

function snapshot() {
  const children = [...Deno.readDirSync("/proc/self/task")]
    .map((t) => Deno.readTextFileSync(`/proc/self/task/${t.name}/children`).trim())
    .filter(Boolean).join(" ");
  return {
    fds: [...Deno.readDirSync("/proc/self/fd")].length,
    children,
    mounts: Deno.readTextFileSync("/proc/self/mountinfo").split("\n").length,
    // Only this user's entries: what other users' processes do in /tmp meanwhile is not ours to count.
    tmp: [...Deno.readDirSync("/tmp")].map((e) => e.name).filter((n) => !n.startsWith("hakoniwa-") && ownedByMe(n))
      .sort().join(" "),
  };
}

/** Runs `serial` sandboxes one after another, then `parallel` at once; asserts nothing is left. */
export async function soak(serial: number, parallel: number, inProcess = true): Promise<void> {
  const c = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib");
  if (currentHost().realPath("/lib64")) c.bindRo("/lib64");
  const plan = buildPlan(c.settings, { program: "/bin/sh", args: ["-c", "sleep 0 & exit 3"] }, currentHost());
  const io = { stdio: [0, 1, 2] as [number, number, number], session: "new" as const, setgroups: IS_ROOT };
  // One run first so the library is loaded and cached before counting.
  await (await startSandbox(plan, io)).finished;
  const before = snapshot();
  for (let i = 0; i < serial; i++) {
    const r = await (await startSandbox(plan, io)).finished;
    assert.equal(r.exitCode, 3, `run ${i}: ${r.reason}`);
  }
  // At once through the CLI (one launcher each), then in this process through startSandbox.
  const cli = await Promise.all(
    Array.from({ length: parallel }, () => hakoniwa(["run", "--", "/bin/sh", "-c", "sleep 0 & exit 3"])),
  );
  for (const r of cli) assert.equal(r.code, 3, r.stderr);
  if (inProcess) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reports = await Promise.race([
      Promise.all(Array.from({ length: parallel }, async () => (await startSandbox(plan, io)).finished)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${parallel} sandboxes at once in one process did not all finish in 60s`)),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    for (const r of reports) assert.equal(r.exitCode, 3, r.reason);
  }
  const after = snapshot();
  assert.deepEqual(after, before, `${serial} in a row and ${parallel} at once left something behind`);
}

function ownedByMe(name: string): boolean {
  try {
    return Deno.lstatSync(`/tmp/${name}`).uid === Deno.uid();
  } catch {
    return false; // gone meanwhile
  }
}
