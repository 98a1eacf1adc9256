/**
 * Policy files (TOML, in the seed's format): parse, render templates,
 * validate every key, and turn the result into a {@link Container}.
 * Errors name the file, line, column and key path.
 *
 * @module
 */
import { Container } from "./container.ts";
import { PolicyError, UsageError } from "./errors.ts";
import { MAX_RLIMIT, RLIMIT_NAMES, type RlimitName } from "./rlimit.ts";
import { DISMATCH_ACTIONS, isSyscallName, PROFILE_NAMES, type SeccompProfile, seedProfile } from "./seccomp.ts";
import { resolveSeccomp } from "./seccomp_oci.ts";
import { renderTemplate, TemplateError } from "./template.ts";
import { parseToml, TomlSyntaxError } from "./toml.ts";
import { type LandlockSettings, parseLandlockPolicy } from "./landlock.ts";
import { type NetworkSettings, parseNetworkPolicy } from "./network.ts";

/** A mount of a policy file. */
export interface PolicyMount {
  /** Host path (absent for fstype mounts). */
  source?: string;
  /** Path inside (default: the source). */
  target: string;
  /** Read-write (default false: read-only). */
  rw: boolean;
  /** `tmpfs` or `proc` for a new filesystem instead of a bind. */
  fstype?: "tmpfs" | "proc";
}

/** A validated policy. */
export interface Policy {
  /** Where it came from (a path or `<string>`). */
  file: string;
  /** Mount a new tmpfs at /tmp. */
  mountNewTmpfs: boolean;
  /** Mount a minimal devfs at /dev. */
  mountNewDevfs: boolean;
  /** Mounts in order. */
  mounts: PolicyMount[];
  /** Files created inside. */
  files: { target: string; contents: string }[];
  /** Environment of the command. */
  env: Record<string, string>;
  /** Resource limits and walltime (seconds). */
  limits: Partial<Record<RlimitName | "walltime", number>>;
  /** Hostname inside. */
  hostname?: string;
  /** uid inside. */
  uid?: number;
  /** gid inside. */
  gid?: number;
  /** Share the host's network namespace. */
  shareNet: boolean;
  /** Share the host's uts namespace. */
  shareUts: boolean;
  /** `[landlock]`: restrictions and rules. */
  landlock?: LandlockSettings;
  /** `[network]`: mode and pasta options. */
  network?: NetworkSettings;
  /** The `[seccomp]` section: a profile, null for unconfined, undefined for the default profile. */
  seccomp?: SeccompProfile | null;
}

type Loc = { file: string; text: string };

/** Finds the 1-based line and column of a key path in the source text, best effort. */
export function locate(text: string, path: (string | number)[]): { line?: number; column?: number } {
  const lines = text.split("\n");
  let from = 0;
  let found: { line: number; column: number } | undefined;
  const find = (re: RegExp, start: number) => {
    for (let i = start; i < lines.length; i++) {
      const m = re.exec(lines[i]);
      if (m) return { line: i + 1, column: m.index + (m[0].length - m[0].trimStart().length) + 1 };
    }
    return undefined;
  };
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (typeof seg === "number") {
      // Element `seg` of the array named by the previous segment: count [[name]] headers or `{`.
      const name = String(path[i - 1]);
      let hit: { line: number; column: number } | undefined;
      let n = -1;
      for (let l = from; l < lines.length && !hit; l++) {
        const header = new RegExp(`^\\s*\\[\\[\\s*${escape(name)}\\s*\\]\\]`).exec(lines[l]);
        const braces = header ? [header.index] : [...lines[l].matchAll(/\{/g)].map((m) => m.index!);
        for (const col of braces) if (++n === seg) hit = { line: l + 1, column: col + 1 };
      }
      if (!hit) break;
      found = hit;
      from = hit.line - 1;
      continue;
    }
    const key = new RegExp(`(^|[{,\\s])${escape(seg)}\\s*=|^\\s*\\[\\s*${escape(seg)}\\s*\\]`);
    const hit = find(key, from);
    if (!hit) break;
    found = hit;
    from = hit.line - 1;
  }
  return found ?? {};
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function fail(loc: Loc, path: (string | number)[], message: string): never {
  const key = path.map((p, i) => (typeof p === "number" ? `[${p}]` : i ? `.${p}` : p)).join("");
  throw new PolicyError(message, { file: loc.file, key, ...locate(loc.text, path) });
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "bigint") return "an integer out of range";
  if (typeof v === "object") return v instanceof Date || v?.constructor?.name === "TomlDate" ? "a date" : "a table";
  return `a ${typeof v}`;
}

