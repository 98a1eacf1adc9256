/**
 * The cgroup room (src/cgroup/): takes a sandbox's whole-sandbox limits (memory, CPU bandwidth, processes) and
 * gives where and how the native core makes its cgroup: one parent directory per hierarchy and the files it
 * writes there. The monitor (native/cgroup.c) makes `hakoniwa-PID/` with the limits and a leaf `sandbox/` beneath
 * each parent, moves the sandbox's init into the leaf, reads the usage and removes the tree when the sandbox is
 * gone; the writes happen there, where Deno's permissions do not reach (they reserve /sys for --allow-all).
 *
 * The parent is the caller's own cgroup (from /proc/self/cgroup), so every limit of the caller still binds the
 * sandbox, or a cgroup path named by `--cgroup-parent`, the policy's `cgroup_parent` or `HAKONIWA_CGROUP_PARENT`
 * (a subtree delegated to an unprivileged caller). cgroup v1 (one hierarchy per controller) and v2 (one unified
 * hierarchy) both; a controller is used where the machine mounts it.
 *
 * @module
 */
import { SetupError } from "../common/errors.ts";
import { loadNativeSync } from "../native/ffi.ts";

/**
 * Limits for the whole sandbox, kept by its cgroup (`Container.limitMemory()`, `limitCpus()`, `limitPids()`).
 *
 * @example
 * ```ts
 * import type { CgroupLimits } from "jsr:@hakoniwa/cli";
 * const limits: CgroupLimits = { memory: 64 << 20, cpus: 0.5, pids: 32 };
 * console.log(limits.memory); // 67108864
 * ```
 */
export interface CgroupLimits {
  /** Bytes of memory, swap counted (the command cannot page out past it). */
  memory?: number;
  /** CPU bandwidth in CPUs (0.5: half of one CPU's time in every period). */
  cpus?: number;
  /** Processes of the command (the sandbox's init is not counted). */
  pids?: number;
  /**
   * Where to make the sandbox's cgroup instead of beneath the caller's own: an absolute cgroup path (as
   * /proc/self/cgroup spells it), or a relative one, beneath the caller's own cgroup in each hierarchy (a subtree
   * delegated to the caller there).
   */
  parent?: string;
}

/**
 * What the native core is told: a parent directory per hierarchy, and the limits written in the sandbox's cgroup.
 *
 * @example
 * ```ts
 * import type { CgroupSetup } from "./cgroup.ts";
 * const setup: CgroupSetup = { parents: ["/sys/fs/cgroup/pids"], sets: [{ index: 0, file: "pids.max", value: "33" }] };
 * console.log(setup.sets.length); // 1
 * ```
 */
export interface CgroupSetup {
  /** Absolute directories, one per hierarchy used. */
  parents: string[];
  /** Files written in the sandbox's cgroup under `parents[index]`. */
  sets: { index: number; file: string; value: string }[];
}

/**
 * What resolving needs to know of the host (a fake in unit tests).
 *
 * @example
 * ```ts ignore
 * import { currentCgroupHost } from "./cgroup.ts";
 * console.log(currentCgroupHost().cgroup); // this process's /proc/self/cgroup
 * ```
 */
export interface CgroupHost {
  /** The caller's uid. */
  uid: number;
  /** /proc/self/cgroup. */
  cgroup: string;
  /** /proc/self/mountinfo. */
  mountinfo: string;
  /** A file's text, or null when it cannot be read. */
  read(path: string): string | null;
  /** A path's owner uid, or null when it does not exist. */
  owner(path: string): number | null;
}

/**
 * This host, as the caller sees it (see {@link CgroupHost}). Read through the native core: Deno refuses /proc/self/mountinfo and cgroupfs
 * to anything but --allow-all, and the library's documented permissions stay true.
 */
export function currentCgroupHost(): CgroupHost {
  const native = loadNativeSync();
  const cstr = (path: string) => new TextEncoder().encode(`${path}\0`);
  const buf = new Uint8Array(1 << 20);
  const read = (path: string) => {
    const n = Number(native.hk_read_text(cstr(path), buf, BigInt(buf.length)));
    return n < 0 ? null : new TextDecoder().decode(buf.subarray(0, n));
  };
  return {
    uid: Deno.uid() ?? 0,
    cgroup: read("/proc/self/cgroup") ?? "",
    mountinfo: read("/proc/self/mountinfo") ?? "",
    read,
    owner(path) {
      const uid = Number(native.hk_owner(cstr(path)));
      return uid < 0 ? null : uid;
    },
  };
}

