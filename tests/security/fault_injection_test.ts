// Class: the payload runs although a setup step failed. Every syscall the core makes during setup is made
// to fail with strace's fault injection; the command (which would create a marker in a rw bind) must never
// run, the exit must be 125 and the message must name the step.
import assert from "node:assert/strict";
import { cliArgv, sandboxTest, tempDir } from "../helpers.ts";

/** syscall, the step the message must name, extra flags that make the core use it. */
const CASES: [string, RegExp, string[]][] = [
  ["clone", /^hakoniwa: clone: /m, []],
  ["prctl", /^hakoniwa: prctl: /m, []],
  ["mount", /^hakoniwa: mount-private: /m, []],
  ["openat2", /^hakoniwa: (open-source|mkdir|bind): /m, []],
  ["open_tree", /^hakoniwa: open-source: /m, []],
  ["mount_setattr", /^hakoniwa: (bind|open-source): /m, []],
  ["fsopen", /^hakoniwa: root: /m, []],
  ["fsconfig", /^hakoniwa: root: /m, []],
  ["fsmount", /^hakoniwa: root: /m, []],
  ["move_mount", /^hakoniwa: root: /m, []],
  ["mkdirat", /^hakoniwa: (mkdir|proc|bind|tmpfs): /m, []],
  ["symlinkat", /^hakoniwa: symlink: /m, []],
  ["pivot_root", /^hakoniwa: pivot-root: /m, []],
  ["umount2", /^hakoniwa: pivot-root: /m, []],
  ["sethostname", /^hakoniwa: hostname: /m, []],
  ["keyctl", /^hakoniwa: keyring: /m, []],
  ["ioctl", /^hakoniwa: loopback: /m, []],
  ["fork", /^hakoniwa: fork: /m, []],
  ["setsid", /^hakoniwa: setsid: /m, []],
  ["close_range", /^hakoniwa: stdio: /m, []],
  ["chdir", /^hakoniwa: (chdir|pivot-root): /m, []],
  ["prlimit64", /^hakoniwa: rlimit: /m, ["--limit-nofile", "100"]],
  ["setresgid", /^hakoniwa: setgid: /m, []],
  ["setresuid", /^hakoniwa: setuid: /m, []],
  ["capset", /^hakoniwa: capabilities: /m, []],
  ["execve", /^hakoniwa: execve: /m, []],
];

function cli(dir: string, extra: string[]): string[] {
  return [
    ...cliArgv(),
    "run",
    "--rw-bind",
    `${dir}:/w`,
    ...extra,
    "--",
    "/bin/sh",
    "-c",
    "touch /w/ran",
  ];
}

/**
 * Which call to fail: strace counts calls per process, so find the sandbox's processes (every pid that is
 * not the launcher or one of its threads: the vforked spawner, hakoniwa-init and the sandbox) and the index of
 * their first call of `name`. Each setup step uses a syscall the launcher does not make (it vforks; the init
 * program clones the namespaces with clone, the sandbox's init forks the command with fork), so failing the
 * first call of each process hits only the sandbox.
 */
async function target(dir: string, name: string, extra: string[]): Promise<number | null> {
  const log = `${dir}.strace`;
  await new Deno.Command("strace", {
    args: ["-f", "-qq", "-e", "signal=none", "-e", `trace=${name},clone3`, "-o", log, ...cli(dir, extra)],
    stdout: "null",
    stderr: "null",
  }).output();
  const lines = (await Deno.readTextFile(log)).split("\n");
  await Deno.remove(log);
  await Deno.remove(`${dir}/ran`).catch(() => {});
  const launcher = new Set<number>([Number(lines[0].split(" ")[0])]);
  const counts = new Map<number, number>();
  for (const line of lines) {
    const m = /^(\d+) +(\w+)\((.*)/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    if (m[2] === "clone3" && /CLONE_THREAD/.test(m[3])) {
      const child = /= (\d+)$/.exec(line);
      if (child) launcher.add(Number(child[1]));
    }
    if (m[2] !== name) continue;
    counts.set(pid, (counts.get(pid) ?? 0) + 1);
    if (!launcher.has(pid)) return counts.get(pid)!;
  }
  return null;
}

/** move_mount tries four staging directories for the root before giving up: fail all of them. */
function range(name: string, when: number): string {
  return name === "move_mount" ? `${when}..${when + 3}` : String(when);
}

sandboxTest("fault injection: each setup syscall failing aborts before exec with 125 and the step", async () => {
  const dir = await tempDir();
  const missed: string[] = [], failures: string[] = [];
  try {
    for (const [name, step, extra] of CASES) {
      const when = await target(dir, name, extra);
      if (when === null) {
        missed.push(name);
        continue;
      }
      const out = await new Deno.Command("strace", {
        args: [
          "-f",
          "-qq",
          "-o",
          "/dev/null",
          "-e",
          `inject=${name}:error=EPERM:when=${range(name, when)}`,
          ...cli(dir, extra),
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      const ran = await Deno.stat(`${dir}/ran`).then(() => true, () => false);
      await Deno.remove(`${dir}/ran`).catch(() => {});
      if (ran || out.code !== 125 || !step.test(stderr) || !/Operation not permitted/.test(stderr)) {
        failures.push(`${name} (call ${when}): ran=${ran} exit=${out.code} ${stderr.trim().split("\n").pop()}`);
      }
    }
    assert.deepEqual(failures, [], "setup went on although a call failed");
    // Calls the core makes only in some configurations must at least have been seen here.
    assert.deepEqual(missed, [], `no setup call of ${missed.join(", ")} was found to fail`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