function table(loc: Loc, path: (string | number)[], v: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v) || typeName(v) !== "a table") {
    fail(loc, path, `expected a table, got ${typeName(v)}`);
  }
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) {
      fail(
        loc,
        [...path, k].filter((p) => p !== ""),
        `unknown key (expected one of: ${keys.join(", ")})`,
      );
    }
  }
  return v as Record<string, unknown>;
}

function bool(loc: Loc, path: (string | number)[], v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") fail(loc, path, `expected a boolean, got ${typeName(v)}`);
  return v;
}

function str(loc: Loc, path: (string | number)[], v: unknown): string {
  if (typeof v !== "string") fail(loc, path, `expected a string, got ${typeName(v)}`);
  if (v.includes("\0")) fail(loc, path, "contains a NUL byte");
  return v;
}

function absPath(loc: Loc, path: (string | number)[], v: unknown): string {
  const s = str(loc, path, v);
  if (!s.startsWith("/")) fail(loc, path, `expected an absolute path, got ${JSON.stringify(s)}`);
  if (s.split("/").includes("..")) fail(loc, path, `'..' is not allowed in ${JSON.stringify(s)}`);
  return s;
}

function int(loc: Loc, path: (string | number)[], v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) fail(loc, path, `expected an integer, got ${typeName(v)}`);
  if (v < min || v > max) fail(loc, path, `expected an integer from ${min} to ${max}, got ${v}`);
  return v;
}

const TOP_KEYS = [
  "seccomp",
  "mount_new_tmpfs",
  "mount_new_devfs",
  "mounts",
  "files",
  "env",
  "limits",
  "hostname",
  "uid",
  "gid",
  "share_net",
  "share_uts",
  "landlock",
  "network",
] as const;

/**
 * Parses and validates a policy. `file` names it in errors.
 *
 * @example
 * ```ts
 * import { parsePolicy } from "./policy.ts";
 * const p = parsePolicy('mount_new_tmpfs = true\nmounts = [{ source = "/usr", target = "/usr" }]', "p.toml");
 * console.log(p.mounts[0].target); // "/usr"
 * ```
 */
