/**
 * A seccomp profile in hakoniwa 1.x's debug words (`-vv`): how many rules it
 * loads (one per syscall name of each rule, and one for the default action,
 * as 1.x counts), for which architectures (sorted, in 1.x's spelling), and
 * each rule (`Seccomp rule: ioctl($1 & 4294967295 = 21522, ..) -> Errno(1)`).
 *
 * @module
 */
import type { SeccompAction, SeccompArg, SeccompProfile } from "./profile.ts";

/**
 * An architecture as 1.x names it: libseccomp's name without underscores, its first letter upper case
 * (`x86_64` -> `X8664`, `aarch64` -> `Aarch64`).
 *
 * @example
 * ```ts
 * import { archName1x } from "./lines_1x.ts";
 * console.log(archName1x("x86_64"), archName1x("x32"), archName1x("aarch64")); // X8664 X32 Aarch64
 * ```
 */
export function archName1x(arch: string): string {
  const a = arch.replace(/_/g, "").toLowerCase();
  return a.charAt(0).toUpperCase() + a.slice(1);
}

/**
 * An action as 1.x prints it: `Allow`, `Errno(1)`, `KillProcess`, `KillThread`, `Log`, `Trap`.
 *
 * @example
 * ```ts
 * import { actionName1x } from "./lines_1x.ts";
 * console.log(actionName1x({ errno: 1 }), actionName1x("kill_process")); // Errno(1) KillProcess
 * ```
 */
export function actionName1x(a: SeccompAction): string {
  if (typeof a === "object") return `Errno(${a.errno})`;
  return a.split("_").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
}

const OPS: Record<Exclude<SeccompArg["op"], "masked_eq">, string> = {
  ne: "!=",
  lt: "<",
  le: "<=",
  eq: "==",
  ge: ">=",
  gt: ">",
};

/** One argument condition as 1.x prints it: `$1 == 5`, `$0 & 268435456 = 268435456`. */
function argText(c: SeccompArg): string {
  return c.op === "masked_eq" ? `$${c.index} & ${c.mask ?? 0n} = ${c.value}` : `$${c.index} ${OPS[c.op]} ${c.value}`;
}

/**
 * The `-vv` lines of a profile that loads a filter (null for none, as 1.x
 * logs nothing under `unconfined`): the count line, the default action's
 * line, then one line per syscall name of each rule, in order.
 *
 * @example
 * ```ts
 * import { seccompLines1x } from "./lines_1x.ts";
 * const lines = seccompLines1x(
 *   { name: "p", defaultAction: { errno: 1 }, arches: ["x86", "x32"], rules: [{ names: ["read", "write"], action: "allow" }] },
 *   "x86_64",
 * );
 * console.log(lines[0]); // "Seccomp: Load 3 rules for architectures(X32, X86, X8664)"
 * console.log(lines[1]); // "Seccomp rule: ... -> Errno(1)"
 * console.log(lines[2]); // "Seccomp rule: read(..) -> Allow"
 * ```
 */
export function seccompLines1x(p: SeccompProfile | null, nativeArch: string): string[] {
  if (!p) return [];
  const arches = [...new Set([nativeArch, ...p.arches])].map(archName1x).sort();
  const rules = p.rules.flatMap((r) =>
    r.names.map((name) => {
      const args = (r.args ?? []).map(argText);
      return `Seccomp rule: ${name}(${args.length ? `${args.join(", ")}, ` : ""}..) -> ${actionName1x(r.action)}`;
    })
  );
  return [
    `Seccomp: Load ${rules.length + 1} rules for architectures(${arches.join(", ")})`,
    `Seccomp rule: ... -> ${actionName1x(p.defaultAction)}`,
    ...rules,
  ];
}
