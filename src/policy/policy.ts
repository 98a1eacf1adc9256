/**
 * The policy stage (src/policy/): takes a TOML policy file or text (includes, templates, the embedded KISS default,
 * a hakoniwa 1.x config through compat/) and gives a validated, typed {@link Policy}; nothing runs here.
 *
 * Policy files (TOML, in the seed's format, extended): parse, render
 * templates, follow `include` and validate every key (src/policy_container.ts
 * turns the result into a container). Errors name the file, line, column
 * and key. docs/policy.md describes every key.
 *
 * @module
 */
import { fileErrorText, PolicyError, type PolicyLocation, UsageError } from "../common/errors.ts";
import { type IdMapEntry, MAX_ID } from "../plan/idmap.ts";
import { type KeyPath, parsePolicyToml, PolicyCursor, typeName } from "./check.ts";
import { dirMode, idMaps, size, tmpfsSize } from "./values.ts";
import { MAX_RLIMIT, RLIMIT_NAMES, type RlimitName } from "../plan/rlimit.ts";
import { loadTemplateEngine, renderTemplate, TemplateEngineNotLoaded, TemplateError } from "./template.ts";
import { readHostText, readHostTextSync } from "../native/safe_open.ts";
import { type LandlockSettings, parseLandlockPolicy } from "../plan/landlock.ts";
import { type NetworkSettings, parseNetworkPolicy } from "../net/network.ts";
import { ALLOW_NET_SECTION } from "../net/allow.ts";
import {
  DISMATCH_ACTIONS,
  isSyscallName,
  PROFILE_NAMES,
  type SeccompProfile,
  seedProfile,
} from "../seccomp/profile.ts";
import { resolveSeccomp } from "../seccomp/oci.ts";

export { locate, PolicyCursor } from "./check.ts";

/** A mount of a policy file. */
export interface PolicyMount {
  /** Host path (absent for fstype mounts). */
  source?: string;
  /** Path inside (default: the source). */
  target: string;
  /** Read-write (default false: read-only). */
  rw: boolean;
  /** `tmpfs`, `proc` or `devfs` for a new filesystem instead of a bind. */
  fstype?: "tmpfs" | "proc" | "devfs";
  /** Size in bytes of a tmpfs (default: `tmpfs_size`). */
  size?: number;
  /**
   * A bind whose source is missing: `true` skips it, `false` fails the run (1.x configs); absent, it is
   * skipped with a warning.
   */
  optional?: boolean;
}

/** Namespaces a policy may share with the host (the others are always new). */
export type ShareableNamespace = "network" | "uts" | "ipc" | "cgroup";

