/**
 * OCI / docker / podman seccomp profiles (JSON) as {@link SeccompProfile}s,
 * and `--seccomp default|strict|audit|unconfined|PATH.json`.
 *
 * Honoured: `defaultAction`, `defaultErrnoRet`, `architectures`, `archMap`
 * (the entry of this machine's arch and its sub-architectures),
 * `syscalls[].names` (or the older `name`), `action`, `errnoRet`, `args`
 * (`index`, `value`, `valueTwo`, `op`), and docker's `includes` /
 * `excludes` (`arches`, `caps`: the sandbox holds no capabilities, so an
 * entry that needs one is left out). Names this machine does not know are
 * skipped, as runc and crun do.
 *
 * @module
 */
import { fileErrorText, UsageError } from "../common/errors.ts";
import { readHostTextSync } from "../native/safe_open.ts";
import type { CMP } from "./libseccomp.ts";
import {
  auditProfile,
  defaultProfile,
  type SeccompAction,
  type SeccompArg,
  type SeccompProfile,
  type SeccompRule,
} from "./profile.ts";

const ACTIONS: Record<string, SeccompAction | "errno"> = {
  SCMP_ACT_ALLOW: "allow",
  SCMP_ACT_KILL: "kill_thread",
  SCMP_ACT_KILL_THREAD: "kill_thread",
  SCMP_ACT_KILL_PROCESS: "kill_process",
  SCMP_ACT_TRAP: "trap",
  SCMP_ACT_LOG: "log",
  SCMP_ACT_ERRNO: "errno",
};

const OPS: Record<string, keyof typeof CMP> = {
  SCMP_CMP_NE: "ne",
  SCMP_CMP_LT: "lt",
  SCMP_CMP_LE: "le",
  SCMP_CMP_EQ: "eq",
  SCMP_CMP_GE: "ge",
  SCMP_CMP_GT: "gt",
  SCMP_CMP_MASKED_EQ: "masked_eq",
};

/** Docker's arch names for `includes.arches`, by libseccomp's native name. */
const DOCKER_ARCH: Record<string, string[]> = { x86_64: ["amd64", "x86_64"], aarch64: ["arm64", "aarch64"] };

/** The machine's arch as libseccomp spells it (`x86_64`, `aarch64`...). */
function nativeArch(): string {
  const m = Deno.build.arch;
  return m;
}

/** `SCMP_ARCH_X86_64` -> `x86_64`. */
function archName(s: string): string {
  return s.replace(/^SCMP_ARCH_/, "").toLowerCase();
}

class Checker {
  constructor(readonly file: string) {}
  fail(key: string, msg: string): never {
    throw new UsageError(`seccomp profile ${this.file}: ${key ? `${key}: ` : ""}${msg}`, "seccomp");
  }
  obj(key: string, v: unknown): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(key, "expected an object");
    return v as Record<string, unknown>;
  }
  arr(key: string, v: unknown): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(key, "expected an array");
    return v;
  }
  str(key: string, v: unknown): string {
    if (typeof v !== "string") this.fail(key, "expected a string");
    return v;
  }
  uint(key: string, v: unknown, max: bigint): bigint {
    const n = typeof v === "bigint" ? v : typeof v === "number" && Number.isInteger(v) ? BigInt(v) : null;
    if (n === null || n < 0n || n > max) this.fail(key, `expected a whole number from 0 to ${max}`);
    return n;
  }
  action(key: string, v: unknown, errnoRet: unknown, errnoKey: string): SeccompAction {
    const name = this.str(key, v);
    const a = ACTIONS[name];
    if (a === undefined) {
      this.fail(
        key,
        `unsupported action ${JSON.stringify(name)} (expected one of: ${Object.keys(ACTIONS).join(", ")})`,
      );
    }
    if (a !== "errno") return a;
    return { errno: errnoRet === undefined ? 1 : Number(this.uint(errnoKey, errnoRet, 4095n)) };
  }
}

/**
 * Parses an OCI / docker / podman seccomp profile.
 *
 * @example
 * ```ts
 * import { ociProfile } from "jsr:@hakoniwa/cli";
 * const p = ociProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ERRNO"}]}', "p.json");
 * console.log(p.rules[0].action); // { errno: 1 }
 * ```
 */