export function parsePolicy(source: string, file = "<string>"): Policy {
  let text: string;
  try {
    text = renderTemplate(source);
  } catch (e) {
    if (e instanceof TemplateError) {
      throw new PolicyError(`template: ${e.message}`, { file, line: e.line }, { cause: e });
    }
    throw e;
  }
  const loc: Loc = { file, text };
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(text);
  } catch (e) {
    if (e instanceof TomlSyntaxError) {
      throw new PolicyError(e.message, { file, line: e.line, column: e.column }, { cause: e });
    }
    throw e;
  }
  const top = table(loc, [], raw, TOP_KEYS);
  const mounts = top.mounts === undefined ? [] : top.mounts;
  if (!Array.isArray(mounts)) fail(loc, ["mounts"], `expected an array of tables, got ${typeName(mounts)}`);
  const seen = new Map<string, number>();
  const policyMounts = mounts.map((m, i): PolicyMount => {
    const at = ["mounts", i];
    const t = table(loc, at, m, ["source", "target", "rw", "fstype"]);
    const fstype = t.fstype === undefined ? undefined : str(loc, [...at, "fstype"], t.fstype);
    if (fstype !== undefined && fstype !== "tmpfs" && fstype !== "proc") {
      fail(loc, [...at, "fstype"], `expected "tmpfs" or "proc", got ${JSON.stringify(fstype)}`);
    }
    if (fstype === undefined && t.source === undefined) fail(loc, [...at, "source"], "missing (a bind needs a source)");
    if (fstype !== undefined && t.source !== undefined) fail(loc, [...at, "source"], `not allowed with fstype`);
    const src = t.source === undefined ? undefined : absPath(loc, [...at, "source"], t.source);
    if (t.target === undefined && src === undefined) fail(loc, [...at, "target"], "missing");
    const target = t.target === undefined ? src! : absPath(loc, [...at, "target"], t.target);
    const norm = target.replace(/\/+$/, "") || "/";
    if (seen.has(norm)) {
      fail(loc, [...at, "target"], `${JSON.stringify(target)} is already the target of mounts[${seen.get(norm)}]`);
    }
    seen.set(norm, i);
    return { source: src, target, rw: bool(loc, [...at, "rw"], t.rw, false), fstype: fstype as PolicyMount["fstype"] };
  });
  const files = top.files === undefined ? [] : top.files;
  if (!Array.isArray(files)) fail(loc, ["files"], `expected an array of tables, got ${typeName(files)}`);
  const policyFiles = files.map((f, i) => {
    const t = table(loc, ["files", i], f, ["target", "contents"]);
    return {
      target: absPath(loc, ["files", i, "target"], t.target),
      contents: str(loc, ["files", i, "contents"], t.contents ?? ""),
    };
  });
  const env: Record<string, string> = {};
  if (top.env !== undefined) {
    const t = table(loc, ["env"], top.env, Object.keys(top.env as object));
    for (const [k, v] of Object.entries(t)) {
      if (!/^[^=\0]+$/.test(k)) fail(loc, ["env", k], "invalid variable name");
      env[k] = str(loc, ["env", k], v);
    }
  }
  const limits: Policy["limits"] = {};
  if (top.limits !== undefined) {
    const t = table(loc, ["limits"], top.limits, [...RLIMIT_NAMES, "walltime"]);
    for (const [k, v] of Object.entries(t)) {
      limits[k as RlimitName] = k === "walltime"
        ? int(loc, ["limits", k], v, 1, 31_536_000)
        : int(loc, ["limits", k], v, 0, MAX_RLIMIT);
    }
  }
  // [landlock] and [network] (hakoniwa 1.x's form), validated by their own modules.
  const sub = (key: string) => (p: (string | number)[], m: string): never => fail(loc, [key, ...p], m);
  const landlock = top.landlock === undefined ? undefined : parseLandlockPolicy(top.landlock, sub("landlock"));
  const network = top.network === undefined ? undefined : parseNetworkPolicy(top.network, sub("network"));
  if (network && network.mode !== "host" && top.share_net === true) {
    fail(loc, ["network", "mode"], `"${network.mode}" contradicts share_net = true`);
  }
  return {
    landlock,
    network,
    file,
    mountNewTmpfs: bool(loc, ["mount_new_tmpfs"], top.mount_new_tmpfs, false),
    mountNewDevfs: bool(loc, ["mount_new_devfs"], top.mount_new_devfs, false),
    mounts: policyMounts,
    files: policyFiles,
    env,
    limits,
    hostname: top.hostname === undefined ? undefined : str(loc, ["hostname"], top.hostname),
    uid: top.uid === undefined ? undefined : int(loc, ["uid"], top.uid, 0, 0xfffffffe),
    gid: top.gid === undefined ? undefined : int(loc, ["gid"], top.gid, 0, 0xfffffffe),
    shareNet: bool(loc, ["share_net"], top.share_net, false),
    shareUts: bool(loc, ["share_uts"], top.share_uts, false),
    seccomp: top.seccomp === undefined ? undefined : seccompSection(loc, top.seccomp),
  };
}

/**
 * `[seccomp]`: the seed's `syscalls = [...]` with `dismatch_action`
 * (allowlist, denylist or audit), or `profile = "default" | "strict" |
 * "audit" | "unconfined" | "PATH.json"` (relative to the policy file).
 */
