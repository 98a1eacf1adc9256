/**
 * The flags of `run` and `explain` as ONE table ({@link SANDBOX_FLAGS},
 * {@link RUN_FLAGS}, {@link EXPLAIN_FLAGS}), their value parsers, and how
 * they apply to a {@link Container} built from a policy. The parser
 * (`src/cli/args.ts`), the help text and the completion scripts
 * (`src/cli/completion.ts`) are all generated from the table. Flags that add
 * things (mounts, environment, namespaces, id map ranges) apply in
 * command-line order; the policy is the base and flags add to it or override
 * single values.
 *
 * To add a flag: add a {@link FlagSpec} to the table (with `order` when its
 * place among other flags matters), then apply its value in
 * {@link applyFlags}.
 *
 * @module
 */
import type { Container, ContainerMount } from "../container.ts";
import { UsageError } from "../common/errors.ts";
import { MAX_TMPFS_SIZE, parseSize } from "../plan/plan.ts";
import type { Namespace } from "../plan/namespace.ts";
import { RLIMIT_NAMES } from "../plan/rlimit.ts";
import { applyIsolation } from "./isolation_flags.ts";
import { resolveSeccomp } from "../seccomp/oci.ts";
import { applyIdFlags, ID_FLAGS } from "./user_flags.ts";
import type { FlagSpec, FlagState, SandboxFlags } from "./flag_types.ts";
export { type FlagSpec, type FlagState, newFlagState, type SandboxFlags } from "./flag_types.ts";

/**
 * A whole number parser for `flag`.
 *
 * @example
 * ```ts
 * import { wholeNumber } from "./flags.ts";
 * console.log(wholeNumber("--limit-cpu")("5")); // 5
 * ```
 */
export function wholeNumber(flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min || Number(value) > max) {
      const range = max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min ? ` of at least ${min}` : "";
      throw new UsageError(`${flag}: expected a whole number${range}, got "${value}"`, flag);
    }
    return Number(value);
  };
}

/**
 * Splits on `:`; a backslash escapes a `:` or a `\`.
 *
 * @example
 * ```ts
 * import { splitColons } from "./flags.ts";
 * console.log(splitColons("a\\:b:c")); // ["a:b", "c"]
 * ```
 */
export function splitColons(value: string): string[] {
  const parts: string[] = [""];
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === "\\" && i + 1 < value.length) parts[parts.length - 1] += value[++i];
    else if (ch === ":") parts.push("");
    else parts[parts.length - 1] += ch;
  }
  return parts;
}

/**
 * `SRC[:DST]`; a backslash escapes a `:` or a `\` inside a path.
 *
 * @example
 * ```ts
 * import { parseBind } from "./flags.ts";
 * console.log(parseBind("--ro-bind")("/a:/b")); // { source: "/a", target: "/b" }
 * ```
 */
export function parseBind(flag: string): (value: string) => { source: string; target: string } {
  return (value: string): { source: string; target: string } => {
    const parts = splitColons(value);
    if (parts.length > 2 || !parts[0] || parts[1] === "") {
      throw new UsageError(`${flag}: expected SRC[:DST], got "${value}"`, flag);
    }
    return { source: parts[0], target: parts[1] ?? parts[0] };
  };
}

export { idOrMap, parseIdMap } from "./user_flags.ts";
export { applyIsolation } from "./isolation_flags.ts";

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

/**
 * A tmpfs size parser for `flag`: bytes, or a number with K, M or G.
 *
 * @example
 * ```ts
 * import { sizeArg } from "./flags.ts";
 * console.log(sizeArg("--tmpfs-size")("16M")); // 16777216
 * ```
 */
export function sizeArg(flag: string): (value: string) => number {
  return (value: string): number => {
    const n = parseSize(value);
    if (n === null || n < 1 || n > MAX_TMPFS_SIZE) {
      throw new UsageError(`${flag}: expected a size from 1 byte to 1T (bytes, or with K, M, G), got "${value}"`, flag);
    }
    return n;
  };
}

