/**
 * config.json's filesystem as mount operations, in runc's order: the mounts as listed, the devices (bound from the
 * host's nodes), /dev's links, sysctls, read-only paths, masked paths.
 *
 * @module
 */
import type { MountFlags, MountOp } from "../plan/types.ts";
import { type OciConfig, OciConfigError, type OciDevice, type OciMount } from "./config.ts";
import { sandboxPath } from "../plan/paths.ts";

/** What building the mounts may know of the host. */
export interface OciHost {
  /** Resolves a host path (following symlinks), or null when it does not exist. */
  realPath(path: string): string | null;
  /** A host path's device type and numbers, or null when it is not a device node. */
  device(path: string): { type: "c" | "b"; major: number; minor: number } | null;
  /** Whether /sys/fs/cgroup is cgroup v2 alone. */
  cgroup2: boolean;
  /** Says what is not applied as asked. */
  warn(message: string): void;
}

/** The devices every container has (runc's defaults). */
export const DEFAULT_DEVICES: readonly OciDevice[] = [
  { path: "/dev/null", type: "c", major: 1, minor: 3 },
  { path: "/dev/zero", type: "c", major: 1, minor: 5 },
  { path: "/dev/full", type: "c", major: 1, minor: 7 },
  { path: "/dev/random", type: "c", major: 1, minor: 8 },
  { path: "/dev/urandom", type: "c", major: 1, minor: 9 },
  { path: "/dev/tty", type: "c", major: 5, minor: 0 },
];

/** Options that set a flag (value true) or clear it (false). */
const FLAG_OPTIONS: Record<string, [keyof MountFlags, boolean]> = {
  ro: ["readonly", true],
  rw: ["readonly", false],
  nosuid: ["nosuid", true],
  suid: ["nosuid", false],
  nodev: ["nodev", true],
  dev: ["nodev", false],
  noexec: ["noexec", true],
  exec: ["noexec", false],
};

/** Options accepted and not applied: access-time updates (docs/oci.md); the root is private whatever they say. */
const IGNORED = new Set([
  "strictatime",
  "nostrictatime",
  "relatime",
  "norelatime",
  "noatime",
  "atime",
  "nodiratime",
  "diratime",
  "lazytime",
  "nolazytime",
  "private",
  "rprivate",
  "defaults",
]);

const REFUSED = new Set([
  "shared",
  "rshared",
  "slave",
  "rslave",
  "unbindable",
  "runbindable",
  "sync",
  "dirsync",
  "mand",
  "remount",
  "tmpcopyup",
  "idmap",
  "ridmap",
]);

/** Splits a mount's options into its flags, whether it is a bind, and the filesystem's own options. */
function parseOptions(m: OciMount, key: string): { flags: MountFlags; bind: boolean; data: string[] } {
  const flags: MountFlags = { readonly: false, nosuid: false, nodev: false, noexec: false };
  let bind = m.type === "bind";
  const data: string[] = [];
  for (const o of m.options) {
    if (o === "bind" || o === "rbind") bind = true;
    else if (FLAG_OPTIONS[o]) flags[FLAG_OPTIONS[o][0]] = FLAG_OPTIONS[o][1];
    else if (REFUSED.has(o)) throw new OciConfigError(`${key}.options`, `${o}: not supported`);
    else if (!IGNORED.has(o)) data.push(o);
  }
  return { flags, bind, data };
}

const FS_TYPES = new Set(["proc", "tmpfs", "sysfs", "devpts", "mqueue", "cgroup2"]);

