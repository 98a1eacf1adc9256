/**
 * The flags of `run` and `explain`, grouped by concern, and how they apply
 * to a {@link Container} built from a policy. Flags that add things (mounts,
 * environment, namespaces, id map ranges) apply in command-line order; the
 * policy is the base and flags add to it or override single values.
 *
 * To add a group: write an `add...Flags(cmd)` function and call it from
 * {@link addSandboxFlags}, then apply its values in {@link applyFlags}.
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import { type Command, InvalidArgumentError, Option } from "npm:@commander-js/extra-typings@15.1.0";
import type { Container, ContainerMount } from "../container.ts";
import { UsageError } from "../errors.ts";
import { MAX_ID } from "../idmap.ts";
import { MAX_TMPFS_SIZE, parseSize } from "../plan.ts";
import type { Namespace } from "../namespace.ts";
import { RLIMIT_NAMES } from "../rlimit.ts";
import { resolveUser } from "../user.ts";
import { parsePort, parseResources } from "../landlock.ts";
import { parseNetwork } from "../network.ts";
import { resolveSeccomp } from "../seccomp_oci.ts";

/** Values of the repeatable flags, in command-line order. */
export interface FlagState {
  /** Mounts and other filesystem entries. */
  mounts: ContainerMount[];
  /** Environment settings. */
  env: [string, string][];
  /** Namespace changes. */
  namespaces: ["share" | "unshare", Namespace][];
  /** uid map ranges. */
  uidMaps: { container: number; host: number; count: number }[];
  /** gid map ranges. */
  gidMaps: { container: number; host: number; count: number }[];
}

/**
 * A fresh, empty {@link FlagState}.
 *
 * @example
 * ```ts
 * import { newFlagState } from "./flags.ts";
 * console.log(newFlagState().mounts.length); // 0
 * ```
 */
export function newFlagState(): FlagState {
  return { mounts: [], env: [], namespaces: [], uidMaps: [], gidMaps: [] };
}

/**
 * A whole number parser for `flag`.
 *
 * @example
 * ```ts
 * import { wholeNumber } from "./flags.ts";
 * console.log(wholeNumber("--limit-cpu")("5")); // 5
 * ```
 */
export function wholeNumber(flag: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min || Number(value) > max) {
      const range = max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min ? ` of at least ${min}` : "";
      throw new InvalidArgumentError(`${flag}: expected a whole number${range}, got "${value}"`);
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
      throw new InvalidArgumentError(`${flag}: expected SRC[:DST], got "${value}"`);
    }
    return { source: parts[0], target: parts[1] ?? parts[0] };
  };
}

/**
 * `C[:H[:N]]`: container id, host id (default: the caller's), count (default 1).
 *
 * @example
 * ```ts
 * import { parseIdMap } from "./flags.ts";
 * console.log(parseIdMap("--uidmap", 1000)("0")); // { container: 0, host: 1000, count: 1 }
 * ```
 */
export function parseIdMap(flag: string, hostId: number) {
  return (value: string): { container: number; host: number; count: number } => {
    const parts = value.split(":");
    const ok = parts.length <= 3 && parts.every((p) => /^\d+$/.test(p) && Number(p) <= MAX_ID);
    const [container, host = hostId, count = 1] = parts.map(Number);
    if (!ok || count < 1 || container + count - 1 > MAX_ID || host + count - 1 > MAX_ID) {
      throw new InvalidArgumentError(`${flag}: expected CONTAINER[:HOST[:COUNT]] ids up to ${MAX_ID}, got "${value}"`);
    }
    return { container, host, count };
  };
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
      throw new InvalidArgumentError(
        `${flag}: expected a size from 1 byte to 1T (bytes, or with K, M, G), got "${value}"`,
      );
    }
    return n;
  };
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

function target(path: string, flag: string): string {
  if (!path.startsWith("/")) throw new InvalidArgumentError(`${flag}: expected an absolute path, got "${path}"`);
  return path;
}

const LIMIT_WHAT: Record<string, string> = {
  as: "address space, bytes",
  core: "core file size, bytes",
  cpu: "cpu time, seconds",
  fsize: "file size, bytes",
  nofile: "open files",
  nproc: "processes",
};

/**
 * The policy file flag.
 *
 * @example
 * ```ts ignore
 * import { Command } from "@commander-js/extra-typings";
 * import { addPolicyFlags } from "./flags.ts";
 * addPolicyFlags(new Command("run"));
 * ```
 */
