/**
 * The plan stage (src/plan/): takes a container's settings (types.ts: ContainerSettings) and a command, and gives a
 * {@link Plan}: mounts in order, id maps, groups, limits, Landlock and the seccomp profile, as pure data.
 *
 * The plan: everything the native core will do, as pure data. It is built
 * from a container's settings and a command, printed by `--verbose` and
 * `explain`, and encoded by spec.ts. Building a plan touches nothing on the
 * host except through the {@link HostView} it is given.
 *
 * @module
 */
import type { CommandSpec, ContainerMount, ContainerSettings, HostView, MountOp, Plan } from "./types.ts";
import { UsageError } from "../common/errors.ts";
import { type IdMapEntry, mapsInside, singleIdMap } from "./idmap.ts";
import { ALL_NAMESPACES, type Namespace } from "./namespace.ts";
import { layersNeeded, needsLayer } from "./root_layer.ts";
import { parentsFirst } from "./mount_order.ts";
import { resolveLandlock } from "./landlock.ts";
import { refusedSyscalls, unconfinedProfile } from "../seccomp/profile.ts";
import { planGroups } from "./groups.ts";
import type { CgroupLimits } from "../cgroup/cgroup.ts";
import { pastaResolvConf, planAllowNet, socketMountPoint, withBridgePort } from "./net_plan.ts";
import { DEFAULT_SEARCH_PATH, sandboxPath } from "./paths.ts";

export type { CommandSpec, HostView, MountOp, Plan, RlimitEntry } from "./types.ts";
export { DEFAULT_SEARCH_PATH, sandboxPath } from "./paths.ts";

/**
 * The size of a tmpfs that names none: 128 MiB. A tmpfs lives in the host's
 * memory, which `--limit-as` and `--limit-fsize` do not bound.
 *
 * @example
 * ```ts
 * import { DEFAULT_TMPFS_SIZE } from "./plan.ts";
 * console.log(DEFAULT_TMPFS_SIZE); // 134217728
 * ```
 */
export const DEFAULT_TMPFS_SIZE: number = 128 * 1024 * 1024;

/**
 * The inodes of a tmpfs of `size` bytes that names none: one per 4 KiB page of its size, at least 64 (a 256 KiB
 * tmpfs holds 63 files or directories besides its root, the 1 MiB /dev 255, the 128 MiB /tmp 32,767). A tmpfs
 * inode takes kernel memory (about 1 KiB with its dentry) that its size does not count: without the bound, a
 * small tmpfs takes millions of empty files.
 *
 * @example
 * ```ts
 * import { tmpfsInodes } from "./plan.ts";
 * console.log(tmpfsInodes(256 * 1024), tmpfsInodes(128 * 1024 * 1024)); // 64 32768
 * ```
 */
export function tmpfsInodes(size: number): number {
  return Math.max(64, Math.floor(size / 4096));
}

/**
 * Parses a size: bytes, or a number with a `K`, `M` or `G` suffix (powers
 * of 1024); null when it is not one.
 *
 * @example
 * ```ts
 * import { parseSize } from "./plan.ts";
 * console.log(parseSize("64M"), parseSize("4096"), parseSize("x")); // 67108864 4096 null
 * ```
 */
export function parseSize(text: string): number | null {
  const m = /^(\d+)([KMG])?$/i.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]) * 1024 ** (m[2] ? "KMG".indexOf(m[2].toUpperCase()) + 1 : 0);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * The largest tmpfs size accepted: 1 TiB.
 *
 * @example
 * ```ts
 * import { MAX_TMPFS_SIZE } from "./plan.ts";
 * console.log(MAX_TMPFS_SIZE); // 1099511627776
 * ```
 */
export const MAX_TMPFS_SIZE: number = 2 ** 40;

/** Namespaces that are always created. */
export const REQUIRED_NAMESPACES: readonly Namespace[] = ["user", "mount", "pid"];

/** Device files of the minimal devfs. */
export const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"] as const;

/**
 * Expands a devfs at `target` into primitive operations: a small tmpfs with the host's {@link DEVICES} bound in, the
 * std* links, a `shm` directory, and a new devpts instance at `pts` with `ptmx` linked to `pts/ptmx` (as 1.x), so that
 * a program can open a pseudo-terminal inside. Each device node is a bind of the host's own node, on a read-only mount:
 * a device stays readable and writable through a read-only mount (only a regular file, a directory or a link is
 * refused for writing there), while a change of the node itself (chmod, chown, touch, its extended attributes) fails
 * with EROFS, even for uid 0 inside, so the host's /dev/null keeps its mode.
 *
 * @example
 * ```ts
 * import { devfsOps } from "./plan.ts";
 * console.log(devfsOps("/dev")[1]); // { kind: "bind", source: "/dev/null", target: "/dev/null", readonly: true, dev: true }
 * ```
 */
