/**
 * Landlock: what a user asks to restrict (hakoniwa 1.x's spelling: `fs`,
 * `tcp.bind`, `tcp.connect`, plus the scopes `scope.abstract-unix-socket`
 * and `scope.signal`), the rules that allow paths and ports again, and the
 * negotiation with the Landlock ABI the kernel offers. TypeScript computes
 * the handled and allowed masks; the native core applies them in the
 * command process after pivot_root (so rule paths are sandbox paths).
 *
 * Fail closed: a restriction the kernel's ABI cannot enforce is an error,
 * unless best effort was asked for; then it is dropped and logged.
 *
 * @module
 */
import { HakoniwaError, UsageError } from "../common/errors.ts";

/**
 * What can be restricted, with the Landlock ABI each needs for full enforcement.
 *
 * @example
 * ```ts
 * import { LANDLOCK_RESOURCES } from "jsr:@hakoniwa/cli";
 * console.log(LANDLOCK_RESOURCES["tcp.bind"]); // 4
 * ```
 */
export const LANDLOCK_RESOURCES = {
  /** Every filesystem access; truncation is controllable from ABI 3 on. */
  fs: 3,
  /** Binding TCP sockets to ports. */
  "tcp.bind": 4,
  /** Connecting TCP sockets to ports. */
  "tcp.connect": 4,
  /** Connecting to abstract unix sockets created outside the sandbox's Landlock domain. */
  "scope.abstract-unix-socket": 6,
  /** Sending signals to processes outside the sandbox's Landlock domain. */
  "scope.signal": 6,
} as const;

/** A restrictable resource, e.g. `"tcp.bind"`. */
export type LandlockResource = keyof typeof LANDLOCK_RESOURCES;

/** A path rule: access is a combination of `r`, `w`, `x` (e.g. `"rx"`). */
export interface LandlockPathRule {
  /** Path inside the sandbox. */
  path: string;
  /** Normalized access, letters in order: `r`, `w`, `x`, `rw`, `rx`, `wx`, `rwx`. */
  access: string;
}

/** A port rule. */
export interface LandlockPortRule {
  /** `tcp.bind` or `tcp.connect`. */
  access: "tcp.bind" | "tcp.connect";
  /** TCP port, 0-65535. */
  port: number;
}

/** The Landlock part of a container's settings and of a plan (pure data). */
export interface LandlockSettings {
  /** Restricted resources (rules imply their resource). */
  restrict: LandlockResource[];
  /** Paths allowed again. */
  paths: LandlockPathRule[];
  /** Ports allowed again. */
  ports: LandlockPortRule[];
  /** Run with what the kernel can enforce when it cannot enforce everything (logged). */
  bestEffort: boolean;
  /** Use at most this ABI even if the kernel offers more (to try older kernels' behaviour); null: the kernel's. */
  maxAbi: number | null;
  /** Resources explicitly left unrestricted (a policy's `unrestrict = true`); they may have no rules. */
  unrestricted: LandlockResource[];
}

/** A restriction the kernel's Landlock ABI cannot enforce, without best effort: exit 125. */
export class LandlockUnsupportedError extends HakoniwaError {
  /** The resource that cannot be enforced. */
  readonly resource: LandlockResource;
  /** The ABI it needs. */
  readonly needed: number;
  /** The ABI in use. */
  readonly abi: number;
  /**
   * Creates the error.
   *
   * @example
   * ```ts
   * import { LandlockUnsupportedError } from "./landlock.ts";
   * console.log(new LandlockUnsupportedError("tcp.bind", 4, 3, 3).message);
   * ```
   */
  constructor(resource: LandlockResource, needed: number, abi: number, kernelAbi: number = abi) {
    const offered = kernelAbi ? `the kernel offers ABI ${kernelAbi}` : "the kernel offers no Landlock";
    super(
      `landlock: restricting ${resource} needs Landlock ABI ${needed}, ${
        abi === kernelAbi ? offered : `using ABI ${abi} (${offered}, capped by landlockAbi())`
      }; allow running without it with landlockBestEffort()`,
    );
    this.name = "LandlockUnsupportedError";
    this.resource = resource;
    this.needed = needed;
    this.abi = abi;
  }
}