export function addPolicyFlags<C extends Command<unknown[], Record<string, unknown>>>(cmd: C) {
  return cmd.option("--policy-file <FILE>", "use a policy file instead of the embedded KISS-policy.toml");
}

/**
 * Mount and filesystem flags; they keep their command-line order.
 *
 * @example
 * ```ts ignore
 * import { Command } from "@commander-js/extra-typings";
 * import { addMountFlags, newFlagState } from "./flags.ts";
 * addMountFlags(new Command("run"), newFlagState());
 * ```
 */
export function addMountFlags<C extends Command<unknown[], Record<string, unknown>>>(cmd: C, state: FlagState) {
  const push = (m: ContainerMount) => state.mounts.push(m);
  const bind = (flag: string, readonly: boolean) => (v: string) => {
    const b = parseBind(flag)(v);
    // A relative SRC is the caller's path; DST is a sandbox path, which has no working directory to be relative to.
    const source = absolute(b.source);
    const dst = b.target === b.source ? source : target(b.target, flag);
    if (dst.replace(/\/+$/, "") === "") {
      throw new InvalidArgumentError(`${flag}: cannot bind onto the sandbox's root /: use --rootdir ${b.source}`);
    }
    push({ kind: "bind", source, target: dst, readonly });
    return true;
  };
  return cmd
    .option("--ro-bind <SRC[:DST]>", "bind a host path read-only (repeatable)", bind("--ro-bind", true))
    .option("-b, --bindmount-ro <SRC[:DST]>", "same as --ro-bind", bind("--bindmount-ro", true))
    .option("--rw-bind <SRC[:DST]>", "bind a host path read-write (repeatable)", bind("--rw-bind", false))
    .option("-B, --bindmount-rw <SRC[:DST]>", "same as --rw-bind", bind("--bindmount-rw", false))
    .option("--tmpfs <DIR[:SIZE]>", "mount a new tmpfs at DIR, of SIZE bytes (K, M, G; repeatable)", (v: string) => {
      const parts = splitColons(v);
      if (parts.length > 2 || !parts[0]) throw new InvalidArgumentError(`--tmpfs: expected DIR[:SIZE], got "${v}"`);
      const dir = target(parts[0], "--tmpfs");
      if (dir.replace(/\/+$/, "") === "") {
        throw new InvalidArgumentError(
          `--tmpfs: cannot mount over the sandbox's root /: the root is already a new tmpfs`,
        );
      }
      push({ kind: "tmpfs", target: dir, size: parts[1] === undefined ? undefined : sizeArg("--tmpfs")(parts[1]) });
      return true;
    })
    .option("--tmpfs-size <SIZE>", "size of every tmpfs that gives none (default 128M)", sizeArg("--tmpfs-size"))
    .option("--devfs <DIR>", "mount a minimal /dev at DIR (repeatable)", (v: string) => {
      push({ kind: "devfs", target: target(v, "--devfs") });
      return true;
    })
    .option("--dir <DIR[:MODE]>", "create a directory, MODE in octal (default 755; repeatable)", (v: string) => {
      const [dir, mode, extra] = v.split(":");
      if (extra !== undefined || (mode !== undefined && !/^[0-7]{1,4}$/.test(mode))) {
        throw new InvalidArgumentError(`--dir: expected DIR[:MODE] with an octal MODE, got "${v}"`);
      }
      if (mode !== undefined && parseInt(mode, 8) & 0o6000) {
        throw new InvalidArgumentError(`--dir: set-uid and set-gid bits are not allowed in MODE, got "${v}"`);
      }
      push({ kind: "dir", target: target(dir, "--dir"), mode: mode === undefined ? 0o755 : parseInt(mode, 8) });
      return true;
    })
    .option("--symlink <ORIGINAL:LINK>", "create a symlink LINK pointing to ORIGINAL (repeatable)", (v: string) => {
      const parts = splitColons(v);
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw new InvalidArgumentError(`--symlink: expected ORIGINAL:LINK, got "${v}"`);
      }
      push({ kind: "symlink", original: parts[0], target: target(parts[1], "--symlink") });
      return true;
    })
    .option("--rootdir <DIR[:rw]>", "use a host directory as the root (read-only unless :rw)", (v: string) => {
      const m = /^(.+?)(:rw|:ro)?$/.exec(v);
      if (!m) throw new InvalidArgumentError(`--rootdir: expected DIR[:rw], got "${v}"`);
      const path = absolute(m[1]);
      let isDir = true; // a missing DIR is reported by plan building
      try {
        isDir = Deno.statSync(path).isDirectory;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) {
          throw new InvalidArgumentError(`--rootdir: cannot use ${path}: ${e instanceof Error ? e.message : e}`);
        }
      }
      if (!isDir) throw new InvalidArgumentError(`--rootdir: ${path} is not a directory`);
      return { path, rw: m[2] === ":rw" };
    })
    .option(
      "--rootfs <DIR|none>",
      "replace the policy's binds: bind DIR's bin, etc, lib*, sbin, usr read-only, or none",
    )
    .option("-w, --work-dir <DIR>", "bind DIR read-write and run the command in it");
}