/**
 * The value of `-w/--work-dir/--workdir`: a host directory to bind and run
 * in (relative to the caller's directory), or `:PATH`, a sandbox path to
 * run in without binding anything (1.x's form).
 *
 * @example
 * ```ts
 * import { parseWorkdir } from "./flags.ts";
 * console.log(parseWorkdir("--workdir")(":/srv")); // { chdir: "/srv" }
 * console.log(parseWorkdir("--workdir")("/src/app/")); // { bind: "/src/app" }
 * ```
 */
export function parseWorkdir(flag: string): (value: string) => { bind: string } | { chdir: string } {
  return (value) => {
    if (value.startsWith(":")) return { chdir: target(value.slice(1), flag) };
    if (!value) throw new UsageError(`${flag}: expected DIR or :PATH, got ""`, flag);
    const parts = absolute(value).split("/").filter((p) => p !== "" && p !== ".");
    if (parts.includes("..")) throw new UsageError(`${flag}: '..' is not allowed in "${value}"`, flag);
    return { bind: "/" + parts.join("/") };
  };
}

function target(path: string, flag: string): string {
  if (!path.startsWith("/")) throw new UsageError(`${flag}: expected an absolute path, got "${path}"`, flag);
  return path;
}

/** The rlimits that are sizes: they take K, M and G suffixes. */
const BYTE_LIMITS: readonly string[] = ["as", "core", "fsize"];

/** A size in bytes with an optional K, M or G suffix (1024-based), at least `min`. */
function byteLimit(flag: string, min = 0): (value: string) => number {
  return (value: string): number => {
    const n = parseSize(value);
    if (n === null || n < min) {
      const floor = min ? ` of at least ${min} bytes` : "";
      throw new UsageError(`${flag}: expected a size${floor} (bytes, or with K, M, G), got "${value}"`, flag);
    }
    return n;
  };
}

const LIMIT_WHAT: Record<string, string> = {
  as: "address space, bytes",
  core: "core file size, bytes",
  cpu: "cpu time, seconds",
  fsize: "file size, bytes",
  nofile: "open files",
  nproc: "processes",
};

const mount = (state: FlagState, m: unknown) => state.mounts.push(m as ContainerMount);

function bindFlag(name: string, short: string | undefined, readonly: boolean, brief: string): FlagSpec {
  return {
    name,
    short,
    value: "SRC[:DST]",
    brief,
    repeat: true,
    files: true,
    parse: (v): ContainerMount => {
      const flag = `--${name}`;
      const b = parseBind(flag)(v);
      // A relative SRC is the caller's path; DST is a sandbox path, which has no working directory to be relative to.
      const source = absolute(b.source);
      const dst = b.target === b.source ? source : target(b.target, flag);
      if (dst.replace(/\/+$/, "") === "") {
        throw new UsageError(`${flag}: cannot bind onto the sandbox's root /: use --rootdir ${b.source}`, flag);
      }
      return { kind: "bind", source, target: dst, readonly };
    },
    order: mount,
  };
}

function namespaceFlag(name: string, op: "share" | "unshare", brief: string, ...which: Namespace[]): FlagSpec {
  return {
    name,
    brief,
    order: (state, on) => {
      if (on) { for (const n of which) state.namespaces.push([op, n]); }
    },
  };
}

/**
 * Every flag that shapes a sandbox (`run` and `explain`), in help order.
 *
 * @example
 * ```ts
 * import { SANDBOX_FLAGS } from "./flags.ts";
 * console.log(SANDBOX_FLAGS.some((f) => f.name === "ro-bind")); // true
 * ```
 */