/** A validated policy (after its includes were merged in). */
export interface Policy {
  /** Where it came from (a path or `<string>`). */
  file: string;
  /** Every file read, the policy's own last. */
  filesRead: string[];
  /** Mount a new tmpfs at /tmp. */
  mountNewTmpfs: boolean;
  /** Mount a minimal devfs at /dev. */
  mountNewDevfs: boolean;
  /** Size in bytes of every tmpfs that gives none (`tmpfs_size`). */
  tmpfsSize?: number;
  /** Mounts in order. */
  mounts: PolicyMount[];
  /** Files created inside. */
  files: { target: string; contents: string }[];
  /** Directories created inside. */
  dirs: { target: string; mode: number }[];
  /** Symlinks created inside. */
  symlinks: { original: string; link: string }[];
  /** Environment of the command. */
  env: Record<string, string>;
  /** Resource limits, walltime (seconds), and the whole sandbox's memory (bytes), cpus and pids (its cgroup). */
  limits: Partial<Record<RlimitName | "walltime" | "memory" | "cpus" | "pids", number>>;
  /** A cgroup path to make the sandbox's cgroup beneath (`cgroup_parent`). */
  cgroupParent?: string;
  /** Hostname inside. */
  hostname?: string;
  /** uid inside. */
  uid?: number;
  /** gid inside. */
  gid?: number;
  /** `USER[:GROUP[:GROUP,...]]`, resolved through the rootdir's passwd and group when it has them, else the host's. */
  user?: string;
  /** `"auto"`: 0 inside for the caller, then the ranges /etc/subuid and /etc/subgid grant (1.x's `--userns`). */
  userns?: "auto";
  /** Leave `no_new_privs` unset (1.x's `--allow-new-privs`). */
  allowNewPrivs: boolean;
  /** Share the host's network namespace. */
  shareNet: boolean;
  /** Share the host's uts namespace. */
  shareUts: boolean;
  /** Share the host's ipc namespace. */
  shareIpc: boolean;
  /** Share the host's cgroup namespace. */
  shareCgroup: boolean;
  /** A host directory as the root. */
  rootdir?: { path: string; rw: boolean };
  /** uid map ranges. */
  uidMaps: IdMapEntry[];
  /** gid map ranges. */
  gidMaps: IdMapEntry[];
  /** The default command. */
  command?: { argv: string[]; cwd?: string };
  /** The working directory inside (`command.cwd` wins for the policy's own command); nothing is bound there. */
  cwd?: string;
  /** `[landlock]`: restrictions and rules. */
  landlock?: LandlockSettings;
  /** `[network]`: mode and pasta options. */
  network?: NetworkSettings;
  /** The `[seccomp]` section: a profile, null for unconfined, undefined for the default profile. */
  seccomp?: SeccompProfile | null;
  /** Sections parsed by {@link POLICY_SECTIONS} handlers, by key. */
  sections: Record<string, unknown>;
}

/**
 * A top-level key handled outside this module (seccomp, landlock,
 * network): `parse` validates the value of one file, `merge` combines an
 * included file's value (`base`) with the including file's (default: the
 * including file's wins).
 */
export interface PolicySection {
  /** Validates and converts the raw TOML value. */
  parse(cursor: PolicyCursor, path: KeyPath, value: unknown): unknown;
  /** Merges an included value with the including one. */
  merge?(base: unknown, next: unknown): unknown;
}

/**
 * Extra top-level sections by key. Add one to make the validator accept
 * and check it; its result lands in `Policy.sections[key]`.
 *
 * @example
 * ```ts
 * import { POLICY_SECTIONS, parsePolicy } from "./policy.ts";
 * POLICY_SECTIONS["example"] = { parse: (c, path, v) => c.table(path, v, ["on"]) };
 * console.log(parsePolicy("[example]\non = true\n").sections.example); // { on: true }
 * delete POLICY_SECTIONS["example"];
 * ```
 */
export const POLICY_SECTIONS: Record<string, PolicySection> = {
  // [landlock] and [network] (hakoniwa 1.x's form), validated by their own modules.
  landlock: { parse: (c, path, v) => parseLandlockPolicy(v, (p, m) => c.fail([...path, ...p], m)) },
  network: { parse: (c, path, v) => parseNetworkPolicy(v, (p, m) => c.fail([...path, ...p], m)) },
  seccomp: { parse: (c, path, v) => seccompSection(c, path, v) },
  allow_net: ALLOW_NET_SECTION, // ["HOST[:PORT]", ...]: --allow-net
};

/**
 * `[seccomp]`: the seed's `syscalls = [...]` with `dismatch_action`
 * (allowlist, denylist or audit), or `profile = "default" | "strict" |
 * "audit" | "unconfined" | "PATH.json"` (relative to the policy file).
 */