export function ociProfile(text: string, file: string): SeccompProfile {
  const c = new Checker(file);
  let raw: unknown;
  try {
    // Keep 64-bit argument values exact: numbers past 2^53 become bigints from their source text.
    raw = JSON.parse(
      text,
      (_k, v, ctx?: { source?: string }) =>
        typeof v === "number" && !Number.isSafeInteger(v) && ctx?.source && /^\d+$/.test(ctx.source)
          ? BigInt(ctx.source)
          : v,
    );
  } catch (e) {
    c.fail("", `not valid JSON: ${e instanceof Error ? e.message : e}`);
  }
  const top = c.obj("(top)", raw);
  const defaultAction = c.action("defaultAction", top.defaultAction, top.defaultErrnoRet, "defaultErrnoRet");
  const native = nativeArch();
  const arches = new Set<string>();
  for (const [i, a] of c.arr("architectures", top.architectures).entries()) {
    arches.add(archName(c.str(`architectures[${i}]`, a)));
  }
  for (const [i, m] of c.arr("archMap", top.archMap).entries()) {
    const e = c.obj(`archMap[${i}]`, m);
    if (archName(c.str(`archMap[${i}].architecture`, e.architecture)) !== native) continue;
    for (const [j, s] of c.arr(`archMap[${i}].subArchitectures`, e.subArchitectures).entries()) {
      arches.add(archName(c.str(`archMap[${i}].subArchitectures[${j}]`, s)));
    }
  }
  arches.delete(native);
  const rules: SeccompRule[] = [];
  for (const [i, s] of c.arr("syscalls", top.syscalls).entries()) {
    const at = `syscalls[${i}]`;
    const e = c.obj(at, s);
    const names = e.names !== undefined
      ? c.arr(`${at}.names`, e.names).map((n, j) => c.str(`${at}.names[${j}]`, n))
      : e.name !== undefined
      ? [c.str(`${at}.name`, e.name)]
      : c.fail(`${at}.names`, "missing");
    const action = c.action(`${at}.action`, e.action, e.errnoRet, `${at}.errnoRet`);
    if (!applies(c, at, e, native)) continue;
    const args = c.arr(`${at}.args`, e.args).map((x, j): SeccompArg => {
      const k = `${at}.args[${j}]`;
      const a = c.obj(k, x);
      const op = OPS[c.str(`${k}.op`, a.op)];
      if (!op) c.fail(`${k}.op`, `expected one of: ${Object.keys(OPS).join(", ")}`);
      const index = Number(c.uint(`${k}.index`, a.index, 5n));
      const value = c.uint(`${k}.value`, a.value ?? 0, 0xffffffffffffffffn);
      const valueTwo = c.uint(`${k}.valueTwo`, a.valueTwo ?? 0, 0xffffffffffffffffn);
      // OCI follows libseccomp: for SCMP_CMP_MASKED_EQ, value is the mask and valueTwo the value.
      return op === "masked_eq" ? { index, op, mask: value, value: valueTwo } : { index, op, value };
    });
    rules.push({ names, action, args, skipUnknown: true });
  }
  return {
    name: file,
    defaultAction,
    badArchAction: "kill_process",
    arches: [...arches],
    rules,
  };
}

/** docker's `includes` / `excludes`: does this entry apply to a sandbox with no capabilities on this arch? */
function applies(c: Checker, at: string, e: Record<string, unknown>, native: string): boolean {
  const dockerNames = DOCKER_ARCH[native] ?? [native];
  const list = (k: string, v: unknown) => c.arr(k, v).map((x, i) => c.str(`${k}[${i}]`, x));
  if (e.includes !== undefined) {
    const inc = c.obj(`${at}.includes`, e.includes);
    const arches = list(`${at}.includes.arches`, inc.arches);
    if (arches.length && !arches.some((a) => dockerNames.includes(a))) return false;
    if (list(`${at}.includes.caps`, inc.caps).length) return false;
  }
  if (e.excludes !== undefined) {
    const exc = c.obj(`${at}.excludes`, e.excludes);
    if (list(`${at}.excludes.arches`, exc.arches).some((a) => dockerNames.includes(a))) return false;
  }
  return true;
}

/**
 * The profile `--seccomp VALUE` (or `[seccomp] profile`) names: `default`
 * (alias `podman`, 1.x's name),
 * `strict` (default and no new namespaces), `audit` (allow and log every
 * syscall, as 1.x), `unconfined` (null: no filter) or the path of a JSON
 * profile, relative to `base`.
 *
 * @example
 * ```ts
 * import { resolveSeccomp } from "jsr:@hakoniwa/cli";
 * console.log(resolveSeccomp("unconfined")); // null
 * ```
 */
export function resolveSeccomp(value: string, base: string = Deno.cwd()): SeccompProfile | null {
  switch (value) {
    case "unconfined":
      return null;
    case "default":
    case "podman": // 1.x's default profile's name: this project's default stands for it (docs/compat.md)
      return defaultProfile();
    case "strict":
      return defaultProfile({ noNamespaces: true });
    case "audit":
      return auditProfile();
  }
  if (!value.includes("/") && !value.endsWith(".json")) {
    throw new UsageError(
      `seccomp: expected default (or podman), strict, audit, unconfined or the path of a JSON profile, got ${
        JSON.stringify(value)
      }`,
      "seccomp",
    );
  }
  const path = value.startsWith("/") ? value : `${base.replace(/\/$/, "")}/${value}`;
  let text: string;
  try {
    text = readHostTextSync(path);
  } catch (e) {
    throw new UsageError(`seccomp: cannot read ${path}: ${fileErrorText(e)}`, "seccomp", { cause: e });
  }
  return ociProfile(text, path);
}