export const SANDBOX_FLAGS: readonly FlagSpec[] = [
  {
    name: "policy-file",
    value: "FILE",
    files: true,
    brief: "use a policy file instead of the embedded KISS-policy.toml",
  },
  {
    name: "config",
    short: "c",
    value: "FILE",
    files: true,
    brief: "run a hakoniwa 1.x config file on 1.x's defaults (no KISS policy underneath); flags apply on top",
  },
  bindFlag("ro-bind", undefined, true, "bind a host path read-only (repeatable)"),
  bindFlag("bindmount-ro", "b", true, "same as --ro-bind"),
  bindFlag("rw-bind", undefined, false, "bind a host path read-write (repeatable)"),
  bindFlag("bindmount-rw", "B", false, "same as --rw-bind"),
  {
    name: "tmpfs",
    value: "DIR[:SIZE]",
    files: true,
    repeat: true,
    brief: "mount a new tmpfs at DIR, of SIZE bytes (K, M, G; repeatable)",
    parse: (v): ContainerMount => {
      const parts = splitColons(v);
      if (parts.length > 2 || !parts[0]) throw new UsageError(`--tmpfs: expected DIR[:SIZE], got "${v}"`, "--tmpfs");
      const dir = target(parts[0], "--tmpfs");
      if (dir.replace(/\/+$/, "") === "") {
        throw new UsageError(
          `--tmpfs: cannot mount over the sandbox's root /: the root is already a new tmpfs`,
          "--tmpfs",
        );
      }
      return { kind: "tmpfs", target: dir, size: parts[1] === undefined ? undefined : sizeArg("--tmpfs")(parts[1]) };
    },
    order: mount,
  },
  {
    name: "tmpfs-size",
    value: "SIZE",
    brief: "size of every tmpfs that gives none (default 128M)",
    parse: sizeArg("--tmpfs-size"),
  },
  {
    name: "devfs",
    value: "DIR",
    files: true,
    repeat: true,
    brief: "mount a minimal /dev at DIR (repeatable)",
    parse: (v): ContainerMount => ({ kind: "devfs", target: target(v, "--devfs") }),
    order: mount,
  },
  {
    name: "dir",
    value: "DIR[:MODE]",
    files: true,
    repeat: true,
    brief: "create a directory, MODE in octal (default 700, as 1.x; repeatable)",
    parse: (v): ContainerMount => {
      const [dir, mode, extra] = v.split(":");
      if (extra !== undefined || (mode !== undefined && !/^[0-7]{1,4}$/.test(mode))) {
        throw new UsageError(`--dir: expected DIR[:MODE] with an octal MODE, got "${v}"`, "--dir");
      }
      if (mode !== undefined && parseInt(mode, 8) & 0o6000) {
        throw new UsageError(`--dir: set-uid and set-gid bits are not allowed in MODE, got "${v}"`, "--dir");
      }
      return { kind: "dir", target: target(dir, "--dir"), mode: mode === undefined ? 0o700 : parseInt(mode, 8) };
    },
    order: mount,
  },
  {
    name: "symlink",
    value: "ORIGINAL:LINK",
    files: true,
    repeat: true,
    brief: "create a symlink LINK pointing to ORIGINAL (repeatable)",
    parse: (v): ContainerMount => {
      const parts = splitColons(v);
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw new UsageError(`--symlink: expected ORIGINAL:LINK, got "${v}"`, "--symlink");
      }
      return { kind: "symlink", original: parts[0], target: target(parts[1], "--symlink") };
    },
    order: mount,
  },
  {
    name: "rootdir",
    value: "DIR[:rw]",
    files: true,
    brief: "use a host directory as the root (read-only unless :rw)",
    parse: (v) => {
      const m = /^(.+?)(:rw|:ro)?$/.exec(v);
      if (!m) throw new UsageError(`--rootdir: expected DIR[:rw], got "${v}"`, "--rootdir");
      const path = absolute(m[1]);
      let isDir = true; // a missing DIR is reported by plan building
      try {
        isDir = Deno.statSync(path).isDirectory;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) {
          throw new UsageError(`--rootdir: cannot use ${path}: ${e instanceof Error ? e.message : e}`, "--rootdir");
        }
      }
      if (!isDir) throw new UsageError(`--rootdir: ${path} is not a directory`, "--rootdir");
      return { path, rw: m[2] === ":rw" };
    },
  },
  {
    name: "rootfs",
    value: "DIR|none",
    files: true,
    brief: "replace the policy's binds: bind DIR's bin, etc, lib*, sbin, usr read-only (a symlink stays one), or none",
    // A relative DIR is the caller's path.
    parse: (v) => {
      if (!v) throw new UsageError(`--rootfs: expected a directory or none, got ""`, "--rootfs");
      return v === "none" ? v : absolute(v);
    },
  },
  {
    name: "work-dir",
    short: "w",
    value: "DIR|:PATH",
    files: true,
    brief:
      "bind DIR read-write (unless another flag mounts something there) and run the command in it; :PATH only runs in PATH",
    parse: parseWorkdir("--work-dir"),
  },
  {
    name: "workdir",
    value: "DIR|:PATH",
    files: true,
    brief: "same as --work-dir (1.x's name)",
    parse: parseWorkdir("--workdir"),
  },
  {
    name: "chdir",
    value: "DIR",
    brief: "run the command in DIR, a path inside the sandbox (nothing is bound)",
    parse: (v) => target(v, "--chdir"),
  },
  {
    name: "setenv",
    short: "e",
    value: "NAME=VALUE|NAME",
    repeat: true,
    brief: "set an environment variable, or pass the host's NAME (empty when unset; repeatable)",
    parse: (v): [string, string] => {
      const eq = v.indexOf("=");
      if (eq === 0 || !v || v.includes("\0")) {
        throw new UsageError(`--setenv: expected NAME=VALUE or NAME, got "${v}"`, "--setenv");
      }
      if (eq > 0) return [v.slice(0, eq), v.slice(eq + 1)];
      // The host's value; an unset variable is set empty, as 1.x does.
      return [v, Deno.env.get(v) ?? ""];
    },
    order: (state, kv) => state.env.push(kv as [string, string]),
  },
  { name: "hostname", value: "NAME", brief: "hostname inside (default: hakoniwa)" },
  namespaceFlag("share-net", "share", "share the host's network namespace", "network"),
  namespaceFlag("share-uts", "share", "share the host's uts namespace (hostname)", "uts"),
  namespaceFlag(
    "unshare-all",
    "unshare",
    "new cgroup, ipc, network and uts namespaces",
    "cgroup",
    "ipc",
    "network",
    "uts",
  ),
  namespaceFlag("unshare-cgroup", "unshare", "new cgroup namespace", "cgroup"),
  namespaceFlag("unshare-ipc", "unshare", "new ipc namespace", "ipc"),
  namespaceFlag("unshare-network", "unshare", "new network namespace", "network"),
  namespaceFlag("unshare-uts", "unshare", "new uts namespace", "uts"),
  ...ID_FLAGS,
  ...RLIMIT_NAMES.map((name): FlagSpec => ({
    name: `limit-${name}`,
    value: BYTE_LIMITS.includes(name) ? "SIZE" : "N",
    brief: `limit ${LIMIT_WHAT[name]}`,
    parse: BYTE_LIMITS.includes(name) ? byteLimit(`--limit-${name}`) : wholeNumber(`--limit-${name}`),
  })),
  {
    name: "limit-memory",
    value: "SIZE",
    brief: "limit the whole sandbox's memory, swap counted (its cgroup; status MLE)",
    parse: byteLimit("--limit-memory", 1 << 20),
  },
  {
    name: "limit-cpus",
    value: "N",
    brief: "limit the whole sandbox's CPU bandwidth to N CPUs, e.g. 0.5 (its cgroup)",
    parse: (v: string) => {
      const n = Number(v);
      if (!/^\d*\.?\d+$/.test(v) || !(n >= 0.01 && n <= 1024)) {
        throw new UsageError(`--limit-cpus: expected a number of CPUs from 0.01 to 1024, got "${v}"`, "--limit-cpus");
      }
      return n;
    },
  },
  {
    name: "limit-pids",
    value: "N",
    brief: "limit the whole sandbox's processes (its cgroup)",
    parse: wholeNumber("--limit-pids", 1, 4_194_304),
  },
  {
    name: "cgroup-parent",
    value: "PATH",
    brief: "make the sandbox's cgroup beneath this cgroup path (default: the caller's; HAKONIWA_CGROUP_PARENT)",
  },
  {
    name: "limit-walltime",
    value: "SECS",
    brief: "kill the sandbox after SECS seconds",
    parse: wholeNumber("--limit-walltime", 1, 31_536_000),
  },
  { name: "network", value: "MODE", brief: "none (default: new namespace, lo up), host, or pasta[:OPT,OPT...]" },
  {
    name: "allow-net",
    value: "HOST[:PORT][,...]",
    repeat: true,
    brief: "only these hosts, through a proxy (*.NAME: subdomains)",
  },
  {
    name: "landlock-restrict",
    value: "LIST",
    repeat: true,
    brief: "restrict fs,tcp.bind,tcp.connect,scope.abstract-unix-socket,scope.signal",
  },
  {
    name: "landlock-fs-ro",
    value: "PATH[,PATH...]",
    repeat: true,
    brief: "allow reading beneath PATH (paths separated by , or :; implies fs)",
  },
  {
    name: "landlock-fs-rw",
    value: "PATH[,PATH...]",
    repeat: true,
    brief: "allow reading and writing beneath PATH (paths separated by , or :; implies fs)",
  },
  {
    name: "landlock-fs-rx",
    value: "PATH[,PATH...]",
    repeat: true,
    brief: "allow reading and executing beneath PATH (paths separated by , or :; implies fs)",
  },
  {
    name: "landlock-tcp-bind",
    value: "PORT[,PORT...]",
    repeat: true,
    brief: "allow binding TCP PORT (implies tcp.bind)",
  },
  {
    name: "landlock-tcp-connect",
    value: "PORT[,PORT...]",
    repeat: true,
    brief: "allow connecting to TCP PORT (implies tcp.connect)",
  },
  {
    name: "landlock-best-effort",
    brief: "run with what the kernel's Landlock can enforce (logged) instead of failing",
  },
  { name: "landlock-abi", value: "N", brief: "use at most Landlock ABI N, as an older kernel would offer" },
  {
    name: "allow-new-privs",
    brief: "leave no_new_privs unset (NoNewPrivs: 0); mounts stay nosuid, no capabilities, filters still apply",
  },
  {
    name: "seccomp",
    value: "PROFILE",
    brief:
      "seccomp profile: default (alias podman), strict (default + no new namespaces), audit (allow and log every syscall), unconfined, or an OCI JSON file",
  },
];