function seccompSection(c: PolicyCursor, path: KeyPath, v: unknown): SeccompProfile | null {
  const t = c.table(path, v, ["profile", "syscalls", "dismatch_action"]);
  if (t.profile !== undefined) {
    const at = [...path, "profile"];
    if (t.syscalls !== undefined || t.dismatch_action !== undefined) {
      c.fail(at, "profile cannot be combined with syscalls or dismatch_action");
    }
    const value = c.str(at, t.profile);
    if (!PROFILE_NAMES.includes(value as typeof PROFILE_NAMES[number]) && !value.endsWith(".json")) {
      c.fail(at, `expected one of ${PROFILE_NAMES.join(", ")} or a path ending in .json, got ${JSON.stringify(value)}`);
    }
    const base = c.file.includes("/") ? c.file.slice(0, c.file.lastIndexOf("/")) || "/" : Deno.cwd();
    try {
      return resolveSeccomp(value, base);
    } catch (e) {
      if (e instanceof UsageError) c.fail(at, e.message.replace(/^seccomp: /, ""));
      throw e;
    }
  }
  const dismatch = c.str([...path, "dismatch_action"], t.dismatch_action ?? "kill_process");
  if (!DISMATCH_ACTIONS.includes(dismatch as typeof DISMATCH_ACTIONS[number])) {
    c.fail(
      [...path, "dismatch_action"],
      `expected one of ${DISMATCH_ACTIONS.join(", ")}, got ${JSON.stringify(dismatch)}`,
    );
  }
  if (!Array.isArray(t.syscalls)) {
    c.fail(
      [...path, "syscalls"],
      `expected an array of syscall names, got ${typeName(t.syscalls)}`,
    );
  }
  const syscalls = t.syscalls.map((s, i) => {
    const name = c.str([...path, "syscalls", i], s);
    if (!isSyscallName(name)) c.fail([...path, "syscalls"], `unknown syscall ${JSON.stringify(name)}`);
    return name;
  });
  return seedProfile(syscalls, dismatch as typeof DISMATCH_ACTIONS[number]);
}

/**
 * Top-level keys this module handles.
 *
 * @example
 * ```ts
 * import { CORE_KEYS } from "./policy.ts";
 * console.log(CORE_KEYS.includes("mounts")); // true
 * ```
 */
export const CORE_KEYS = [
  "include",
  "mount_new_tmpfs",
  "mount_new_devfs",
  "tmpfs_size",
  "mounts",
  "files",
  "dirs",
  "symlinks",
  "env",
  "limits",
  "hostname",
  "uid",
  "gid",
  "user",
  "userns",
  "allow_new_privs",
  "share_net",
  "share_uts",
  "share_ipc",
  "share_cgroup",
  "rootdir",
  "uid_maps",
  "gid_maps",
  "command",
  "cwd",
  "cgroup_parent",
] as const;

/** One file's settings before defaults: absent keys stay undefined. */
type Layer = Partial<Omit<Policy, "file" | "filesRead" | "sections">> & {
  sections: Record<string, unknown>;
  /** Where each mount target was set, for duplicate reports across files: found in the text only when one is. */
  mountAt: Map<string, () => PolicyLocation>;
  include: { path: string; at: KeyPath }[];
};