/**
 * Environment flags.
 *
 * @example
 * ```ts ignore
 * import { Command } from "@commander-js/extra-typings";
 * import { addEnvFlags, newFlagState } from "./flags.ts";
 * addEnvFlags(new Command("run"), newFlagState());
 * ```
 */
export function addEnvFlags<C extends Command<unknown[], Record<string, unknown>>>(cmd: C, state: FlagState) {
  return cmd.option(
    "-e, --setenv <NAME=VALUE|NAME>",
    "set an environment variable, or pass the host's NAME (repeatable)",
    (v: string) => {
      const eq = v.indexOf("=");
      if (eq === 0 || !v || v.includes("\0")) {
        throw new InvalidArgumentError(`--setenv: expected NAME=VALUE or NAME, got "${v}"`);
      }
      if (eq > 0) state.env.push([v.slice(0, eq), v.slice(eq + 1)]);
      else {
        const host = Deno.env.get(v);
        if (host !== undefined) state.env.push([v, host]);
      }
      return true;
    },
  );
}

/**
 * Namespace and hostname flags; they keep their command-line order.
 *
 * @example
 * ```ts ignore
 * import { Command } from "@commander-js/extra-typings";
 * import { addNamespaceFlags, newFlagState } from "./flags.ts";
 * addNamespaceFlags(new Command("run"), newFlagState());
 * ```
 */
export function addNamespaceFlags<C extends Command<unknown[], Record<string, unknown>>>(cmd: C, state: FlagState) {
  const ns = (op: "share" | "unshare", ...which: Namespace[]) => () => {
    for (const n of which) state.namespaces.push([op, n]);
    return true;
  };
  return cmd
    .option("--hostname <NAME>", "hostname inside (default: hakoniwa)")
    .option("--share-net", "share the host's network namespace", ns("share", "network"))
    .option("--share-uts", "share the host's uts namespace (hostname)", ns("share", "uts"))
    .option(
      "--unshare-all",
      "new cgroup, ipc, network and uts namespaces",
      ns("unshare", "cgroup", "ipc", "network", "uts"),
    )
    .option("--unshare-cgroup", "new cgroup namespace", ns("unshare", "cgroup"))
    .option("--unshare-ipc", "new ipc namespace", ns("unshare", "ipc"))
    .option("--unshare-network", "new network namespace", ns("unshare", "network"))
    .option("--unshare-uts", "new uts namespace", ns("unshare", "uts"));
}

/**
 * Identity flags: ids inside and the id maps.
 *
 * @example
 * ```ts ignore
 * import { Command } from "@commander-js/extra-typings";
 * import { addIdentityFlags, newFlagState } from "./flags.ts";
 * addIdentityFlags(new Command("run"), newFlagState());
 * ```
 */
export function addIdentityFlags<C extends Command<unknown[], Record<string, unknown>>>(cmd: C, state: FlagState) {
  const uid = Deno.uid() ?? 0, gid = Deno.gid() ?? 0;
  return cmd
    .option("-u, --uid <UID>", "uid inside (default: your own)", wholeNumber("--uid", 0, MAX_ID))
    .option("-g, --gid <GID>", "gid inside (default: your own)", wholeNumber("--gid", 0, MAX_ID))
    .option("--user <USER[:GROUP]>", "run as USER (and GROUP) of the host's /etc/passwd and /etc/group")
    .option("--uidmap <C[:H[:N]]>", "map N uids from C inside to H outside (repeatable)", (v: string) => {
      state.uidMaps.push(parseIdMap("--uidmap", uid)(v));
      return true;
    })
    .option("--gidmap <C[:H[:N]]>", "map N gids from C inside to H outside (repeatable)", (v: string) => {
      state.gidMaps.push(parseIdMap("--gidmap", gid)(v));
      return true;
    });
}