const bit = (n: number) => 1n << BigInt(n);
/** Filesystem rights (LANDLOCK_ACCESS_FS_*) with the ABI that introduced each. */
const FS_RIGHTS: { bit: bigint; abi: number; letter: "r" | "w" | "x" }[] = [
  { bit: bit(0), abi: 1, letter: "x" }, // EXECUTE
  { bit: bit(1), abi: 1, letter: "w" }, // WRITE_FILE
  { bit: bit(2), abi: 1, letter: "r" }, // READ_FILE
  { bit: bit(3), abi: 1, letter: "r" }, // READ_DIR
  ...[4, 5, 6, 7, 8, 9, 10, 11, 12].map((n) => ({ bit: bit(n), abi: 1, letter: "w" as const })), // REMOVE_*, MAKE_*
  { bit: bit(13), abi: 2, letter: "w" }, // REFER
  { bit: bit(14), abi: 3, letter: "w" }, // TRUNCATE
  { bit: bit(15), abi: 5, letter: "w" }, // IOCTL_DEV
];
const NET_BIND = bit(0), NET_CONNECT = bit(1);
const SCOPE_ABSTRACT_UNIX = bit(0), SCOPE_SIGNAL = bit(1);

/**
 * The filesystem rights (LANDLOCK_ACCESS_FS_* bits) of `access` letters under `abi`.
 *
 * @example
 * ```ts
 * import { fsRights } from "./landlock.ts";
 * console.log(fsRights("rx", 1)); // 13n: EXECUTE | READ_FILE | READ_DIR
 * ```
 */
export function fsRights(access: string, abi: number): bigint {
  let mask = 0n;
  for (const r of FS_RIGHTS) if (r.abi <= abi && access.includes(r.letter)) mask |= r.bit;
  return mask;
}

/**
 * Parses an access string: `r`, `w`, `x` in that order, each optionally
 * replaced by `-` as hakoniwa 1.x writes them (`"r-x"`). Returns the
 * letters (`"rx"`) or throws {@link UsageError} naming `what`.
 *
 * @example
 * ```ts
 * import { parseFsAccess } from "./landlock.ts";
 * console.log(parseFsAccess("r-x", "landlock.fs[0].access")); // "rx"
 * ```
 */
export function parseFsAccess(value: string, what: string): string {
  const m = /^(r|-)?(w|-)?(x|-)?$/.exec(value);
  const letters = m ? value.replaceAll("-", "") : "";
  if (!m || !letters) {
    throw new UsageError(`${what}: expected an access of r, w, x (like "rw", "r-x"), got ${JSON.stringify(value)}`);
  }
  return letters;
}

/**
 * Parses a `--landlock-restrict` value: comma-separated resources, with
 * 1.x's `net.` prefix accepted (`net.tcp.bind`).
 *
 * @example
 * ```ts
 * import { parseResources } from "./landlock.ts";
 * console.log(parseResources("fs,tcp.bind", "--landlock-restrict")); // ["fs", "tcp.bind"]
 * ```
 */
export function parseResources(value: string, what: string): LandlockResource[] {
  return value.split(",").map((s) => parseResource(s.trim(), what));
}

/**
 * Parses one resource name; throws {@link UsageError} naming `what`.
 *
 * @example
 * ```ts
 * import { parseResource } from "./landlock.ts";
 * console.log(parseResource("net.tcp.connect", "type")); // "tcp.connect"
 * ```
 */