function mountOps(m: OciMount, i: number, bundle: string, host: OciHost): MountOp[] {
  const key = `mounts[${i}]`;
  const target = sandboxPath(m.destination, `${key}.destination`);
  const { flags, bind, data } = parseOptions(m, key);
  if (bind) {
    if (data.length) throw new OciConfigError(`${key}.options`, `${data.join(",")}: not a bind mount's option`);
    const source = host.realPath(m.source.startsWith("/") ? m.source : `${bundle}/${m.source}`);
    if (source === null) throw new OciConfigError(`${key}.source`, `${m.source}: no such file or directory`);
    return [{ kind: "bind", source, target, readonly: flags.readonly, flags }];
  }
  if (m.type === "cgroup") {
    if (host.cgroup2) return [{ kind: "fs", fstype: "cgroup2", target, options: "", flags }];
    // cgroup v1 (or hybrid): the container gets no cgroup tree of its own; an empty read-only tmpfs stands there.
    host.warn(`${key}: ${target}: cgroup v1 hierarchies are not mounted in the container (an empty tmpfs is)`);
    return [{ kind: "fs", fstype: "tmpfs", target, options: "size=4k,mode=755", flags: { ...flags, readonly: true } }];
  }
  if (!FS_TYPES.has(m.type)) throw new OciConfigError(`${key}.type`, `${JSON.stringify(m.type)}: not supported`);
  return [{ kind: "fs", fstype: m.type, target, options: data.join(","), flags }];
}

/** A device, bound from the host's node of the same path, which must have the same type and numbers. */
function deviceOp(d: OciDevice, key: string, host: OciHost): MountOp {
  const target = sandboxPath(d.path, `${key}.path`);
  const found = host.device(d.path);
  const type = d.type === "u" ? "c" : d.type;
  if (!found || found.type !== type || found.major !== d.major || found.minor !== d.minor) {
    throw new OciConfigError(
      key,
      `${d.path} (${d.type} ${d.major}:${d.minor}): devices are bound from the host's node of the same path, ` +
        `which ${found ? `is ${found.type} ${found.major}:${found.minor}` : "does not exist"}`,
    );
  }
  return {
    kind: "bind",
    source: d.path,
    target,
    readonly: false,
    flags: { readonly: false, nosuid: true, nodev: false, noexec: true },
  };
}

/**
 * The mount operations of a config, after the root: mounts, devices, /dev's links, sysctls, read-only and masked
 * paths.
 *
 * @example
 * ```ts ignore
 * const ops = ociMounts(config, "/bundle", host);
 * ```
 */
export function ociMounts(config: OciConfig, bundle: string, host: OciHost): MountOp[] {
  const ops = config.mounts.flatMap((m, i) => mountOps(m, i, bundle, host));
  const mounted = new Set(config.mounts.map((m) => sandboxPath(m.destination, "mount")));
  const listed = new Set(config.linux.devices.map((d) => d.path));
  const devices = [...config.linux.devices, ...DEFAULT_DEVICES.filter((d) => !listed.has(d.path))];
  ops.push(...devices.map((d, i) => deviceOp(d, `linux.devices[${i}]`, host)));
  if (mounted.has("/dev")) {
    const links: [string, string][] = [
      ["/proc/self/fd", "/dev/fd"],
      ["/proc/self/fd/0", "/dev/stdin"],
      ["/proc/self/fd/1", "/dev/stdout"],
      ["/proc/self/fd/2", "/dev/stderr"],
    ];
    if (mounted.has("/dev/pts")) links.push(["pts/ptmx", "/dev/ptmx"]);
    ops.push(...links.map(([original, target]): MountOp => ({ kind: "symlink", original, target })));
  }
  for (const [name, value] of Object.entries(config.linux.sysctl)) {
    if (!/^[a-z0-9_.-]+$/i.test(name) || name.includes("..")) {
      throw new OciConfigError(`linux.sysctl.${name}`, "not a sysctl name");
    }
    ops.push({ kind: "write", target: `/proc/sys/${name.replaceAll(".", "/")}`, contents: value });
  }
  for (const [i, p] of config.linux.readonlyPaths.entries()) {
    ops.push({ kind: "readonly", target: sandboxPath(p, `linux.readonlyPaths[${i}]`), optional: true });
  }
  for (const [i, p] of config.linux.maskedPaths.entries()) {
    ops.push({ kind: "mask", target: sandboxPath(p, `linux.maskedPaths[${i}]`) });
  }
  return ops;
}