/**
 * Resource limit flags.
 *
 * @example
 * ```ts ignore
 * import { Command } from "@commander-js/extra-typings";
 * import { addLimitFlags } from "./flags.ts";
 * addLimitFlags(new Command("run"));
 * ```
 */
export function addLimitFlags<C extends Command<unknown[], Record<string, unknown>>>(cmd: C) {
  for (const name of RLIMIT_NAMES) {
    cmd.addOption(
      new Option(`--limit-${name} <N>`, `limit ${LIMIT_WHAT[name]}`).argParser(wholeNumber(`--limit-${name}`)),
    );
  }
  cmd.addOption(
    new Option("--limit-walltime <SECS>", "kill the sandbox after SECS seconds").argParser(
      wholeNumber("--limit-walltime", 1, 31_536_000),
    ),
  );
  return cmd;
}

// --- network and Landlock flags (hakoniwa 1.x spelling) ---
/**
 * Network and Landlock flags.
 *
 * @example
 * ```ts ignore
 * import { Command } from "@commander-js/extra-typings";
 * import { addIsolationFlags } from "./flags.ts";
 * addIsolationFlags(new Command("run"));
 * ```
 */
export function addIsolationFlags<C extends Command<unknown[], Record<string, unknown>>>(cmd: C): C {
  const list = (v: string, prev: string[] = []) => [...prev, v];
  cmd.option("--network <MODE>", "none (default: new namespace, lo up), host, or pasta[:OPT,OPT...]")
    .option(
      "--landlock-restrict <LIST>",
      "restrict fs,tcp.bind,tcp.connect,scope.abstract-unix-socket,scope.signal",
      list,
    )
    .option("--landlock-fs-ro <PATH[:PATH...]>", "allow reading beneath PATH (implies fs)", list)
    .option("--landlock-fs-rw <PATH[:PATH...]>", "allow reading and writing beneath PATH (implies fs)", list)
    .option("--landlock-fs-rx <PATH[:PATH...]>", "allow reading and executing beneath PATH (implies fs)", list)
    .option("--landlock-tcp-bind <PORT[,PORT...]>", "allow binding TCP PORT (implies tcp.bind)", list)
    .option("--landlock-tcp-connect <PORT[,PORT...]>", "allow connecting to TCP PORT (implies tcp.connect)", list)
    .option("--landlock-best-effort", "run with what the kernel's Landlock can enforce (logged) instead of failing")
    .option("--landlock-abi <N>", "use at most Landlock ABI N, as an older kernel would offer");
  return cmd;
}

/**
 * Applies the network and Landlock flags.
 *
 * @example
 * ```ts ignore
 * applyIsolation(container, { network: "host" });
 * ```
 */
export function applyIsolation(c: Container, o: Record<string, unknown>): void {
  const strings = (v: unknown) => (v ?? []) as string[];
  if (typeof o.network === "string") {
    const n = parseNetwork(o.network, "--network");
    if (o.shareNet && n.mode !== "host") throw new UsageError(`--share-net contradicts --network ${o.network}`);
    c.network(n.mode, n.options);
  }
  for (const v of strings(o.landlockRestrict)) c.landlockRestrict(...parseResources(v, "--landlock-restrict"));
  const fsFlags = [
    ["--landlock-fs-ro", "landlockFsRo", "r"],
    ["--landlock-fs-rw", "landlockFsRw", "rw"],
    ["--landlock-fs-rx", "landlockFsRx", "rx"],
  ] as const;
  for (const [flag, key, access] of fsFlags) {
    for (const v of strings(o[key])) {
      for (const path of v.split(":")) {
        if (!path.startsWith("/")) throw new UsageError(`${flag}: expected absolute paths, got ${JSON.stringify(v)}`);
        c.landlockFs(path, access);
      }
    }
  }
  for (const v of strings(o.landlockTcpBind)) {
    for (const p of v.split(",")) c.landlockTcpBind(parsePort(p, "--landlock-tcp-bind"));
  }
  for (const v of strings(o.landlockTcpConnect)) {
    for (const p of v.split(",")) c.landlockTcpConnect(parsePort(p, "--landlock-tcp-connect"));
  }
  if (o.landlockBestEffort) c.landlockBestEffort();
  if (typeof o.landlockAbi === "string") {
    if (!/^\d+$/.test(o.landlockAbi)) {
      throw new UsageError(`--landlock-abi: expected a whole number, got "${o.landlockAbi}"`);
    }
    c.landlockAbi(Number(o.landlockAbi));
  }
}