export function parseResource(value: string, what: string): LandlockResource {
  const name = value.startsWith("net.") ? value.slice(4) : value;
  if (!(name in LANDLOCK_RESOURCES)) {
    throw new UsageError(
      `${what}: unknown resource ${JSON.stringify(value)} (expected ${Object.keys(LANDLOCK_RESOURCES).join(", ")})`,
    );
  }
  return name as LandlockResource;
}

/**
 * Parses a TCP port; throws {@link UsageError} naming `what`.
 *
 * @example
 * ```ts
 * import { parsePort } from "./landlock.ts";
 * console.log(parsePort("8080", "--landlock-tcp-bind")); // 8080
 * ```
 */
export function parsePort(value: string | number, what: string): number {
  const n = typeof value === "number" ? value : /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`${what}: expected a port from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * An empty Landlock setting (nothing restricted).
 *
 * @example
 * ```ts
 * import { emptyLandlock } from "./landlock.ts";
 * console.log(emptyLandlock().restrict); // []
 * ```
 */
export function emptyLandlock(): LandlockSettings {
  return { restrict: [], paths: [], ports: [], bestEffort: false, maxAbi: null, unrestricted: [] };
}

/**
 * The settings as enforced: rules imply their resource, unrestricted
 * resources are removed (an error if they have rules), duplicates merged.
 * Returns null when nothing is restricted.
 *
 * @example
 * ```ts
 * import { emptyLandlock, resolveLandlock } from "./landlock.ts";
 * const s = resolveLandlock({ ...emptyLandlock(), ports: [{ access: "tcp.bind", port: 80 }] });
 * console.log(s?.restrict); // ["tcp.bind"]
 * ```
 */
export function resolveLandlock(s: LandlockSettings): LandlockSettings | null {
  const restrict = new Set(s.restrict);
  if (s.paths.length) restrict.add("fs");
  for (const p of s.ports) restrict.add(p.access);
  for (const u of s.unrestricted) {
    const rules = u === "fs" ? s.paths.length : s.ports.filter((p) => p.access === u).length;
    if (rules) throw new UsageError(`landlock: ${u} is unrestricted but has ${rules} rule(s)`);
    restrict.delete(u);
  }
  if (!restrict.size) return null;
  const order = Object.keys(LANDLOCK_RESOURCES) as LandlockResource[];
  const merged = new Map<string, Set<string>>();
  for (const p of s.paths) {
    const set = merged.get(p.path) ?? new Set();
    for (const ch of p.access) set.add(ch);
    merged.set(p.path, set);
  }
  const ports = new Map(s.ports.map((p) => [`${p.access}:${p.port}`, p]));
  return {
    restrict: order.filter((r) => restrict.has(r)),
    paths: [...merged].map(([path, set]) => ({ path, access: ["r", "w", "x"].filter((c) => set.has(c)).join("") })),
    ports: [...ports.values()],
    bestEffort: s.bestEffort,
    maxAbi: s.maxAbi,
    unrestricted: [],
  };
}

/** A Landlock ruleset as the native core applies it: handled rights, then rules (spec record HK_T_LANDLOCK). */
export interface LandlockRuleset {
  /** The ABI the rights were chosen for. */
  abi: number;
  /** Handled filesystem, network and scope rights (bit masks). */
  fs: bigint;
  net: bigint;
  scoped: bigint;
  /** Paths inside the sandbox and the rights allowed beneath each. */
  paths: { path: string; access: bigint }[];
  /** TCP ports and the rights allowed on each. */
  ports: { port: number; access: bigint }[];
}

/** What the negotiation with the kernel decided. */
export interface LandlockNegotiation {
  /** The ABI in use (the kernel's, capped by `maxAbi`). */
  abi: number;
  /** The ruleset for the native core, or undefined when nothing is left to enforce. */
  ruleset: LandlockRuleset | undefined;
  /** What best effort left out, one line each (to log). */
  dropped: string[];
}

/**
 * Decides the ruleset for a kernel offering Landlock ABI `kernelAbi`.
 * Throws {@link LandlockUnsupportedError} for a restriction the ABI cannot
 * enforce unless `settings.bestEffort`.
 *
 * @example
 * ```ts
 * import { emptyLandlock, negotiateLandlock } from "./landlock.ts";
 * const s = { ...emptyLandlock(), restrict: ["fs" as const], paths: [{ path: "/usr", access: "rx" }] };
 * const n = negotiateLandlock(s, 7);
 * console.log(n.ruleset?.fs.toString(16)); // "ffff"
 * ```
 */
export function negotiateLandlock(settings: LandlockSettings, kernelAbi: number): LandlockNegotiation {
  const abi = Math.max(0, Math.min(kernelAbi, settings.maxAbi ?? kernelAbi));
  const dropped: string[] = [];
  const enforced = new Set<LandlockResource>();
  for (const r of settings.restrict) {
    const needed = LANDLOCK_RESOURCES[r];
    const minimum = r === "fs" ? 1 : needed;
    if (abi >= needed) {
      enforced.add(r);
    } else if (!settings.bestEffort) {
      throw new LandlockUnsupportedError(r, needed, abi, kernelAbi);
    } else if (abi >= minimum) {
      enforced.add(r);
      dropped.push(`${r}: truncation stays unrestricted (needs Landlock ABI ${needed}, using ABI ${abi})`);
    } else {
      dropped.push(`${r}: not restricted (needs Landlock ABI ${needed}, using ABI ${abi || "none"})`);
    }
  }
  if (enforced.size === 0) return { abi, ruleset: undefined, dropped };
  const fs = enforced.has("fs") ? fsRights("rwx", abi) : 0n;
  const net = (enforced.has("tcp.bind") ? NET_BIND : 0n) | (enforced.has("tcp.connect") ? NET_CONNECT : 0n);
  const scoped = (enforced.has("scope.abstract-unix-socket") ? SCOPE_ABSTRACT_UNIX : 0n) |
    (enforced.has("scope.signal") ? SCOPE_SIGNAL : 0n);
  return {
    abi,
    dropped,
    ruleset: {
      abi,
      fs,
      net,
      scoped,
      paths: fs ? settings.paths.map((p) => ({ path: p.path, access: fsRights(p.access, abi) })) : [],
      ports: settings.ports
        .filter((p) => enforced.has(p.access))
        .map((p) => ({ port: p.port, access: p.access === "tcp.bind" ? NET_BIND : NET_CONNECT })),
    },
  };
}

/**
 * One line per setting, for `--verbose`.
 *
 * @example
 * ```ts
 * import { describeLandlock, emptyLandlock } from "./landlock.ts";
 * console.log(describeLandlock({ ...emptyLandlock(), restrict: ["tcp.bind"] })); // ["Landlock: restrict: tcp.bind"]
 * ```
 */
export function describeLandlock(s: LandlockSettings): string[] {
  if (!s.restrict.length) return ["Landlock: disabled"];
  return [
    `Landlock: restrict: ${s.restrict.join(", ")}${s.bestEffort ? ", best effort" : ""}${
      s.maxAbi !== null ? `, ABI at most ${s.maxAbi}` : ""
    }`,
    ...s.paths.map((p) => `Landlock: fs: ${JSON.stringify(p.path)}, access: ${p.access}`),
    ...s.ports.map((p) => `Landlock: ${p.access}: ${p.port}`),
  ];
}

/** Reports a policy problem at a key path below the table being read (see src/policy/policy.ts). */
export type PolicyFail = (path: (string | number)[], message: string) => never;

function keysOf(v: unknown, at: (string | number)[], keys: string[], fail: PolicyFail): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Date) {
    fail(at, `expected a table, got ${Array.isArray(v) ? "an array" : typeof v}`);
  }
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) fail([...at, k], `unknown key (expected one of: ${keys.join(", ")})`);
  }
  return v as Record<string, unknown>;
}

function arrayOf(v: unknown, at: (string | number)[], fail: PolicyFail): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(at, `expected an array of tables, got ${typeof v}`);
  return v;
}

function wrap<T>(at: (string | number)[], fail: PolicyFail, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UsageError) fail(at, e.message.replace(/^[^:]*: /, ""));
    throw e;
  }
}

/**
 * Reads a policy's `[landlock]` table in hakoniwa 1.x's form:
 * `resources = [{ type = "fs" }, { type = "tcp.connect", unrestrict = true }]`,
 * `fs = [{ path = "/usr", access = "r-x" }]`,
 * `net = [{ port = 443, access = "tcp.connect" }]`, and ours:
 * `best_effort = true`. Problems go to `fail` with the key path below
 * `landlock`.
 *
 * @example
 * ```ts
 * import { parseLandlockPolicy } from "./landlock.ts";
 * const fail = (p: (string | number)[], m: string): never => {
 *   throw new Error(`${p.join(".")}: ${m}`);
 * };
 * const s = parseLandlockPolicy({ fs: [{ path: "/usr", access: "r-x" }] }, fail);
 * console.log(s.paths); // [{ path: "/usr", access: "rx" }]
 * ```
 */
export function parseLandlockPolicy(v: unknown, fail: PolicyFail): LandlockSettings {
  const t = keysOf(v, [], ["resources", "fs", "net", "best_effort"], fail);
  const s = emptyLandlock();
  arrayOf(t.resources, ["resources"], fail).forEach((r, i) => {
    const at = ["resources", i];
    const e = keysOf(r, at, ["type", "unrestrict"], fail);
    if (typeof e.type !== "string") fail([...at, "type"], "expected a string");
    const name = wrap([...at, "type"], fail, () => parseResource(e.type as string, "type"));
    if (e.unrestrict !== undefined && typeof e.unrestrict !== "boolean") {
      fail([...at, "unrestrict"], "expected a boolean");
    }
    if (e.unrestrict) {
      s.restrict = s.restrict.filter((x) => x !== name);
      if (!s.unrestricted.includes(name)) s.unrestricted.push(name);
    } else {
      s.unrestricted = s.unrestricted.filter((x) => x !== name);
      if (!s.restrict.includes(name)) s.restrict.push(name);
    }
  });
  arrayOf(t.fs, ["fs"], fail).forEach((r, i) => {
    const at = ["fs", i];
    const e = keysOf(r, at, ["path", "access"], fail);
    if (typeof e.path !== "string" || !e.path.startsWith("/") || e.path.includes("\0")) {
      fail([...at, "path"], `expected an absolute path, got ${JSON.stringify(e.path)}`);
    }
    if (e.path.split("/").includes("..")) fail([...at, "path"], `'..' is not allowed in ${JSON.stringify(e.path)}`);
    if (typeof e.access !== "string") fail([...at, "access"], 'expected a string like "r-x"');
    s.paths.push({ path: e.path, access: wrap([...at, "access"], fail, () => parseFsAccess(e.access as string, "a")) });
  });
  arrayOf(t.net, ["net"], fail).forEach((r, i) => {
    const at = ["net", i];
    const e = keysOf(r, at, ["port", "access"], fail);
    if (typeof e.port !== "number") fail([...at, "port"], "expected an integer from 0 to 65535");
    const port = wrap([...at, "port"], fail, () => parsePort(e.port as number, "port"));
    const access = typeof e.access === "string" && e.access.startsWith("net.") ? e.access.slice(4) : e.access;
    if (access !== "tcp.bind" && access !== "tcp.connect") {
      fail([...at, "access"], `expected "tcp.bind" or "tcp.connect", got ${JSON.stringify(e.access)}`);
    }
    s.ports.push({ access, port });
  });
  if (t.best_effort !== undefined && typeof t.best_effort !== "boolean") fail(["best_effort"], "expected a boolean");
  s.bestEffort = t.best_effort === true;
  wrap([], fail, () => resolveLandlock(s));
  return s;
}