export function devfsOps(target: string): MountOp[] {
  const at = (name: string) => `${target === "/" ? "" : target}/${name}`;
  return [
    { kind: "tmpfs", target, size: 1 << 20, inodes: tmpfsInodes(1 << 20), mode: 0o755, noexec: true },
    ...DEVICES.map((d): MountOp => ({ kind: "bind", source: `/dev/${d}`, target: at(d), readonly: true, dev: true })),
    { kind: "symlink", original: "/proc/self/fd", target: at("fd") },
    { kind: "symlink", original: "/proc/self/fd/0", target: at("stdin") },
    { kind: "symlink", original: "/proc/self/fd/1", target: at("stdout") },
    { kind: "symlink", original: "/proc/self/fd/2", target: at("stderr") },
    { kind: "dir", target: at("shm"), mode: 0o1777 },
    { kind: "devpts", target: at("pts") },
    { kind: "symlink", original: "pts/ptmx", target: at("ptmx") },
  ];
}

/**
 * Files of procfs that list what belongs to the whole machine's users
 * rather than to the sandbox: /proc/keys lists every key the caller's uid
 * may view (its user keyring among them). They are covered with /dev/null.
 */
export const PROC_MASKED = ["keys", "key-users"] as const;

/**
 * Files of the sandbox's init (PID 1) that need no capability to write for a
 * process of the same uid (root, for a root caller without --user): its OOM
 * score, core dump filter, page reference bits, scheduler statistics and
 * autogroup nice value. They are re-bound read-only.
 */
export const INIT_PROC_FILES = [
  "oom_score_adj",
  "oom_adj",
  "coredump_filter",
  "clear_refs",
  "sched",
  "autogroup",
] as const;

/**
 * Parts of procfs that a sandbox must not write, re-bound read-only after
 * mounting it (the machine-wide ones and {@link INIT_PROC_FILES} of PID 1),
 * and the files of `masked` (those of {@link PROC_MASKED} this kernel has)
 * covered with /dev/null.
 *
 * @example
 * ```ts
 * import { procOps } from "./plan.ts";
 * console.log(procOps("/proc", ["keys"]).at(-1)); // { kind: "bind", source: "/dev/null", target: "/proc/keys", readonly: true, dev: true }
 * ```
 */
export function procOps(target: string, masked: readonly string[] = PROC_MASKED): MountOp[] {
  const at = (name: string) => `${target === "/" ? "" : target}/${name}`;
  return [
    { kind: "proc", target },
    ...["sys", "sysrq-trigger", "irq", "bus", "fs", ...INIT_PROC_FILES.map((f) => `1/${f}`)].map((p): MountOp => ({
      kind: "readonly",
      target: at(p),
      optional: true,
    })),
    ...masked.map((p): MountOp => ({ kind: "bind", source: "/dev/null", target: at(p), readonly: true, dev: true })),
  ];
}

/** Describes one mount op the way the seed's `--verbose` did. */
export function describeMount(op: MountOp): string {
  switch (op.kind) {
    case "bind":
      return `host_path: ${JSON.stringify(op.source)}, container_path: ${JSON.stringify(op.target)}${
        op.readonly ? ", readonly: true" : ""
      }${op.layer ? ", layer: tmpfs" : ""}`;
    case "tmpfs":
      return `host_path: none, container_path: ${
        JSON.stringify(op.target)
      }, fstype: tmpfs, size: ${op.size}, inodes: ${op.inodes}`;
    case "proc":
    case "devpts":
      return `host_path: none, container_path: ${JSON.stringify(op.target)}, fstype: ${op.kind}`;
    case "dir":
      return `dir: ${JSON.stringify(op.target)}, mode: 0o${op.mode.toString(8)}`;
    case "file":
      return `file: ${JSON.stringify(op.target)}, mode: 0o${op.mode.toString(8)}, bytes: ${
        new TextEncoder().encode(op.contents).length
      }`;
    case "symlink":
      return `symlink: ${JSON.stringify(op.target)} -> ${JSON.stringify(op.original)}`;
    case "readonly":
      return `remount: ${JSON.stringify(op.target)}, readonly: true`;
    case "fs":
      return `host_path: none, container_path: ${JSON.stringify(op.target)}, fstype: ${op.fstype}${
        op.options ? `, options: ${op.options}` : ""
      }${op.flags.readonly ? ", readonly: true" : ""}`;
    case "mask":
      return `mask: ${JSON.stringify(op.target)}`;
    case "write":
      return `write: ${JSON.stringify(op.target)}, value: ${JSON.stringify(op.contents)}`;
  }
}