/**
 * The seccomp flag.
 *
 * @example
 * ```ts ignore
 * import { Command } from "@commander-js/extra-typings";
 * import { addSeccompFlags } from "./flags.ts";
 * addSeccompFlags(new Command("run"));
 * ```
 */
export function addSeccompFlags<C extends Command<unknown[], Record<string, unknown>>>(cmd: C): C {
  cmd.option(
    "--seccomp <PROFILE>",
    "seccomp profile: default, strict (default + no new namespaces), audit (log only), unconfined, or an OCI JSON file",
  );
  return cmd;
}

/**
 * Every flag that shapes a sandbox, in help order.
 *
 * @example
 * ```ts ignore
 * import { Command } from "@commander-js/extra-typings";
 * import { addSandboxFlags, newFlagState } from "./flags.ts";
 * addSandboxFlags(new Command("run"), newFlagState());
 * ```
 */
export function addSandboxFlags<C extends Command<unknown[], Record<string, unknown>>>(cmd: C, state: FlagState): C {
  addPolicyFlags(cmd);
  addMountFlags(cmd, state);
  addEnvFlags(cmd, state);
  addNamespaceFlags(cmd, state);
  addIdentityFlags(cmd, state);
  addLimitFlags(cmd);
  addIsolationFlags(cmd);
  addSeccompFlags(cmd);
  return cmd;
}

/** The parsed values of {@link addSandboxFlags}, loosely typed. */
export type SandboxFlags = Record<string, unknown> & {
  rootdir?: { path: string; rw: boolean };
  rootfs?: string;
  workDir?: string;
  hostname?: string;
  uid?: number;
  gid?: number;
  user?: string;
  limitWalltime?: number;
  tmpfsSize?: number;
};

const ROOTFS_DIRS = ["bin", "etc", "lib", "lib32", "lib64", "libx32", "sbin", "usr"];

/**
 * Applies the flags on top of a container built from a policy.
 *
 * @example
 * ```ts ignore
 * applyFlags(containerFromPolicy(policy), cmd.opts(), state);
 * ```
 */
export function applyFlags(c: Container, o: SandboxFlags, state: FlagState): void {
  const s = c.settings;
  if (o.rootfs !== undefined) {
    if (o.rootfs !== "none" && !o.rootfs.startsWith("/")) {
      throw new UsageError(`--rootfs: expected an absolute directory or none, got "${o.rootfs}"`, "--rootfs");
    }
    s.mounts = s.mounts.filter((m) => m.kind !== "bind");
    if (o.rootfs !== "none") {
      const base = o.rootfs.replace(/\/+$/, "");
      for (const d of ROOTFS_DIRS) {
        s.mounts.push({ kind: "bind", source: `${base}/${d}`, target: `/${d}`, readonly: true, optional: true });
      }
    }
  }
  if (o.rootdir) c.rootdir(o.rootdir.path, { rw: o.rootdir.rw });
  s.mounts.push(...state.mounts);
  if (o.workDir) {
    const dir = absolute(o.workDir);
    c.bindRw(dir, dir).workdir(dir);
  }
  for (const [k, v] of state.env) c.env(k, v);
  if (o.hostname !== undefined) c.hostname(o.hostname);
  for (const [op, ns] of state.namespaces) op === "share" ? c.share(ns) : c.unshare(ns);
  if (o.user !== undefined) {
    if (!/^[^:\s]+(:[^:\s]+)?$/.test(o.user)) {
      throw new UsageError(`--user: expected USER[:GROUP], got "${o.user}"`, "--user");
    }
    const u = resolveUser(o.user);
    c.uid(u.uid).gid(u.gid);
  }
  if (o.uid !== undefined) c.uid(o.uid);
  if (o.gid !== undefined) c.gid(o.gid);
  if (state.uidMaps.length) s.uidMaps = [...state.uidMaps];
  if (state.gidMaps.length) s.gidMaps = [...state.gidMaps];
  for (const name of RLIMIT_NAMES) {
    const v = o[`limit${name[0].toUpperCase()}${name.slice(1)}`];
    if (typeof v === "number") c.limit(name, v);
  }
  if (o.limitWalltime !== undefined) c.walltime(o.limitWalltime);
  if (o.tmpfsSize !== undefined) c.tmpfsSize(o.tmpfsSize);
  applyIsolation(c, o);
  if (typeof o.seccomp === "string") c.seccomp(resolveSeccomp(o.seccomp));
}