function notADirectory(path: string): boolean {
  try {
    return !Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function parseLayer(c: PolicyCursor, raw: Record<string, unknown>): Layer {
  const top = c.table([], raw, [...CORE_KEYS, ...Object.keys(POLICY_SECTIONS)]);
  const layer: Layer = { sections: {}, mountAt: new Map(), include: [] };
  layer.include = c.array(["include"], top.include, "an array of strings").map((p, i) => ({
    path: c.str(["include", i], p),
    at: ["include", i],
  }));
  const str = (k: string) => top[k] === undefined ? undefined : c.str([k], top[k]);
  layer.mountNewTmpfs = c.bool(["mount_new_tmpfs"], top.mount_new_tmpfs);
  layer.mountNewDevfs = c.bool(["mount_new_devfs"], top.mount_new_devfs);
  layer.tmpfsSize = top.tmpfs_size === undefined ? undefined : tmpfsSize(c, ["tmpfs_size"], top.tmpfs_size);
  if (top.mounts !== undefined) {
    layer.mounts = c.array(["mounts"], top.mounts, "an array of tables").map((m, i): PolicyMount => {
      const at = ["mounts", i];
      const t = c.table(at, m, ["source", "target", "rw", "fstype", "size", "optional"]);
      const fstype = t.fstype === undefined ? undefined : c.str([...at, "fstype"], t.fstype);
      if (fstype !== undefined && !["tmpfs", "proc", "devfs"].includes(fstype)) {
        c.fail([...at, "fstype"], `expected "tmpfs", "proc" or "devfs", got ${JSON.stringify(fstype)}`);
      }
      if (fstype === undefined && t.source === undefined) c.fail([...at, "source"], "missing (a bind needs a source)");
      if (fstype !== undefined && t.source !== undefined) c.fail([...at, "source"], "not allowed with fstype");
      if (t.size !== undefined && fstype !== "tmpfs") c.fail([...at, "size"], 'only for fstype = "tmpfs"');
      if (t.optional !== undefined && fstype !== undefined) c.fail([...at, "optional"], "only for a bind");
      const optional = t.optional === undefined ? undefined : c.bool([...at, "optional"], t.optional, false);
      const size = t.size === undefined ? undefined : tmpfsSize(c, [...at, "size"], t.size);
      const src = t.source === undefined ? undefined : c.absPath([...at, "source"], t.source);
      const target = t.target === undefined
        ? c.absPath([...at, "target"], src)
        : c.absPath([...at, "target"], t.target);
      const norm = target.replace(/\/+$/, "") || "/";
      if (norm === "/") {
        c.fail([...at, "target"], "cannot mount over the sandbox's root /: use rootdir for a host directory");
      }
      const prev = layer.mountAt.get(norm);
      if (prev) c.fail([...at, "target"], `${JSON.stringify(target)} is already the target of ${prev().key}`);
      layer.mountAt.set(norm, () => c.where([...at, "target"]));
      return {
        source: src,
        target,
        rw: c.bool([...at, "rw"], t.rw, false),
        fstype: fstype as PolicyMount["fstype"],
        ...(size === undefined ? {} : { size }),
        ...(optional === undefined ? {} : { optional }),
      };
    });
  }
  if (top.files !== undefined) {
    layer.files = c.array(["files"], top.files, "an array of tables").map((f, i) => {
      const t = c.table(["files", i], f, ["target", "contents"]);
      return {
        target: c.absPath(["files", i, "target"], t.target),
        contents: c.str(["files", i, "contents"], t.contents ?? ""),
      };
    });
  }
  if (top.dirs !== undefined) {
    layer.dirs = c.array(["dirs"], top.dirs, "an array of tables").map((d, i) => {
      const t = c.table(["dirs", i], d, ["target", "mode"]);
      return {
        target: c.absPath(["dirs", i, "target"], t.target),
        mode: t.mode === undefined ? 0o700 : dirMode(c, ["dirs", i, "mode"], t.mode),
      };
    });
  }
  if (top.symlinks !== undefined) {
    layer.symlinks = c.array(["symlinks"], top.symlinks, "an array of tables").map((s, i) => {
      const t = c.table(["symlinks", i], s, ["original", "link"]);
      if (t.original === undefined) c.fail(["symlinks", i, "original"], "missing (expected a string)");
      return {
        original: c.str(["symlinks", i, "original"], t.original),
        link: c.absPath(["symlinks", i, "link"], t.link),
      };
    });
  }
  if (top.env !== undefined) {
    const t = c.table(["env"], top.env, null);
    layer.env = {};
    for (const [k, v] of Object.entries(t)) {
      if (!/^[^=\0]+$/.test(k)) c.fail(["env", k], "invalid variable name");
      layer.env[k] = c.str(["env", k], v);
    }
  }
  if (top.limits !== undefined) {
    const t = c.table(["limits"], top.limits, [...RLIMIT_NAMES, "walltime", "memory", "cpus", "pids"]);
    layer.limits = {};
    for (const [k, v] of Object.entries(t)) {
      const at = ["limits", k];
      if (k === "cpus" && (typeof v !== "number" || !(v >= 0.01 && v <= 1024))) {
        c.fail(at, `expected a number of CPUs from 0.01 to 1024, got ${JSON.stringify(v)}`);
      }
      layer.limits[k as RlimitName] = k === "walltime"
        ? c.int(at, v, 1, 31_536_000)
        : k === "cpus"
        ? v as number
        : k === "pids"
        ? c.int(at, v, 1, 4_194_304)
        : ["as", "core", "fsize", "memory"].includes(k)
        ? size(c, at, v, k === "memory" ? 1 << 20 : 0, MAX_RLIMIT)
        : c.int(at, v, 0, MAX_RLIMIT);
    }
  }
  layer.cgroupParent = top.cgroup_parent === undefined ? undefined : c.str(["cgroup_parent"], top.cgroup_parent);
  if (layer.cgroupParent?.split("/").includes("..")) c.fail(["cgroup_parent"], "'..' is not allowed");
  layer.cwd = top.cwd === undefined ? undefined : c.absPath(["cwd"], top.cwd);
  layer.hostname = str("hostname");
  if (layer.hostname !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(layer.hostname)) {
    c.fail(["hostname"], "expected 1 to 63 letters, digits, '.' or '-'");
  }
  layer.uid = top.uid === undefined ? undefined : c.int(["uid"], top.uid, 0, MAX_ID);
  layer.gid = top.gid === undefined ? undefined : c.int(["gid"], top.gid, 0, MAX_ID);
  layer.user = str("user");
  if (layer.user !== undefined && !/^[^:\s]+(:[^:\s]+(:[^:\s,]+(,[^:\s,]+)*)?)?$/.test(layer.user)) {
    c.fail(["user"], `expected USER, USER:GROUP or USER:GROUP:GROUP,..., got ${JSON.stringify(layer.user)}`);
  }
  const userns = str("userns");
  if (userns !== undefined && userns !== "auto") c.fail(["userns"], `expected "auto", got ${JSON.stringify(userns)}`);
  layer.userns = userns as "auto" | undefined;
  if (layer.userns && top.uid_maps !== undefined) c.fail(["userns"], 'userns = "auto" makes the maps: drop uid_maps');
  if (layer.userns && top.gid_maps !== undefined) c.fail(["userns"], 'userns = "auto" makes the maps: drop gid_maps');
  layer.allowNewPrivs = c.bool(["allow_new_privs"], top.allow_new_privs);
  layer.shareNet = c.bool(["share_net"], top.share_net);
  layer.shareUts = c.bool(["share_uts"], top.share_uts);
  layer.shareIpc = c.bool(["share_ipc"], top.share_ipc);
  layer.shareCgroup = c.bool(["share_cgroup"], top.share_cgroup);
  if (top.rootdir !== undefined) {
    const t = c.table(["rootdir"], top.rootdir, ["path", "rw"]);
    layer.rootdir = { path: c.absPath(["rootdir", "path"], t.path), rw: c.bool(["rootdir", "rw"], t.rw, false) };
    // Said here, where the file and line are known (a missing directory is said when the plan is built).
    if (notADirectory(layer.rootdir.path)) c.fail(["rootdir", "path"], `${layer.rootdir.path} is not a directory`);
  }
  layer.uidMaps = idMaps(c, "uid_maps", top.uid_maps);
  layer.gidMaps = idMaps(c, "gid_maps", top.gid_maps);
  if (top.command !== undefined) {
    const t = c.table(["command"], top.command, ["argv", "cwd"]);
    const argv = c.array(["command", "argv"], t.argv, "an array of strings").map((a, i) =>
      c.str(["command", "argv", i], a)
    );
    if (argv.length === 0) c.fail(["command", "argv"], "expected at least the program");
    layer.command = { argv, cwd: t.cwd === undefined ? undefined : c.absPath(["command", "cwd"], t.cwd) };
  }
  for (const [key, section] of Object.entries(POLICY_SECTIONS)) {
    if (top[key] !== undefined) layer.sections[key] = section.parse(c, [key], top[key]);
  }
  const network = layer.sections.network as NetworkSettings | undefined;
  if (network && network.mode !== "host" && layer.shareNet === true) {
    c.fail(["network", "mode"], `"${network.mode}" contradicts share_net = true`);
  }
  return layer;
}

/** `base` with `next` on top: lists concatenate, tables merge, single values override. */
function mergeLayers(base: Layer, next: Layer): Layer {
  const out: Layer = { ...base, sections: { ...base.sections }, mountAt: new Map(base.mountAt), include: [] };
  for (const [target, where] of next.mountAt) {
    const prev = out.mountAt.get(target)?.();
    if (prev) {
      throw new PolicyError(
        `${JSON.stringify(target)} is already the target of ${prev.key} in ${prev.file}:${prev.line ?? "?"}`,
        where(),
      );
    }
    out.mountAt.set(target, where);
  }
  for (const [k, v] of Object.entries(next) as [keyof Layer, unknown][]) {
    if (v === undefined || k === "sections" || k === "mountAt" || k === "include") continue;
    const old = out[k];
    if (Array.isArray(old) && Array.isArray(v)) (out as Record<string, unknown>)[k] = [...old, ...v];
    else if ((k === "env" || k === "limits") && old) {
      (out as Record<string, unknown>)[k] = { ...(old as object), ...(v as object) };
    } else (out as Record<string, unknown>)[k] = v;
  }
  for (const [k, v] of Object.entries(next.sections)) {
    const merge = POLICY_SECTIONS[k]?.merge;
    out.sections[k] = merge && k in out.sections ? merge(out.sections[k], v) : v;
  }
  return out;
}

/**
 * How {@link parsePolicy} reads an included file.
 *
 * @example
 * ```ts
 * import { parsePolicy, type PolicyReader } from "jsr:@hakoniwa/cli";
 * const read: PolicyReader = () => 'hostname = "inc"';
 * console.log(parsePolicy('include = ["x.toml"]', "/p.toml", read).hostname); // "inc"
 * ```
 */
export type PolicyReader = (path: string) => string;

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const p of path.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === ".." && out.length && out[out.length - 1] !== "..") out.pop();
    else out.push(p);
  }
  return (path.startsWith("/") ? "/" : "") + out.join("/");
}