/**
 * The flags of `run`: the sandbox's, then the report and the verbosity.
 *
 * @example
 * ```ts
 * import { RUN_FLAGS } from "./flags.ts";
 * console.log(RUN_FLAGS.find((f) => f.short === "v")?.name); // "verbose"
 * ```
 */
export const RUN_FLAGS: readonly FlagSpec[] = [
  ...SANDBOX_FLAGS,
  { name: "report-file", value: "FILE", files: true, brief: "write the result as JSON to FILE (- for stdout)" },
  {
    name: "verbose",
    short: "v",
    count: true,
    brief: "log the plan and the result; twice (-vv) for debug lines (also before run: hakoniwa -v run)",
  },
  {
    name: "quiet",
    short: "q",
    brief: "no warnings, and no line saying which limit or signal ended the command (also before run)",
  },
];

/**
 * The flags of `explain`: the output format, then the sandbox's.
 *
 * @example
 * ```ts
 * import { EXPLAIN_FLAGS } from "./flags.ts";
 * console.log(EXPLAIN_FLAGS[0].name); // "json"
 * ```
 */
export const EXPLAIN_FLAGS: readonly FlagSpec[] = [
  { name: "json", brief: "print the plan as JSON" },
  ...SANDBOX_FLAGS,
];

/**
 * The key of a flag in {@link SandboxFlags}: its long name in camelCase.
 *
 * @example
 * ```ts
 * import { flagKey } from "./flags.ts";
 * console.log(flagKey("limit-walltime")); // "limitWalltime"
 * ```
 */