/**
 * What the setup runs under the seccomp filter when `no_new_privs` is left
 * unset (the native core loads the filter first then): the capability
 * drop, the credentials change (musl's set*id block signals around them),
 * the exec, and a failure's report.
 */
const SETUP_AFTER_FILTER = [
  "prctl",
  "capset",
  "setgroups",
  "setresgid",
  "setresuid",
  "rt_sigprocmask",
  "execve",
  "write",
  "exit_group",
] as const;

/** A line of plan building: a missing optional bind at debug level, one that asked for a warning at warning level. */
export type PlanLog = (message: string, level: "debug" | "warning") => void;

function expand(m: ContainerMount, host: HostView, log: PlanLog, tmpfsSize: number): MountOp[] {
  switch (m.kind) {
    case "bind": {
      // The source first: `bindRo("usr")` has a relative source, and its target is only its default.
      if (!m.source.startsWith("/")) {
        throw new UsageError(`bind source: expected an absolute path, got ${JSON.stringify(m.source)}`);
      }
      const target = sandboxPath(m.target, "bind target");
      const source = host.realPath(m.source);
      if (source === null) {
        if (m.optional === "warn") {
          log(
            `bind source ${JSON.stringify(m.source)} (target ${JSON.stringify(m.target)}) does not exist: skipped ` +
              "(a policy mount with optional = true is skipped without this warning)",
            "warning",
          );
          return [];
        }
        if (m.optional) {
          log(`Mount point: host_path: ${JSON.stringify(m.source)} does not exist, skipped`, "debug");
          return [];
        }
        // The native core reports the missing source (exit 125, step open-source).
        return [{ kind: "bind", source: m.source, target, readonly: m.readonly }];
      }
      // An explicit bind of a character device (`-B /dev/null:/mydev/null`) is usable: no nodev on it. Its mount is
      // read-only even for -B: the device is written through it all the same, but its host node cannot be changed.
      const device = host.isCharDevice?.(source) === true;
      return [{
        kind: "bind",
        source,
        target,
        readonly: m.readonly || device,
        ...(device ? { dev: true } : {}),
      }];
    }
    case "tmpfs": {
      const size = m.size ?? tmpfsSize;
      return [{
        kind: "tmpfs",
        target: sandboxPath(m.target, "tmpfs"),
        size,
        inodes: m.inodes ?? tmpfsInodes(size),
        mode: m.mode ?? 0o1777,
      }];
    }
    case "devfs":
      return devfsOps(sandboxPath(m.target, "devfs"));
    case "proc":
      return procOps(
        sandboxPath(m.target, "procfs"),
        PROC_MASKED.filter((p) => host.procHas ? host.procHas(p) : host.realPath(`/proc/${p}`) !== null),
      );
    case "dir":
      return [{ kind: "dir", target: sandboxPath(m.target, "dir"), mode: m.mode ?? 0o700 }];
    case "file":
      return [{ kind: "file", target: sandboxPath(m.target, "file"), contents: m.contents, mode: m.mode ?? 0o644 }];
    case "symlink":
      return [{ kind: "symlink", original: m.original, target: sandboxPath(m.target, "symlink") }];
  }
}

/** A new filesystem or a bind at `/` would hide the root the sandbox is built on. */
function checkNotRoot(ops: MountOp[]) {
  for (const op of ops) {
    if ((op.kind === "bind" || op.kind === "tmpfs") && op.target === "/") {
      throw new UsageError(
        `${op.kind} target: cannot mount over the sandbox's root /${
          op.kind === "bind" ? ": use rootdir for a host directory" : ": the root is already a new tmpfs"
        }`,
        `${op.kind} target`,
      );
    }
  }
}

