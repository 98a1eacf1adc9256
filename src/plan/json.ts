/**
 * The plan as JSON and back: what `hakoniwa explain --json` prints, and a
 * checked reader of it.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { ALL_NAMESPACES, type Namespace } from "./namespace.ts";
import type { MountOp, Plan } from "./types.ts";
import { unconfinedProfile } from "../seccomp/profile.ts";

const MOUNT_FIELDS: Record<MountOp["kind"], Record<string, string>> = {
  bind: {
    source: "string",
    target: "string",
    readonly: "boolean",
    dev: "boolean?",
    layer: "boolean?",
    flags: "object?",
  },
  tmpfs: { target: "string", size: "number", inodes: "number", mode: "number", noexec: "boolean?" },
  proc: { target: "string" },
  devpts: { target: "string" },
  dir: { target: "string", mode: "number" },
  file: { target: "string", contents: "string", mode: "number" },
  symlink: { original: "string", target: "string" },
  readonly: { target: "string", optional: "boolean" },
  fs: { fstype: "string", target: "string", options: "string", flags: "object" },
  mask: { target: "string" },
  write: { target: "string", contents: "string" },
};

function typeOf(v: unknown): string {
  return typeof v;
}

function checkFields(what: string, v: unknown, fields: Record<string, string>): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new UsageError(`${what}: expected an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(k in fields)) throw new UsageError(`${what}.${k}: unknown field`);
  for (const [k, type] of Object.entries(fields)) {
    const optional = type.endsWith("?");
    if (o[k] === undefined && optional) continue;
    const t = type.replace("?", "");
    const ok = t.split("|").some((one) =>
      one === "array" ? Array.isArray(o[k]) : one === "null" ? o[k] === null : o[k] !== null && typeOf(o[k]) === one
    );
    if (!ok) throw new UsageError(`${what}.${k}: expected ${t}`);
  }
  return o;
}

function isBigint(v: unknown): v is { bigint: string } {
  return typeof v === "object" && v !== null && Object.keys(v).length === 1 &&
    typeof (v as { bigint?: unknown }).bigint === "string" && /^-?\d+$/.test((v as { bigint: string }).bigint);
}

/**
 * The plan as JSON, as `hakoniwa explain --json` prints it; a bigint (a
 * seccomp argument) becomes `{ "bigint": "DIGITS" }`.
 *
 * @example
 * ```ts ignore
 * const text = planToJson(plan); // planFromJson(text) equals plan
 * ```
 */
export function planToJson(plan: Plan): string {
  return JSON.stringify(plan, (_k, v) => typeof v === "bigint" ? { bigint: v.toString() } : v, 2);
}

/**
 * Reads a plan back from the JSON that `hakoniwa explain --json` prints,
 * checking every field. `encodeSpec` of the result equals that of the
 * plan that was printed.
 *
 * @example
 * ```ts ignore
 * const plan = planFromJson(await Deno.readTextFile("plan.json"));
 * ```
 */
export function planFromJson(text: string): Plan {
  const o = checkFields("plan", JSON.parse(text, (_k, v) => isBigint(v) ? BigInt(v.bigint) : v), {
    namespaces: "array",
    root: "object",
    mounts: "array",
    uidMap: "array",
    gidMap: "array",
    uid: "number",
    gid: "number",
    groups: "array|null?",
    allowNewPrivs: "boolean?",
    hostname: "string",
    rlimits: "array",
    walltime: "number|null",
    env: "array",
    program: "string",
    argv: "array",
    searchPath: "string",
    cwd: "string",
    loopback: "boolean",
    keyring: "boolean",
    landlock: "object|null",
    network: "object",
    allowNet: "object?",
    seccomp: "object|null",
    cgroup: "object|null?",
  });
  // A plan printed before these existed: no groups asked for, no_new_privs set, no cgroup.
  o.groups ??= null;
  o.cgroup ??= null;
  if (o.cgroup !== null) {
    checkFields("plan.cgroup", o.cgroup, { memory: "number?", cpus: "number?", pids: "number?", parent: "string?" });
  }
  o.allowNewPrivs ??= false;
  if (o.groups !== null && (o.groups as unknown[]).some((g) => typeof g !== "number")) {
    throw new UsageError("plan.groups: expected gids");
  }
  // A plan printed before the guard existed: no profile is the unconfined one, which still has the guard.
  if (o.seccomp === null) o.seccomp = unconfinedProfile();
  {
    checkFields("plan.seccomp", o.seccomp, {
      name: "string",
      defaultAction: "string|object",
      badArchAction: "string|object?",
      arches: "array",
      rules: "array",
    });
  }
  // Landlock and network settings are checked again by their modules when a sandbox starts.
  checkFields("plan.network", o.network, { mode: "string", options: "array" });
  if (o.allowNet !== undefined) {
    checkFields("plan.allowNet", o.allowNet, { rules: "array", port: "number", socket: "string" });
  }
  if (o.landlock !== null) {
    checkFields("plan.landlock", o.landlock, {
      restrict: "array",
      unrestricted: "array",
      paths: "array",
      ports: "array",
      bestEffort: "boolean",
      maxAbi: "number|null",
    });
  }
  for (const ns of o.namespaces as unknown[]) {
    if (!ALL_NAMESPACES.includes(ns as Namespace)) throw new UsageError(`plan.namespaces: unknown ${ns}`);
  }
  checkFields("plan.root", o.root, { source: "string|null", readonly: "boolean", layer: "boolean?" });
  (o.mounts as unknown[]).forEach((m, i) => {
    const kind = (m as { kind?: string })?.kind as MountOp["kind"];
    if (!(kind in MOUNT_FIELDS)) throw new UsageError(`plan.mounts[${i}].kind: unknown ${kind}`);
    checkFields(`plan.mounts[${i}]`, m, { kind: "string", ...MOUNT_FIELDS[kind] });
  });
  for (const key of ["uidMap", "gidMap"]) {
    (o[key] as unknown[]).forEach((m, i) =>
      checkFields(`plan.${key}[${i}]`, m, { container: "number", host: "number", count: "number" })
    );
  }
  (o.rlimits as unknown[]).forEach((l, i) => checkFields(`plan.rlimits[${i}]`, l, { name: "string", value: "number" }));
  for (const e of o.env as unknown[]) {
    if (!Array.isArray(e) || e.length !== 2 || e.some((x) => typeof x !== "string")) {
      throw new UsageError("plan.env: expected [name, value] pairs");
    }
  }
  if ((o.argv as unknown[]).some((a) => typeof a !== "string")) throw new UsageError("plan.argv: expected strings");
  return o as unknown as Plan;
}