function seccompSection(loc: Loc, v: unknown): SeccompProfile | null {
  const t = table(loc, ["seccomp"], v, ["profile", "syscalls", "dismatch_action"]);
  if (t.profile !== undefined) {
    const at = ["seccomp", "profile"];
    if (t.syscalls !== undefined || t.dismatch_action !== undefined) {
      fail(loc, at, "profile cannot be combined with syscalls or dismatch_action");
    }
    const value = str(loc, at, t.profile);
    if (!PROFILE_NAMES.includes(value as typeof PROFILE_NAMES[number]) && !value.endsWith(".json")) {
      fail(
        loc,
        at,
        `expected one of ${PROFILE_NAMES.join(", ")} or a path ending in .json, got ${JSON.stringify(value)}`,
      );
    }
    const base = loc.file.includes("/") ? loc.file.slice(0, loc.file.lastIndexOf("/")) || "/" : Deno.cwd();
    try {
      return resolveSeccomp(value, base);
    } catch (e) {
      if (e instanceof UsageError) fail(loc, at, e.message.replace(/^--seccomp: /, ""));
      throw e;
    }
  }
  const dismatch = str(loc, ["seccomp", "dismatch_action"], t.dismatch_action ?? "kill_process");
  if (!DISMATCH_ACTIONS.includes(dismatch as typeof DISMATCH_ACTIONS[number])) {
    fail(
      loc,
      ["seccomp", "dismatch_action"],
      `expected one of ${DISMATCH_ACTIONS.join(", ")}, got ${JSON.stringify(dismatch)}`,
    );
  }
  if (!Array.isArray(t.syscalls)) {
    fail(loc, ["seccomp", "syscalls"], `expected an array of syscall names, got ${typeName(t.syscalls)}`);
  }
  const syscalls = t.syscalls.map((s, i) => {
    const name = str(loc, ["seccomp", "syscalls", i], s);
    if (!isSyscallName(name)) fail(loc, ["seccomp", "syscalls"], `unknown syscall ${JSON.stringify(name)}`);
    return name;
  });
  return seedProfile(syscalls, dismatch as typeof DISMATCH_ACTIONS[number]);
}

/**
 * Reads and validates a policy file.
 *
 * @example
 * ```ts ignore
 * const policy = await loadPolicyFile("policies/KISS-policy.toml");
 * ```
 */
export async function loadPolicyFile(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`--policy-file: cannot read ${path}: ${e instanceof Error ? e.message : e}`, "--policy-file", {
      cause: e,
    });
  }
  return parsePolicy(text, path);
}

/**
 * A container with a policy's settings: every namespace new except those
 * the policy shares, /proc always, then /tmp and /dev when asked, then the
 * mounts in order. A bind whose source does not exist is skipped (the
 * seed's policies name /lib64, which not every distribution has).
 */
export function containerFromPolicy(policy: Policy): Container {
  const c = Container.empty();
  for (const ns of ["ipc", "uts", "network", "cgroup"] as const) c.unshare(ns);
  if (policy.shareNet) c.share("network");
  if (policy.shareUts) c.share("uts");
  c.procfs("/proc");
  if (policy.mountNewTmpfs) c.tmpfs("/tmp");
  if (policy.mountNewDevfs) c.devfs("/dev");
  for (const m of policy.mounts) {
    if (m.fstype === "tmpfs") c.tmpfs(m.target);
    else if (m.fstype === "proc") c.procfs(m.target);
    else c.settings.mounts.push({ kind: "bind", source: m.source!, target: m.target, readonly: !m.rw, optional: true });
  }
  for (const f of policy.files) c.file(f.target, f.contents);
  for (const [k, v] of Object.entries(policy.env)) c.env(k, v);
  for (const [k, v] of Object.entries(policy.limits)) {
    if (k === "walltime") c.walltime(v);
    else c.limit(k as RlimitName, v);
  }
  if (policy.hostname !== undefined) c.hostname(policy.hostname);
  if (policy.uid !== undefined) c.uid(policy.uid);
  if (policy.gid !== undefined) c.gid(policy.gid);
  if (policy.network) c.network(policy.network.mode, policy.network.options);
  if (policy.landlock) c.settings.landlock = structuredClone(policy.landlock);
  if (policy.seccomp !== undefined) c.seccomp(policy.seccomp);
  return c;
}