export function flagKey(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Whether a rootdir has a /bin of its own: a link (`bin -> usr/bin`) or a directory with something in it. */
function hasBin(root: string): boolean {
  const bin = `${root.replace(/\/+$/, "")}/bin`;
  try {
    if (Deno.lstatSync(bin).isSymlink) return true;
    for (const _ of Deno.readDirSync(bin)) return true;
    return false; // an empty mount point, for the policy's bind
  } catch {
    return false;
  }
}

/**
 * Applies the flags on top of a container built from a policy.
 *
 * @example
 * ```ts
 * import { Container } from "jsr:@hakoniwa/cli";
 * import { applyFlags, newFlagState } from "./flags.ts";
 * const c = Container.empty();
 * applyFlags(c, { hostname: "box", chdir: "/tmp" }, newFlagState());
 * console.log(c.settings.workdir); // "/tmp"
 * ```
 */
export function applyFlags(c: Container, o: SandboxFlags, state: FlagState): void {
  const s = c.settings;
  if (o.rootfs !== undefined) {
    s.mounts = s.mounts.filter((m) => m.kind !== "bind");
    try {
      if (o.rootfs !== "none") c.rootfs(o.rootfs);
    } catch (e) {
      throw e instanceof UsageError ? new UsageError(`--${e.message}`, "--rootfs", { cause: e }) : e;
    }
  }
  if (o.rootdir) {
    c.rootdir(o.rootdir.path, { rw: o.rootdir.rw });
    // A tree with its own /bin (a whole system, as 1.x checks) is not covered by the policy's host binds;
    // an empty /bin is a mount point for them.
    if (o.rootfs === undefined && hasBin(o.rootdir.path)) s.mounts = s.mounts.filter((m) => m.kind !== "bind");
  }
  s.mounts.push(...state.mounts);
  if (o.workDir && o.workdir) throw new UsageError("--work-dir and --workdir are one flag: give it once", "--workdir");
  const wd = o.workDir ?? o.workdir;
  if (wd && "chdir" in wd) c.workdir(wd.chdir);
  else if (wd) {
    const dir = wd.bind;
    const norm = (p: string) => p.replace(/\/+$/, "") || "/";
    // `-B "$PWD":/work -w /work`: another flag already mounts something there; only run in it.
    if (!state.mounts.some((m) => norm(m.target) === norm(dir))) c.bindRw(dir, dir);
    c.workdir(dir);
  }
  if (o.chdir !== undefined) c.workdir(o.chdir);
  for (const [k, v] of state.env) c.env(k, v);
  if (o.hostname !== undefined) c.hostname(o.hostname);
  for (const [op, ns] of state.namespaces) op === "share" ? c.share(ns) : c.unshare(ns);
  applyIdFlags(c, o, state);
  for (const name of RLIMIT_NAMES) {
    const v = o[`limit${name[0].toUpperCase()}${name.slice(1)}`];
    if (typeof v === "number") c.limit(name, v);
  }
  if (o.limitWalltime !== undefined) c.walltime(o.limitWalltime);
  if (typeof o.limitMemory === "number") c.limitMemory(o.limitMemory);
  if (typeof o.limitCpus === "number") c.limitCpus(o.limitCpus);
  if (typeof o.limitPids === "number") c.limitPids(o.limitPids);
  const parent = (o.cgroupParent as string | undefined) ?? Deno.env.get("HAKONIWA_CGROUP_PARENT");
  if (parent) c.cgroupParent(parent); // used only when a limit needs a cgroup
  if (o.tmpfsSize !== undefined) c.tmpfsSize(o.tmpfsSize);
  applyIsolation(c, o);
  if (typeof o.seccomp === "string") c.seccomp(resolveSeccomp(o.seccomp));
  if (o.allowNewPrivs) c.allowNewPrivs();
}