/** A sandbox path as a key (trailing and doubled slashes, `.` dropped); a relative path stays as given. */
function targetKey(path: string): string {
  if (!path.startsWith("/")) return path;
  return "/" + path.split("/").filter((p) => p !== "" && p !== ".").join("/");
}

/**
 * A later mount on the same target replaces the earlier one (hakoniwa
 * 1.x's rule, so flags can replace a policy's /tmp, /dev or /proc): the
 * earlier is dropped with everything its expansion adds (a devfs's device
 * binds, a procfs's read-only parts).
 *
 * @example
 * ```ts
 * import { replaceSameTarget } from "./plan.ts";
 * const kept = replaceSameTarget([{ kind: "tmpfs", target: "/tmp" }, { kind: "tmpfs", target: "/tmp/", size: 4096 }]);
 * console.log(kept); // [{ kind: "tmpfs", target: "/tmp/", size: 4096 }]
 * ```
 */
export function replaceSameTarget(mounts: readonly ContainerMount[]): ContainerMount[] {
  const last = new Map<string, number>();
  mounts.forEach((m, i) => last.set(targetKey(m.target), i));
  return mounts.filter((m, i) => last.get(targetKey(m.target)) === i);
}

/**
 * The same rule on the expanded operations: an explicit mount on a path
 * that an earlier expansion filled (`-B /dev/null:/dev/null` over a
 * devfs's) replaces that op. Read-only remounts stay: they apply to what
 * is there when they run.
 */
function dropReplacedOps(ops: MountOp[]): MountOp[] {
  const last = new Map<string, number>();
  ops.forEach((op, i) => {
    if (op.kind !== "readonly") last.set(op.target, i);
  });
  return ops.filter((op, i) => op.kind === "readonly" || last.get(op.target) === i);
}

/**
 * The mount operations of a container, in the order they are made (a
 * mount before what lies beneath it: src/plan/mount_order.ts), with a tmpfs
 * layer on each read-only bind the plan makes something in, and whether a
 * read-only rootdir needs one (src/plan/root_layer.ts). An optional bind
 * whose target the read-only rootdir lacks is skipped when nothing else
 * needs the rootdir's layer (say the KISS policy's /lib64 in a rootdir of
 * another layout, which has every other mount point); when the layer is
 * there anyway (a rootdir without /bin, /proc, /tmp...), it gets its mount
 * point there, as every other bind does.
 */
function planMounts(
  settings: ContainerSettings,
  host: HostView,
  log: PlanLog,
): { mounts: MountOp[]; rootLayer: boolean } {
  const roRoot = settings.rootdir && !settings.rootdir.rw ? host.realPath(settings.rootdir.path) : null;
  const tmpfsSize = settings.tmpfsSize ?? DEFAULT_TMPFS_SIZE;
  const skippable = (m: ContainerMount) =>
    roRoot !== null && m.kind === "bind" && m.optional === true && m.target.startsWith("/") &&
    host.realPath(`${roRoot.replace(/\/$/, "")}${m.target}`) === null;
  const ordered = parentsFirst(replaceSameTarget(settings.mounts));
  const expanded = ordered.map((m) => {
    const lines: Parameters<PlanLog>[] = [];
    const ops = expand(m, host, skippable(m) ? (...l) => lines.push(l) : log, tmpfsSize);
    return { m, ops, lines };
  });
  const build = (keep: (m: ContainerMount) => boolean) =>
    dropReplacedOps(expanded.flatMap((e) => (keep(e.m) ? e.ops : [])));
  let mounts = build((m) => !skippable(m));
  const keepAll = roRoot === null || layersNeeded(roRoot, mounts, host).root;
  if (keepAll) mounts = build(() => true);
  for (const e of expanded.filter((e) => skippable(e.m))) {
    if (keepAll) { for (const l of e.lines) log(...l); }
    else {
      log(
        `Mount point: container_path: ${JSON.stringify(e.m.target)} is not in the read-only rootdir, skipped`,
        "debug",
      );
    }
  }
  checkNotRoot(mounts);
  const layers = layersNeeded(roRoot, mounts, host);
  return {
    mounts: mounts.map((op, i) => (layers.binds.has(i) && op.kind === "bind" ? { ...op, layer: true } : op)),
    rootLayer: layers.root,
  };
}