/** A mounted hierarchy: where it is, and which v1 controllers it carries (v2: null). */
export interface Hierarchy {
  mount: string;
  root: string;
  controllers: string[] | null;
}

/** The cgroup hierarchies /proc/self/mountinfo's text shows mounted. */
export function hierarchies(mountinfo: string): Hierarchy[] {
  const found: Hierarchy[] = [];
  for (const line of mountinfo.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (!post) continue;
    const fields = pre.split(" "), [fstype, , options = ""] = post.split(" ");
    const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (fstype === "cgroup2") found.push({ mount: unescape(fields[4]), root: unescape(fields[3]), controllers: null });
    if (fstype === "cgroup") {
      found.push({ mount: unescape(fields[4]), root: unescape(fields[3]), controllers: options.split(",") });
    }
  }
  return found;
}

/** The caller's cgroup path in a hierarchy: by controller name (v1) or the `0::` line (v2). */
export function callerPath(cgroup: string, controllers: string[] | null): string | null {
  for (const line of cgroup.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (controllers === null ? m[1] === "0" && m[2] === "" : m[2].split(",").some((c) => controllers.includes(c))) {
      return m[3];
    }
  }
  return null;
}

/**
 * The directory of a cgroup path in hierarchy `h`: an absolute cgroup path (as /proc/self/cgroup spells it), a path
 * relative to the caller's own cgroup there (`cgroup`: /proc/self/cgroup's text), or the caller's own (undefined);
 * null when the caller's place in `h` is unknown.
 */
export function cgroupDir(h: Hierarchy, cgroup: string, path: string | undefined): string | null {
  const rel = path === undefined || !path.startsWith("/");
  const own = rel ? callerPath(cgroup, h.controllers) : "";
  if (own === null) return null;
  const full = path === undefined ? own : rel ? `${own.replace(/\/$/, "")}/${path}` : path;
  const inMount = h.root !== "/" && full.startsWith(h.root) ? full.slice(h.root.length) : full;
  return `${h.mount}${inMount === "/" ? "" : inMount}`.replace(/\/+$/, "");
}

const PERIOD_US = 100_000;

/** The files that set a limit, by controller and cgroup version. */
function limitFiles(
  controller: string,
  limits: CgroupLimits,
  v2: boolean,
  has: (file: string) => boolean,
): [string, string][] {
  switch (controller) {
    case "memory": {
      const bytes = String(limits.memory);
      if (v2) {
        return [["memory.max", bytes], ...(has("memory.swap.max") ? [["memory.swap.max", "0"]] : [])] as [
          string,
          string,
        ][];
      }
      // memsw (memory + swap) must not be below the memory limit: the memory limit first.
      return [
        ["memory.limit_in_bytes", bytes],
        ...(has("memory.memsw.limit_in_bytes") ? [["memory.memsw.limit_in_bytes", bytes]] : []),
      ] as [string, string][];
    }
    case "cpu": {
      const quota = String(Math.max(1000, Math.round(limits.cpus! * PERIOD_US)));
      return v2 ? [["cpu.max", `${quota} ${PERIOD_US}`]] : [["cpu.cfs_period_us", String(PERIOD_US)], [
        "cpu.cfs_quota_us",
        quota,
      ]];
    }
    case "pids":
      return [["pids.max", String(limits.pids! + 1)]]; // + the sandbox's init
  }
  return [];
}

/**
 * Where the sandbox's cgroup goes and what it is given, for `limits`.
 * Throws a SetupError (step "cgroup") naming what is missing and the
 * remedy when a limit cannot be kept: never a silent run without it.
 *
 * @example
 * ```ts ignore
 * import { resolveCgroups } from "./cgroup.ts";
 * const setup = resolveCgroups({ memory: 64 << 20, pids: 100 });
 * console.log(setup.parents); // e.g. ["/sys/fs/cgroup/memory/user.slice", "/sys/fs/cgroup/pids/user.slice", ...]
 * ```
 */