function parseFile(source: string, file: string, read: PolicyReader, chain: string[], seen: string[]): Layer {
  let text: string;
  try {
    text = renderTemplate(source);
  } catch (e) {
    if (e instanceof TemplateError || e instanceof TemplateEngineNotLoaded) {
      const at = e instanceof TemplateError ? { line: e.line, column: e.column } : {};
      throw new PolicyError(`template: ${e.message}`, { file, ...at }, { cause: e });
    }
    throw e;
  }
  const raw = parsePolicyToml(text, file);
  const c = new PolicyCursor(file, text);
  const own = parseLayer(c, raw);
  let merged: Layer = { sections: {}, mountAt: new Map(), include: [] };
  for (const inc of own.include) {
    const path = normalize(inc.path.startsWith("/") ? inc.path : `${dirname(file)}/${inc.path}`);
    if (chain.includes(path)) {
      c.fail(inc.at, `include cycle: ${[...chain.slice(chain.indexOf(path)), path].join(" -> ")}`);
    }
    let body = "";
    try {
      body = read(path);
    } catch (e) {
      c.fail(inc.at, `cannot read ${path}: ${fileErrorText(e)}`);
    }
    seen.push(path);
    merged = mergeLayers(merged, parseFile(body, path, read, [...chain, path], seen));
  }
  return mergeLayers(merged, own);
}