/**
 * The id map of a sandbox without explicit maps: the id inside stands for
 * the caller's own id. For a root caller asking for another id inside,
 * that id stands for the same id on the host (and 0 for 0, which sets the
 * sandbox up), so `--user nobody` is nobody on the host, never root.
 *
 * @example
 * ```ts
 * import { defaultIdMap } from "./plan.ts";
 * console.log(defaultIdMap(65534, 0, 0)); // [{ container: 0, host: 0, count: 1 }, { container: 65534, host: 65534, count: 1 }]
 * console.log(defaultIdMap(0, 1000, 1000)); // [{ container: 0, host: 1000, count: 1 }]
 * ```
 */
export function defaultIdMap(inside: number, own: number, callerUid: number): IdMapEntry[] {
  if (callerUid !== 0 || own !== 0 || inside === 0) return singleIdMap(inside, own);
  return [...singleIdMap(0, 0), { container: inside, host: inside, count: 1 }];
}

/**
 * Builds the plan of running `command` in a container with `settings`.
 * Pure except for `host.realPath`; throws {@link UsageError} for settings
 * that cannot work.
 *
 * @example
 * ```ts ignore
 * const plan = buildPlan(new Container().bindRo("/usr").settings, { program: "ls", args: ["/"] }, host);
 * ```
 */
export function buildPlan(
  settings: ContainerSettings,
  command: CommandSpec,
  host: HostView,
  log: PlanLog = () => {},
): Plan {
  const namespaces = ALL_NAMESPACES.filter((ns) => REQUIRED_NAMESPACES.includes(ns) || settings.unshare.has(ns));
  const { mounts, rootLayer } = planMounts(settings, host, log);
  // With explicit maps and no id asked for: the id that stands for the caller, else the first mapped one.
  const insideOf = (maps: IdMapEntry[], id: number) => {
    const m = maps.find((e) => id >= e.host && id < e.host + e.count);
    return m ? m.container + (id - m.host) : maps[0].container;
  };
  const uid = settings.uid ?? (settings.uidMaps.length ? insideOf(settings.uidMaps, host.uid) : host.uid);
  const gid = settings.gid ?? (settings.gidMaps.length ? insideOf(settings.gidMaps, host.gid) : host.gid);
  const uidMap = settings.uidMaps.length ? settings.uidMaps : defaultIdMap(uid, host.uid, host.uid);
  let gidMap = settings.gidMaps.length ? settings.gidMaps : defaultIdMap(gid, host.gid, host.uid);
  if (!settings.gidMaps.length && host.uid === 0 && host.gid === 0) {
    // As for the gid: for a root caller, a supplementary group inside is the same group on the host.
    for (const g of settings.groups ?? []) {
      if (!mapsInside(gidMap, g)) gidMap = [...gidMap, { container: g, host: g, count: 1 }];
    }
  }
  // The sandbox is set up with the caller's own ids: they must stand for some id inside.
  for (const [kind, map, own] of [["uid", uidMap, host.uid], ["gid", gidMap, host.gid]] as const) {
    if (!map.some((e) => own >= e.host && own < e.host + e.count)) {
      throw new UsageError(
        `${kind}Map: the ${kind} map must map your own ${kind} ${own} (the sandbox is set up with it): ` +
          `add ${kind}Map(ID, ${own})`,
        `${kind}Map`,
      );
    }
  }
  if (!mapsInside(uidMap, uid)) throw new UsageError(`uid ${uid} is not in the uid map`, "uid");
  if (!mapsInside(gidMap, gid)) throw new UsageError(`gid ${gid} is not in the gid map`, "gid");
  const groups = planGroups(
    settings.groups,
    settings.groupsOptional ?? false,
    { uid: host.uid, gid: host.gid, setgroups: host.setgroups, gidMap, inside: gid },
    (m) => log(m, "warning"),
  );
  const seccomp = settings.seccomp ?? unconfinedProfile();
  const allowNewPrivs = settings.allowNewPrivs ?? false;
  const refused = allowNewPrivs ? refusedSyscalls(seccomp, SETUP_AFTER_FILTER) : [];
  if (refused.length) {
    throw new UsageError(
      `allowNewPrivs: the seccomp profile ${JSON.stringify(seccomp.name)} may refuse ${refused.join(", ")}, ` +
        "which the setup calls under the filter when no_new_privs is left unset (the filter is loaded before " +
        "the credentials change): allow them in the profile, or keep no_new_privs",
      "allowNewPrivs",
    );
  }
  const env = new Map(settings.env);
  for (const [k, v] of Object.entries(command.env ?? {})) env.set(k, v);
  if (!command.program) throw new UsageError("no command to run");
  const network: Plan["network"] = !namespaces.includes("network")
    ? { mode: "host", options: [] }
    : settings.network?.mode === "pasta"
    ? { mode: "pasta", options: [...settings.network.options] }
    : { mode: "none", options: [] };
  const allowNet = planAllowNet(settings, namespaces, mounts, env);
  let root: Plan["root"] = { source: null, readonly: true };
  if (settings.rootdir) {
    const source = host.realPath(settings.rootdir.path);
    if (source === null) throw new UsageError(`rootdir ${JSON.stringify(settings.rootdir.path)} does not exist`);
    if (host.isDirectory && !host.isDirectory(source)) {
      throw new UsageError(`rootdir ${JSON.stringify(settings.rootdir.path)} is not a directory`, "rootdir");
    }
    root = { source, readonly: !settings.rootdir.rw, layer: rootLayer };
  }
  const resolvConf = pastaResolvConf(network, mounts, root, host);
  if (resolvConf) mounts.push(resolvConf);
  // What the network adds (a resolv.conf, the proxy's socket) may need the layer too.
  if (root.source !== null && root.readonly && !root.layer && (resolvConf || allowNet)) {
    root.layer = needsLayer(root.source, allowNet ? [...mounts, socketMountPoint(allowNet)] : mounts, host);
  }
  return {
    namespaces,
    root,
    mounts,
    uidMap,
    gidMap,
    uid,
    gid,
    groups,
    allowNewPrivs,
    hostname: settings.hostname,
    rlimits: [...settings.rlimits].map(([name, value]) => ({ name, value })),
    walltime: settings.walltime,
    env: [...env],
    program: command.program,
    argv: [command.program, ...command.args],
    searchPath: env.get("PATH") ?? DEFAULT_SEARCH_PATH,
    cwd: sandboxPath(command.cwd ?? settings.workdir ?? "/", "cwd"),
    loopback: namespaces.includes("network"),
    keyring: true,
    landlock: withBridgePort(settings.landlock ? resolveLandlock(settings.landlock) : null, allowNet),
    network,
    ...(allowNet ? { allowNet } : {}),
    seccomp,
    cgroup: planCgroup(settings, host),
  };
}

