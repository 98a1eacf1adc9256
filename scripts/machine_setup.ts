/**
 * The machine set-up the test suite needs as root, done before the first
 * test and verified after: the unprivileged user of the rootless run,
 * subordinate id ranges for it and for root (`--userns auto` and
 * `--user U:G:SG` map them as root too), and a cgroup subtree delegated to
 * it beneath root's own cgroup in each hierarchy with the memory, cpu,
 * cpuacct or pids controller (the rootless resource-control tests name it as
 * `--cgroup-parent hakoniwa-test`). Idempotent: what is there already is
 * kept, and each change is said. It assumes no name a distribution may lack
 * (Debian has no group `nobody`): groups are used by number.
 *
 * Usage: deno run -A scripts/machine_setup.ts   (as root; `npm test` runs it)
 */

/** The unprivileged user the rootless run uses. */
export const TEST_USER = "hakoniwa-test";

/** The cgroup subtree delegated to the test user, relative to root's own cgroup in each hierarchy. */
export const DELEGATED_CGROUP = "hakoniwa-test";

/** Subordinate ranges granted when a user has none, above what useradd hands out (up to 600100000). */
export const RANGES: Record<string, { start: number; count: number }> = {
  root: { start: 1000000000, count: 65536 },
  [TEST_USER]: { start: 1000065536, count: 65536 },
};

/** Where the machine keeps what this changes, and how it runs a command (both replaced in unit tests). */
export interface Machine {
  subuid: string;
  subgid: string;
  /** Runs a command; resolves to its stdout when it succeeds, null otherwise. */
  run(cmd: string, args: string[]): Promise<string | null>;
  /** The directories where `DELEGATED_CGROUP` goes (none in unit tests). */
  cgroupParents(): string[];
}

/** This machine. */
export const HOST: Machine = {
  subuid: "/etc/subuid",
  subgid: "/etc/subgid",
  async run(cmd, args) {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output().catch(() => null);
    return out?.success ? new TextDecoder().decode(out.stdout) : null;
  },
  cgroupParents() {
    const own = Deno.readTextFileSync("/proc/self/cgroup");
    const dirs: string[] = [];
    for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
      const [pre, post] = line.split(" - ");
      if (!post) continue;
      const [fstype, , options = ""] = post.split(" "), mount = pre.split(" ")[4];
      const controllers = fstype === "cgroup" ? options.split(",").filter((c) => CONTROLLERS.includes(c)) : [];
      if (fstype === "cgroup" && !controllers.length) continue;
      if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
      const path = own.split("\n").map((l) => /^(\d+):([^:]*):(.*)$/.exec(l)).find((m) =>
        m && (fstype === "cgroup2" ? m[1] === "0" : m[2].split(",").some((c) => controllers.includes(c)))
      )?.[3];
      if (path !== undefined) dirs.push(`${mount}${path === "/" ? "" : path}`);
    }
    return dirs;
  },
};

/** The controllers the resource-control tests use (v1 hierarchies carrying one of them are delegated). */
const CONTROLLERS = ["memory", "cpu", "cpuacct", "pids"];

/** Delegates `dir` (made when missing) to uid:gid the way systemd delegates a subtree: the directory and the files
 * through which processes move and children are made. */
async function delegate(dir: string, uid: number, gid: number): Promise<boolean> {
  let made = false;
  try {
    await Deno.mkdir(dir);
    made = true;
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  await Deno.chown(dir, uid, gid);
  for (const f of ["cgroup.procs", "tasks", "cgroup.subtree_control", "cgroup.threads"]) {
    await Deno.chown(`${dir}/${f}`, uid, gid).catch(() => {});
  }
  return made;
}

/** Whether a subordinate id file (`name-or-uid:start:count` lines) grants `user` (or `uid`) a range. */
export function hasRange(text: string, user: string, uid: number): boolean {
  return text.split("\n").some((line) => {
    const [who, start, count] = line.split(":");
    return (who === user || who === String(uid)) && /^\d+$/.test(start ?? "") && Number(count) > 0;
  });
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

/** The ids of `user`, or null when there is no such user. */
async function idsOf(m: Machine, user: string): Promise<{ uid: number; gid: number } | null> {
  const uid = await m.run("id", ["-u", user]), gid = await m.run("id", ["-g", user]);
  return uid && gid ? { uid: Number(uid.trim()), gid: Number(gid.trim()) } : null;
}

/**
 * Makes the machine ready for the suite and returns the lines saying what
 * changed (none when it was ready). Throws, naming what is missing, when
 * the result cannot be verified: no test should start on a half-set-up
 * machine.
 */
export async function setUpMachine(m: Machine = HOST): Promise<string[]> {
  const changed: string[] = [];
  if (!(await idsOf(m, TEST_USER))) {
    await m.run("useradd", ["--no-create-home", "--shell", "/bin/sh", TEST_USER]);
    changed.push(`created the user ${TEST_USER} (useradd)`);
  }
  const user = await idsOf(m, TEST_USER);
  if (!user) throw new Error(`machine set-up: cannot create the user ${TEST_USER} (useradd failed)`);
  for (const [who, uid] of [["root", 0], [TEST_USER, user.uid]] as const) {
    for (const file of [m.subuid, m.subgid]) {
      const text = await readOrEmpty(file);
      if (hasRange(text, who, uid)) continue;
      const { start, count } = RANGES[who];
      const sep = text === "" || text.endsWith("\n") ? "" : "\n";
      await Deno.writeTextFile(file, `${text}${sep}${who}:${start}:${count}\n`);
      changed.push(`granted ${who} the subordinate ids ${start}-${start + count - 1} in ${file}`);
    }
  }
  for (const parent of m.cgroupParents()) {
    const dir = `${parent}/${DELEGATED_CGROUP}`;
    if (await delegate(dir, user.uid, user.gid)) changed.push(`delegated the cgroup ${dir} to ${TEST_USER}`);
    if ((await Deno.stat(dir)).uid !== user.uid) throw new Error(`machine set-up: ${dir} is not ${TEST_USER}'s`);
  }
  // Verified from what is on disk now, not from what was written.
  for (const [who, uid] of [["root", 0], [TEST_USER, user.uid]] as const) {
    for (const file of [m.subuid, m.subgid]) {
      if (!hasRange(await readOrEmpty(file), who, uid)) {
        throw new Error(`machine set-up: ${file} grants ${who} no range after the set-up`);
      }
    }
  }
  return changed;
}

if (import.meta.main) {
  if (Deno.uid() !== 0) {
    console.log("machine set-up: not root, nothing to do (the suite then runs only as the current user)");
  } else {
    const changed = await setUpMachine();
    console.log(changed.length ? changed.map((l) => `machine set-up: ${l}`).join("\n") : "machine set-up: ready");
  }
}