/**
 * Parses and validates a policy. `file` names it in errors and is the base
 * of relative `include` paths, which `read` loads (default: from disk).
 * Synchronous: a policy (or an include) whose template needs more than
 * plain helper calls throws a `PolicyError` caused by
 * `TemplateEngineNotLoaded` unless the template engine was loaded before;
 * {@link parsePolicyAsync} and {@link loadPolicyFile} load it.
 *
 * @example
 * ```ts
 * import { parsePolicy } from "jsr:@hakoniwa/cli";
 * const p = parsePolicy('mount_new_tmpfs = true\nmounts = [{ source = "/usr", target = "/usr" }]', "p.toml");
 * console.log(p.mounts[0].target); // "/usr"
 * ```
 */
export function parsePolicy(
  source: string,
  file = "<string>",
  read: PolicyReader = (p) => readHostTextSync(p),
): Policy {
  const self = file.startsWith("<") ? file : normalize(file);
  const seen: string[] = [];
  const l = parseFile(source, file, read, [self], seen);
  return {
    file,
    filesRead: [...seen, file],
    mountNewTmpfs: l.mountNewTmpfs ?? false,
    mountNewDevfs: l.mountNewDevfs ?? false,
    tmpfsSize: l.tmpfsSize,
    mounts: l.mounts ?? [],
    files: l.files ?? [],
    dirs: l.dirs ?? [],
    symlinks: l.symlinks ?? [],
    env: l.env ?? {},
    limits: l.limits ?? {},
    cgroupParent: l.cgroupParent,
    hostname: l.hostname,
    cwd: l.cwd,
    uid: l.uid,
    gid: l.gid,
    user: l.user,
    userns: l.userns,
    allowNewPrivs: l.allowNewPrivs ?? false,
    shareNet: l.shareNet ?? false,
    shareUts: l.shareUts ?? false,
    shareIpc: l.shareIpc ?? false,
    shareCgroup: l.shareCgroup ?? false,
    rootdir: l.rootdir,
    uidMaps: l.uidMaps ?? [],
    gidMaps: l.gidMaps ?? [],
    command: l.command,
    landlock: l.sections.landlock as LandlockSettings | undefined,
    network: l.sections.network as NetworkSettings | undefined,
    seccomp: "seccomp" in l.sections ? l.sections.seccomp as SeccompProfile | null : undefined,
    sections: l.sections,
  };
}

