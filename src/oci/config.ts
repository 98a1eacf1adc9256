/**
 * The OCI runtime stage (src/oci/): takes a bundle's config.json and gives a checked {@link OciConfig}, the part of
 * the runtime spec this runtime applies. What it cannot apply is refused by name ({@link OciConfigError}), never
 * ignored; properties the spec does not define are ignored, as the spec asks of runtimes.
 *
 * @module
 */
import { HakoniwaError } from "../common/errors.ts";

/**
 * A config.json this runtime cannot run as written: `key` names the field (`linux.resources.memory`).
 *
 * @example
 * ```ts
 * import { OciConfigError } from "./config.ts";
 * const e = new OciConfigError("linux.resources.memory", "not supported");
 * console.log(e.message); // "config.json: linux.resources.memory: not supported"
 * ```
 */
export class OciConfigError extends HakoniwaError {
  /** The field at fault. */
  readonly key: string;
  /** Creates the error for a field. */
  constructor(key: string, message: string) {
    super(`config.json: ${key}: ${message}`);
    this.name = "OciConfigError";
    this.key = key;
  }
}

/** A mount of config.json. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** A device of linux.devices. */
export interface OciDevice {
  path: string;
  type: string;
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** An id mapping (linux.uidMappings, linux.gidMappings). */
export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** The process of config.json, or of `exec --process`. */
export interface OciProcess {
  terminal: boolean;
  consoleSize: { height: number; width: number } | null;
  uid: number;
  gid: number;
  umask: number | null;
  additionalGids: number[];
  args: string[];
  env: string[];
  cwd: string;
  capabilities: Record<"bounding" | "effective" | "permitted" | "inheritable" | "ambient", string[]>;
  rlimits: { type: string; soft: number; hard: number }[];
  noNewPrivileges: boolean;
  oomScoreAdj: number | null;
}

/** The part of config.json this runtime applies, checked. */
export interface OciConfig {
  ociVersion: string;
  root: { path: string; readonly: boolean };
  mounts: OciMount[];
  process: OciProcess;
  hostname: string;
  annotations: Record<string, string>;
  linux: {
    namespaces: { type: string; path: string | null }[];
    uidMappings: OciIdMapping[];
    gidMappings: OciIdMapping[];
    devices: OciDevice[];
    sysctl: Record<string, string>;
    /** The JSON of linux.seccomp, as src/seccomp/oci.ts reads it, or null. */
    seccomp: string | null;
    maskedPaths: string[];
    readonlyPaths: string[];
    cgroupsPath: string | null;
    resources: OciResources;
  };
}

type Json = Record<string, unknown>;

/** Reads fields of one JSON object, naming each by its path in errors. */
class Reader {
  constructor(readonly at: string, readonly o: Json) {}
  static of(at: string, v: unknown): Reader {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new OciConfigError(at, "expected an object");
    return new Reader(at, v as Json);
  }
  key(k: string): string {
    return this.at ? `${this.at}.${k}` : k;
  }
  has(k: string): boolean {
    return this.o[k] !== undefined && this.o[k] !== null;
  }
  /** A field this runtime cannot apply: refused when it holds anything. */
  refuse(k: string, why: string) {
    const v = this.o[k];
    const empty = v === undefined || v === null || v === "" || v === false ||
      (Array.isArray(v) && v.length === 0) || (typeof v === "object" && !Array.isArray(v) && !Object.keys(v).length);
    if (!empty) throw new OciConfigError(this.key(k), `not supported: ${why}`);
  }
  str(k: string, fallback?: string): string {
    const v = this.o[k];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== "string") throw new OciConfigError(this.key(k), "expected a string");
    return v;
  }
  bool(k: string): boolean {
    const v = this.o[k];
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") throw new OciConfigError(this.key(k), "expected true or false");
    return v;
  }
  int(k: string, min: number, max: number, fallback?: number): number {
    const v = this.o[k];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new OciConfigError(this.key(k), `expected a whole number from ${min} to ${max}`);
    }
    return v;
  }
  ints(k: string, min: number, max: number): number[] {
    const v = this.o[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new OciConfigError(this.key(k), "expected an array of numbers");
    return v.map((_, i) => new Reader(this.key(k), v as unknown as Json).int(String(i), min, max));
  }
  strings(k: string): string[] {
    const v = this.o[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
      throw new OciConfigError(this.key(k), "expected an array of strings");
    }
    return v as string[];
  }
  list(k: string): Reader[] {
    const v = this.o[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new OciConfigError(this.key(k), "expected an array");
    return v.map((e, i) => Reader.of(`${this.key(k)}[${i}]`, e));
  }
  child(k: string): Reader {
    return this.has(k) ? Reader.of(this.key(k), this.o[k]) : new Reader(this.key(k), {});
  }
}

/** uint64's largest value, as JSON.parse gives it (inexactly): RLIM_INFINITY. */
const U64_MAX = 2 ** 64;

function mappings(r: Reader, k: string): OciIdMapping[] {
  return r.list(k).map((m) => ({
    containerID: m.int("containerID", 0, 2 ** 32 - 1),
    hostID: m.int("hostID", 0, 2 ** 32 - 1),
    size: m.int("size", 1, 2 ** 32),
  }));
}

/**
 * The process object of config.json (or of `exec --process`).
 *
 * @example
 * ```ts
 * import { readProcess } from "./config.ts";
 * const p = readProcess({ args: ["sh"], cwd: "/", user: { uid: 0, gid: 0 } }, "process");
 * console.log(p.args, p.terminal); // ["sh"] false
 * ```
 */
export function readProcess(v: unknown, at: string): OciProcess {
  const p = Reader.of(at, v);
  for (const k of ["apparmorProfile", "selinuxLabel", "scheduler", "ioPriority", "execCPUAffinity", "commandLine"]) {
    p.refuse(k, "hakoniwa applies no such setting");
  }
  const user = p.child("user");
  user.refuse("username", "a Windows setting");
  const args = p.strings("args");
  if (!args.length) throw new OciConfigError(p.key("args"), "expected the command and its arguments");
  const caps = p.child("capabilities");
  const console = p.has("consoleSize") ? p.child("consoleSize") : null;
  return {
    terminal: p.bool("terminal"),
    consoleSize: console ? { height: console.int("height", 0, 65535), width: console.int("width", 0, 65535) } : null,
    uid: user.int("uid", 0, 2 ** 32 - 2),
    gid: user.int("gid", 0, 2 ** 32 - 2),
    umask: user.has("umask") ? user.int("umask", 0, 0o777) : null,
    additionalGids: user.ints("additionalGids", 0, 2 ** 32 - 2),
    args,
    env: p.strings("env"),
    cwd: p.str("cwd", "/"),
    capabilities: {
      bounding: caps.strings("bounding"),
      effective: caps.strings("effective"),
      permitted: caps.strings("permitted"),
      inheritable: caps.strings("inheritable"),
      ambient: caps.strings("ambient"),
    },
    rlimits: p.list("rlimits").map((l) => {
      const value = (k: string) => {
        const n = l.o[k];
        if (typeof n !== "number" || n < 0) throw new OciConfigError(l.key(k), "expected a whole number");
        return n >= U64_MAX - 1 ? Infinity : n;
      };
      return { type: l.str("type"), soft: value("soft"), hard: value("hard") };
    }),
    noNewPrivileges: p.bool("noNewPrivileges"),
    oomScoreAdj: p.has("oomScoreAdj") ? p.int("oomScoreAdj", -1000, 1000) : null,
  };
}

/**
 * linux.resources this runtime applies through the container's cgroup (src/oci/resources.ts); null: not set (or
 * unlimited, -1).
 */
export interface OciResources {
  memory: { limit: number | null; reservation: number | null; swap: number | null; swappiness: number | null };
  cpu: { shares: number | null; quota: number | null; period: number | null; cpus: string | null; mems: string | null };
  pids: number | null;
}

/** linux.resources: memory, CPU and pids through the cgroup, device rules met by construction; the rest refused. */
function resources(r: Reader): OciResources {
  for (const k of ["blockIO", "hugepageLimits", "network", "rdma", "unified"]) {
    r.refuse(k, "hakoniwa's cgroups keep memory, CPU and process limits only");
  }
  // Device rules are met by construction: only linux.devices and the default devices are in the container, on nodev
  // mounts, and its processes may not mount (docs/oci.md).
  for (const d of r.list("devices")) {
    d.bool("allow");
    d.str("access", "rwm");
  }
  /** A limit where -1 (and, for some, 0) means none. */
  const limit = (o: Reader, k: string, min: number, max = 2 ** 62) =>
    !o.has(k) || o.o[k] === -1 || (min > 0 && o.o[k] === 0) ? null : o.int(k, min, max);
  const memory = r.child("memory");
  for (const k of ["kernel", "kernelTCP"]) memory.refuse(k, "kernel memory limits are gone from the kernel");
  if (memory.bool("disableOOMKiller")) memory.refuse("disableOOMKiller", "the OOM killer keeps the memory limit");
  memory.bool("useHierarchy");
  memory.bool("checkBeforeUpdate");
  const cpu = r.child("cpu");
  for (const k of ["realtimeRuntime", "realtimePeriod", "idle", "burst"]) {
    cpu.refuse(k, "hakoniwa sets CPU shares, quota, period, cpus and mems only");
  }
  const pids = r.child("pids");
  return {
    memory: {
      limit: limit(memory, "limit", 1),
      reservation: limit(memory, "reservation", 1),
      swap: limit(memory, "swap", 1),
      swappiness: memory.has("swappiness") ? memory.int("swappiness", 0, 100) : null,
    },
    cpu: {
      shares: limit(cpu, "shares", 2, 262144),
      quota: limit(cpu, "quota", 1000),
      period: limit(cpu, "period", 1000, 1_000_000),
      cpus: cpu.str("cpus", "") || null,
      mems: cpu.str("mems", "") || null,
    },
    pids: limit(pids, "limit", 1, 2 ** 31),
  };
}

/**
 * Parses and checks config.json's text.
 *
 * @example
 * ```ts
 * import { readConfig } from "./config.ts";
 * const c = readConfig(JSON.stringify({
 *   ociVersion: "1.0.2", root: { path: "rootfs" }, process: { args: ["true"], cwd: "/", user: { uid: 0, gid: 0 } },
 *   linux: { namespaces: [{ type: "pid" }, { type: "mount" }] },
 * }));
 * console.log(c.root.path, c.linux.namespaces.length); // "rootfs" 2
 * ```
 */
export function readConfig(text: string): OciConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new OciConfigError("(file)", `not JSON: ${e instanceof Error ? e.message : e}`);
  }
  const c = Reader.of("", json);
  const version = c.str("ociVersion");
  if (!/^1\.\d+\.\d+/.test(version)) throw new OciConfigError("ociVersion", `${version}: this runtime speaks 1.x`);
  c.refuse("hooks", "hakoniwa runs no hooks");
  c.refuse("domainname", "hakoniwa sets no domain name");
  for (const k of ["solaris", "windows", "vm", "zos"]) c.refuse(k, "this runtime runs Linux containers");
  const root = c.child("root");
  const linux = c.child("linux");
  for (const k of ["intelRdt", "personality", "timeOffsets", "mountLabel", "memoryPolicy", "netDevices"]) {
    linux.refuse(k, "hakoniwa applies no such setting");
  }
  const propagation = linux.str("rootfsPropagation", "");
  if (!["", "private", "rprivate"].includes(propagation)) {
    throw new OciConfigError("linux.rootfsPropagation", `${propagation}: not supported (the root is always private)`);
  }
  const annotations: Record<string, string> = {};
  const a = c.child("annotations");
  for (const k of Object.keys(a.o)) annotations[k] = a.str(k);
  const sysctl: Record<string, string> = {};
  const s = linux.child("sysctl");
  for (const k of Object.keys(s.o)) sysctl[k] = s.str(k);
  return {
    ociVersion: version,
    root: { path: root.str("path"), readonly: root.bool("readonly") },
    mounts: c.list("mounts").map((m) => {
      m.refuse("uidMappings", "id-mapped mounts");
      m.refuse("gidMappings", "id-mapped mounts");
      return {
        destination: m.str("destination"),
        type: m.str("type", ""),
        source: m.str("source", ""),
        options: m.strings("options"),
      };
    }),
    process: readProcess(c.o.process, "process"),
    hostname: c.str("hostname", ""),
    annotations,
    linux: {
      namespaces: linux.list("namespaces").map((n) => ({ type: n.str("type"), path: n.str("path", "") || null })),
      uidMappings: mappings(linux, "uidMappings"),
      gidMappings: mappings(linux, "gidMappings"),
      devices: linux.list("devices").map((d) => ({
        path: d.str("path"),
        type: d.str("type"),
        major: d.int("major", 0, 2 ** 32, 0),
        minor: d.int("minor", 0, 2 ** 32, 0),
        ...(d.has("fileMode") ? { fileMode: d.int("fileMode", 0, 0o7777) } : {}),
        ...(d.has("uid") ? { uid: d.int("uid", 0, 2 ** 32 - 2) } : {}),
        ...(d.has("gid") ? { gid: d.int("gid", 0, 2 ** 32 - 2) } : {}),
      })),
      sysctl,
      seccomp: linux.has("seccomp") ? JSON.stringify(linux.o.seccomp) : null,
      maskedPaths: linux.strings("maskedPaths"),
      readonlyPaths: linux.strings("readonlyPaths"),
      cgroupsPath: linux.str("cgroupsPath", "") || null,
      resources: resources(linux.child("resources")),
    },
  };
}
