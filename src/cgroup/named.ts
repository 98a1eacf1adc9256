/**
 * A cgroup at a path the caller names (an OCI container's `linux.cgroupsPath`), made with its limits in every
 * hierarchy it can be, joined by the sandbox's init (HK_T_CGROUP_JOIN) and removed by the caller when it is done:
 * unlike a sandbox's own cgroup (cgroup.ts), it outlives the process that made it.
 *
 * @module
 */
import { SetupError } from "../common/errors.ts";
import { loadNativeSync } from "../native/ffi.ts";
import { cgroupDir, type CgroupHost, currentCgroupHost, hierarchies, type Hierarchy } from "./cgroup.ts";

/**
 * The files a controller's limits are written to, under cgroup v1 and under v2.
 *
 * @example
 * ```ts
 * import type { ControllerFiles } from "./named.ts";
 * const pids: ControllerFiles = { controller: "pids", v1: [["pids.max", "32"]], v2: [["pids.max", "32"]] };
 * console.log(pids.v1[0][0]); // "pids.max"
 * ```
 */
export interface ControllerFiles {
  /** The controller (memory, cpu, cpuset, pids). */
  controller: string;
  /** [file, value] under cgroup v1, in order. */
  v1: [string, string][];
  /** [file, value] under cgroup v2, in order. */
  v2: [string, string][];
}

/**
 * The host as making a named cgroup sees it: {@link CgroupHost} and the two writes (a fake in unit tests).
 *
 * @example
 * ```ts ignore
 * import { currentNamedCgroupHost } from "./named.ts";
 * currentNamedCgroupHost().mkdir("/sys/fs/cgroup/pids/demo");
 * ```
 */
export interface NamedCgroupHost extends CgroupHost {
  /** Makes one directory (its parent exists); an existing one is no error. */
  mkdir(path: string): void;
  /** Writes text into an existing file (a cgroup file). */
  write(path: string, text: string): void;
  /** Removes a cgroup made here (what was made before a failure). */
  remove(dir: string): void;
}

/**
 * This host; the writes need Deno's write permission for the cgroup filesystem (the OCI runtime runs with all).
 */
export function currentNamedCgroupHost(): NamedCgroupHost {
  return {
    ...currentCgroupHost(),
    mkdir(path) {
      try {
        Deno.mkdirSync(path);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
    },
    write(path, text) {
      Deno.writeTextFileSync(path, text, { create: false });
    },
    remove(dir) {
      removeNamedCgroup([dir]);
    },
  };
}

/**
 * Makes the cgroup `path` (absolute, or relative to the caller's own cgroup) in each hierarchy: every one as root,
 * the ones delegated to the caller otherwise. Writes `files` where their controller is, and returns the directories
 * made, for the sandbox's init to join and for {@link removeNamedCgroup}. A controller with limits and no usable
 * hierarchy is a SetupError naming it, and whatever was made is removed again.
 *
 * @example
 * ```ts ignore
 * import { makeNamedCgroup, removeNamedCgroup } from "./named.ts";
 * const dirs = makeNamedCgroup("/demo", [{ controller: "pids", v1: [["pids.max", "32"]], v2: [["pids.max", "32"]] }]);
 * removeNamedCgroup(dirs);
 * ```
 */
export function makeNamedCgroup(
  path: string,
  files: ControllerFiles[],
  host: NamedCgroupHost = currentNamedCgroupHost(),
): string[] {
  const fail = (why: string) => new SetupError("cgroup", 0, "", "", `the container's cgroup ${path}: ${why}`);
  const made: string[] = [];
  const kept = new Set<string>();
  try {
    const all = hierarchies(host.mountinfo);
    // A controller is kept by its v1 hierarchy when it has one (a hybrid host's unified hierarchy has none).
    const keeps = (h: Hierarchy, c: string) =>
      h.controllers === null
        ? !all.some((o) => o.controllers?.includes(c)) &&
          (host.read(`${h.mount}/cgroup.controllers`) ?? "").split(/\s+/).includes(c)
        : h.controllers.includes(c);
    for (const h of all) {
      const dir = cgroupDir(h, host.cgroup, path);
      if (dir === null || made.includes(dir)) continue;
      const want = files.filter((f) => keeps(h, f.controller));
      const why = makeDirs(h, dir, host);
      if (why !== null) {
        if (want.length && h.controllers !== null) throw fail(why);
        continue; // a hierarchy without limits is joined only where it can be
      }
      made.push(dir);
      for (const f of want) {
        for (const [file, value] of h.controllers === null ? f.v2 : f.v1) {
          try {
            host.write(`${dir}/${file}`, value);
          } catch (e) {
            throw fail(`${dir}/${file} = ${value}: ${e instanceof Error ? e.message : e}`);
          }
        }
        kept.add(f.controller);
      }
    }
    for (const f of files) {
      if (!kept.has(f.controller)) throw fail(`no cgroup hierarchy with the ${f.controller} controller can be used`);
    }
    return made;
  } catch (e) {
    for (const dir of made) host.remove(dir);
    throw e;
  }
}

/** Makes dir and its missing parents beneath the hierarchy's mount; null, or why it could not. */
function makeDirs(h: Hierarchy, dir: string, host: NamedCgroupHost): string | null {
  const parts = dir.slice(h.mount.length).split("/").filter(Boolean);
  const message = (e: unknown) => e instanceof Error ? e.message : String(e);
  let at = h.mount;
  for (const part of parts) {
    const parent = at;
    at = `${at}/${part}`;
    if (host.owner(at) !== null) continue;
    if (host.uid !== 0 && host.owner(parent) !== host.uid) return `${dir} cannot be made by uid ${host.uid}`;
    try {
      host.mkdir(at);
      // A new v1 cpuset cgroup has no CPUs and no memory nodes until given its parent's.
      if (h.controllers?.includes("cpuset")) {
        for (const file of ["cpuset.cpus", "cpuset.mems"]) {
          const value = host.read(`${parent}/${file}`)?.trim();
          if (value) host.write(`${at}/${file}`, value);
        }
      }
    } catch (e) {
      return `${at}: ${message(e)}`;
    }
    // A new v2 cgroup gets its parent's controllers enabled.
    if (h.controllers === null) {
      const enabled = (host.read(`${parent}/cgroup.controllers`) ?? "").split(/\s+/).filter(Boolean);
      for (const c of enabled) {
        try {
          host.write(`${parent}/cgroup.subtree_control`, `+${c}`);
        } catch { /* a controller the parent cannot pass on: its limit write says so */ }
      }
    }
  }
  return host.uid === 0 || host.owner(dir) === host.uid ? null : `${dir} is not uid ${host.uid}'s`;
}

/**
 * Removes the directories {@link makeNamedCgroup} made, and any cgroup the container made beneath them, as the
 * monitor and the OCI front end do (hk_cgroup_remove_tree, native/cgroup_tree.c).
 *
 * @example
 * ```ts ignore
 * import { removeNamedCgroup } from "./named.ts";
 * removeNamedCgroup(["/sys/fs/cgroup/pids/demo"]);
 * ```
 */
export function removeNamedCgroup(dirs: string[]): void {
  const native = loadNativeSync();
  for (const dir of dirs) native.hk_cgroup_remove_tree(new TextEncoder().encode(`${dir}\0`));
}