/**
 * {@link parsePolicy}, loading the template engine first when the policy
 * or one of its includes needs it (blocks, comments, subexpressions...).
 *
 * @example
 * ```ts
 * import { parsePolicyAsync } from "jsr:@hakoniwa/cli";
 * const p = await parsePolicyAsync('hostname = "{{#if (path_exists "/")}}root{{/if}}"', "p.toml");
 * console.log(p.hostname); // "root"
 * ```
 */
export async function parsePolicyAsync(
  source: string,
  file = "<string>",
  read: PolicyReader = (p) => readHostTextSync(p),
): Promise<Policy> {
  try {
    return parsePolicy(source, file, read);
  } catch (e) {
    if (!(e instanceof PolicyError && e.cause instanceof TemplateEngineNotLoaded)) throw e;
  }
  await loadTemplateEngine();
  return parsePolicy(source, file, read);
}

/**
 * Reads and validates a policy file (loading the template engine when the
 * policy needs it).
 *
 * @example
 * ```ts ignore
 * const policy = await loadPolicyFile("policies/KISS-policy.toml");
 * ```
 */
export async function loadPolicyFile(path: string, what = "loadPolicyFile"): Promise<Policy> {
  let text: string;
  try {
    text = await readHostText(path);
  } catch (e) {
    throw new UsageError(`${what}: cannot read ${path}: ${fileErrorText(e)}`, what, {
      cause: e,
    });
  }
  return await parsePolicyAsync(text, path);
}