/**
 * The sandbox's cgroup limits, or null for none. Host uid 0 is exempt from RLIMIT_NPROC: for root, an nproc limit
 * is also the cgroup's process limit, unless one is given.
 */
function planCgroup(settings: ContainerSettings, host: HostView): CgroupLimits | null {
  const cg: CgroupLimits = { ...settings.cgroup };
  const nproc = settings.rlimits.get("nproc");
  if (nproc !== undefined && host.uid === 0 && cg.pids === undefined) cg.pids = nproc;
  const { parent: _parent, ...limits } = cg;
  return Object.keys(limits).length ? cg : null;
}

/**
 * A host view of the calling process, for {@link buildPlan}.
 */
export function currentHost(): HostView {
  const uid = Deno.uid() ?? 0;
  return {
    uid,
    gid: Deno.gid() ?? 0,
    ...(uid === 0 ? { setgroups: rootMaySetgroups() } : {}),
    realPath(path: string) {
      try {
        return Deno.realPathSync(path);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return null;
        throw e;
      }
    },
    isDirectory(path: string) {
      try {
        return Deno.statSync(path).isDirectory;
      } catch {
        return false;
      }
    },
    isCharDevice(path: string) {
      try {
        return Deno.statSync(path).isCharDevice === true;
      } catch {
        return false;
      }
    },
    isSymlink(path: string) {
      try {
        return Deno.lstatSync(path).isSymlink;
      } catch {
        return false;
      }
    },
    // Deno's permissions let only --allow-all look into /proc; without it, assume a kernel with keyrings (the
    // norm: a kernel without them then fails the mount with a clear error rather than leave keys visible). One
    // lstat a name: listing /proc makes an entry per process of the host.
    procHas(name: string) {
      try {
        Deno.lstatSync(`/proc/${name}`);
        return true;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return false;
        if (e instanceof Deno.errors.NotCapable) return true;
        throw e;
      }
    },
  };
}

/** Whether a root caller's own namespace allows setgroups (not when it runs in a namespace that denies it). */
function rootMaySetgroups(): boolean {
  try {
    return Deno.readTextFileSync("/proc/self/setgroups").trim() === "allow";
  } catch {
    return true; // no such file: no user namespace feature to deny it
  }
}
