/**
 * The cgroup room (src/cgroup/): takes a sandbox's process limit and gives the cgroup its init is moved into.
 *
 * A pids cgroup for a sandbox that root starts. The kernel exempts host uid
 * 0 from RLIMIT_NPROC, so for root callers `--limit-nproc N` (policy
 * `limits.nproc`) also becomes the `pids.max` of a cgroup of the sandbox's
 * own: N processes besides the sandbox's init. The init program moves the
 * sandbox's init into it before it runs anything (HK_T_CGROUP); the
 * directory is removed once the sandbox is gone.
 *
 * @module
 */
import { SetupError } from "../common/errors.ts";
import { logger } from "../common/log.ts";

/** A cgroup made for one sandbox. */
export interface PidsCgroup {
  /** Its `cgroup.procs` file, which the init program writes the sandbox's init into. */
  readonly procs: string;
  /** Removes the cgroup (once every process in it is gone). */
  remove(): void;
}

const V1 = "/sys/fs/cgroup/pids";
const V2 = "/sys/fs/cgroup";
let serial = 0;

function readable(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** The directory new pids cgroups go under: cgroup v1's pids hierarchy, or v2's root with pids enabled. */
function parentDir(): string | null {
  if (readable(`${V1}/cgroup.procs`) !== null) return `${V1}/hakoniwa`;
  const controllers = readable(`${V2}/cgroup.controllers`);
  if (!controllers?.split(/\s+/).includes("pids")) return null;
  if (!readable(`${V2}/cgroup.subtree_control`)?.split(/\s+/).includes("pids")) {
    try {
      Deno.writeTextFileSync(`${V2}/cgroup.subtree_control`, "+pids");
    } catch {
      return null;
    }
  }
  return V2;
}

/**
 * Removes the empty cgroups of launchers that are gone (a launcher killed
 * before it could remove its own); the names start with the launcher's pid.
 */
function sweep(parent: string) {
  const prefix = parent === V2 ? "hakoniwa-" : "";
  try {
    for (const e of Deno.readDirSync(parent)) {
      const m = e.isDirectory && e.name.startsWith(prefix) ? /^(\d+)-\d+$/.exec(e.name.slice(prefix.length)) : null;
      if (!m || Number(m[1]) === Deno.pid || alive(Number(m[1]))) continue;
      try {
        Deno.removeSync(`${parent}/${e.name}`); // fails while a process is still in it: left for later
      } catch { /* busy or gone */ }
    }
  } catch { /* parent not made yet */ }
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes a cgroup that lets `max` processes run besides the sandbox's init.
 * Throws a SetupError (step "cgroup") naming what is missing when no pids
 * controller can be used: the limit is never silently dropped.
 *
 * @example
 * ```ts ignore
 * import { pidsCgroup } from "./cgroup.ts";
 * const cg = pidsCgroup(64); // as root
 * console.log(cg.procs);
 * cg.remove();
 * ```
 */
export function pidsCgroup(max: number): PidsCgroup {
  const parent = parentDir();
  const fail = (why: string, errno = 0) =>
    new SetupError(
      "cgroup",
      errno,
      "",
      "",
      `the nproc limit binds root only through a pids cgroup: ${why}`,
    );
  if (!parent) throw fail("no cgroup pids controller is mounted and writable (/sys/fs/cgroup/pids or cgroup v2)");
  sweep(parent);
  const dir = `${parent}/${parent === V2 ? "hakoniwa-" : ""}${Deno.pid}-${++serial}`;
  try {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(`${dir}/pids.max`, String(max + 1)); // + the sandbox's init
  } catch (e) {
    try {
      Deno.removeSync(dir);
    } catch { /* never made */ }
    throw fail(`${dir}: ${e instanceof Error ? e.message : e}`);
  }
  return {
    procs: `${dir}/cgroup.procs`,
    remove() {
      // Empty by now: the sandbox's end is reported only once every process of it is gone.
      try {
        Deno.removeSync(dir);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) {
          logger("cgroup").warn(`cannot remove ${dir}: ${e instanceof Error ? e.message : e}`);
        }
      }
    },
  };
}