export function resolveCgroups(limits: CgroupLimits, host: CgroupHost = currentCgroupHost()): CgroupSetup {
  const wanted = [
    ...(limits.memory !== undefined ? ["memory"] : []),
    ...(limits.cpus !== undefined ? ["cpu"] : []),
    ...(limits.pids !== undefined ? ["pids"] : []),
  ];
  const fail = (why: string) =>
    new SetupError("cgroup", 0, "", "", `the sandbox's cgroup (${wanted.join(", ")} limits): ${why}`);
  const all = hierarchies(host.mountinfo);
  const unified = all.find((h) => h.controllers === null);
  const parents: string[] = [], sets: CgroupSetup["sets"] = [];
  const dirOf = (h: Hierarchy) => {
    const dir = cgroupDir(h, host.cgroup, limits.parent);
    if (dir === null) throw fail(`the caller's place in ${h.mount} is not in /proc/self/cgroup`);
    return dir;
  };
  const use = (h: Hierarchy, controllers: string[]) => {
    const dir = dirOf(h);
    if (host.owner(dir) === null) throw fail(`${dir} does not exist${limits.parent ? " (--cgroup-parent)" : ""}`);
    if (host.uid !== 0 && host.owner(dir) !== host.uid) {
      throw fail(
        `${dir} is not delegated to uid ${host.uid}: run under a delegated cgroup (systemd-run --user --scope -p ` +
          `Delegate=yes ...) or name one you own with --cgroup-parent or HAKONIWA_CGROUP_PARENT`,
      );
    }
    let index = parents.indexOf(dir);
    if (index < 0) index = parents.push(dir) - 1;
    for (const c of controllers) {
      const has = (file: string) => host.read(`${dir}/${file}`) !== null;
      for (const [file, value] of limitFiles(c, limits, h.controllers === null, has)) sets.push({ index, file, value });
    }
  };
  for (const c of wanted) {
    const v1 = all.find((h) => h.controllers?.includes(c));
    if (v1) {
      use(v1, [c]);
      continue;
    }
    if (unified) {
      const dir = dirOf(unified);
      const enabled = (host.read(`${dir}/cgroup.subtree_control`) ?? "").split(/\s+/);
      if (!enabled.includes(c)) {
        const available = (host.read(`${dir}/cgroup.controllers`) ?? "").split(/\s+/).includes(c);
        throw fail(
          available
            ? `the ${c} controller is not enabled for ${dir}'s children: echo +${c} > ${dir}/cgroup.subtree_control ` +
              "(a cgroup with no process of its own: systemd-run --user --scope -p Delegate=yes, or --cgroup-parent)"
            : `no ${c} controller is available at ${dir}`,
        );
      }
      use(unified, [c]);
      continue;
    }
    throw fail(`no cgroup hierarchy has the ${c} controller (see /proc/self/mountinfo)`);
  }
  // As root, every other hierarchy too (v1's cpuacct gives the CPU time; v2's cpu.stat needs no controller): the
  // sandbox's cgroup namespace is rooted at its own leaf in each, so a payload that mounts any of them sees nothing
  // above it. Unprivileged, the CPU time's hierarchy where it is delegated (a payload runs as the caller there, and
  // nothing outside the delegated subtree is the caller's to write).
  const cpuacct = all.find((h) => h.controllers?.includes("cpuacct")) ?? unified;
  for (const h of host.uid === 0 ? all : cpuacct ? [cpuacct] : []) {
    const dir = dirOf(h);
    if (parents.includes(dir) || host.owner(dir) === null) continue;
    if (host.uid !== 0 && host.owner(dir) !== host.uid) continue; // not delegated: usage from the init's report
    const index = parents.push(dir) - 1;
    // A new v1 cpuset cgroup has no CPUs and no memory nodes until given its parent's.
    if (h.controllers?.includes("cpuset")) {
      for (const file of ["cpuset.cpus", "cpuset.mems"]) {
        const value = host.read(`${dir}/${file}`)?.trim();
        if (value) sets.push({ index, file, value });
      }
    }
  }
  return { parents, sets };
}
