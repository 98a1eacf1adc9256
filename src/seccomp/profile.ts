/**
 * The seccomp room (src/seccomp/): takes a profile (built in, seed form or OCI JSON) and gives the BPF program the
 * sandbox installs, behind the guard that every sandbox gets.
 *
 * Seccomp profiles: a typed profile (default action, rules with argument
 * conditions, arches), the profiles shipped with hakoniwa (`default`,
 * `strict`, `audit`), the seed's `[seccomp]` policy form, OCI / docker /
 * podman JSON profiles, and compilation with libseccomp into the BPF
 * program the child installs just before execve.
 *
 * Syscalls of a foreign ABI (i386 `int $0x80` or x32 on x86_64) meet the
 * bad-arch action, which kills the process unless the profile names those
 * arches.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { ACT, archToken, type ArgCmp, ATTR, FilterContext, syscallNumber } from "./libseccomp.ts";
import { withGuard } from "./guard.ts";
import { PRECOMPILED, PRECOMPILED_ARCH } from "../generated/seccomp.js";

/**
 * What a rule (or the default) does with a syscall.
 *
 * @example
 * ```ts ignore
 * const refuse: SeccompAction = { errno: 1 };
 * ```
 */
export type SeccompAction = "allow" | "kill_process" | "kill_thread" | "trap" | "log" | { errno: number };

/** A comparison of a syscall argument (libseccomp's SCMP_CMP_*). */
export type SeccompCmp = "ne" | "lt" | "le" | "eq" | "ge" | "gt" | "masked_eq";

/**
 * A condition on one syscall argument; a rule applies when all of its conditions hold.
 *
 * @example
 * ```ts ignore
 * const tiocsti: SeccompArg = { index: 1, op: "masked_eq", mask: 0xffffffffn, value: 0x5412n };
 * ```
 */
export interface SeccompArg {
  /** Argument index, 0 to 5. */
  index: number;
  /** Comparison; `masked_eq` compares `(arg & mask) == value`. */
  op: SeccompCmp;
  /** The value compared with. */
  value: bigint;
  /** The mask of `masked_eq`. */
  mask?: bigint;
}

/**
 * One rule: these syscalls (with these argument conditions) get this action.
 *
 * @example
 * ```ts ignore
 * const rule: SeccompRule = { names: ["ptrace"], action: { errno: 1 } };
 * ```
 */
export interface SeccompRule {
  /** Syscall names. */
  names: string[];
  /** The action. */
  action: SeccompAction;
  /** Argument conditions, all of which must hold. */
  args?: SeccompArg[];
  /** Skip names this machine's libseccomp or arch does not know (OCI profiles list syscalls of every arch). */
  skipUnknown?: boolean;
}

/**
 * A seccomp profile.
 *
 * @example
 * ```ts ignore
 * const p: SeccompProfile = { name: "mine", defaultAction: "allow", arches: [], rules: [] };
 * ```
 */
export interface SeccompProfile {
  /** Name shown by `--verbose` (`default`, `strict`, `audit`, `seed allowlist`, a file path...). */
  name: string;
  /** Action for syscalls no rule matches. */
  defaultAction: SeccompAction;
  /** Action for syscalls of an arch the filter does not include (default: kill_process). */
  badArchAction?: SeccompAction;
  /** Arches besides the native one (libseccomp names: `x86`, `x32`, `aarch64`...). */
  arches: string[];
  /** Rules in order. */
  rules: SeccompRule[];
}

const EPERM = 1, ENOSYS = 38;

/**
 * Syscalls the default profile answers with EPERM.
 *
 * @example
 * ```ts ignore
 * DEFAULT_DENIED.includes("kexec_load"); // true
 * ```
 */
export const DEFAULT_DENIED: readonly string[] = [
  // kernel modules and kexec
  "init_module",
  "finit_module",
  "delete_module",
  "kexec_load",
  "kexec_file_load",
  // kernel programs and counters
  "bpf",
  "perf_event_open",
  // keyrings
  "keyctl",
  "add_key",
  "request_key",
  // other processes' memory
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  // clocks
  "settimeofday",
  "clock_settime",
  "clock_adjtime",
  "adjtimex",
  // swap, reboot, accounting, quotas, raw I/O ports
  "swapon",
  "swapoff",
  "reboot",
  "acct",
  "quotactl",
  "iopl",
  "ioperm",
  "syslog",
  "lookup_dcookie",
  "uselib",
  "vhangup",
  // mounts and the file handle escape
  "mount",
  "umount2",
  "pivot_root",
  "open_tree",
  "move_mount",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "mount_setattr",
  "name_to_handle_at",
  "open_by_handle_at",
];

/**
 * ioctl requests the default profile refuses: pushing input into a terminal.
 *
 * @example
 * ```ts ignore
 * TERMINAL_IOCTLS.TIOCSTI; // 0x5412n
 * ```
 */
export const TERMINAL_IOCTLS = { TIOCSTI: 0x5412n, TIOCLINUX: 0x541cn } as const;

/**
 * CLONE_NEW* flags refused by the `strict` profile.
 *
 * @example
 * ```ts ignore
 * NAMESPACE_FLAGS.CLONE_NEWUSER; // 0x10000000n
 * ```
 */
export const NAMESPACE_FLAGS = {
  CLONE_NEWTIME: 0x80n,
  CLONE_NEWNS: 0x20000n,
  CLONE_NEWCGROUP: 0x2000000n,
  CLONE_NEWUTS: 0x4000000n,
  CLONE_NEWIPC: 0x8000000n,
  CLONE_NEWUSER: 0x10000000n,
  CLONE_NEWPID: 0x20000000n,
  CLONE_NEWNET: 0x40000000n,
} as const;

/**
 * The names `--seccomp` and `[seccomp] profile` accept besides a JSON file.
 * `podman` (hakoniwa 1.x's default profile's name) is an alias of
 * `default`: 1.x's podman allow list is not shipped (docs/compat.md).
 *
 * @example
 * ```ts ignore
 * PROFILE_NAMES.includes("strict"); // true
 * ```
 */
export const PROFILE_NAMES = ["default", "strict", "audit", "unconfined", "podman"] as const;

/**
 * The default profile: everything is allowed except {@link DEFAULT_DENIED}
 * and the terminal ioctls (EPERM; only the low 32 bits of the request are
 * compared, as the kernel does), and foreign ABIs kill the process. With
 * `noNamespaces` (the `strict` profile) new namespaces are refused too:
 * clone/unshare with a CLONE_NEW* flag and setns get EPERM, clone3 (whose
 * flags a filter cannot see) gets ENOSYS so libc falls back to clone. With
 * `action: "log"` (the `audit` profile) nothing is refused: what would be
 * is logged by the kernel (what the `audit` profile did before it became
 * 1.x's {@link auditProfile}).
 *
 * @example
 * ```ts
 * import { defaultProfile } from "jsr:@hakoniwa/cli";
 * const p = defaultProfile();
 * console.log(p.defaultAction); // "allow"
 * ```
 */
export function defaultProfile(
  options: { noNamespaces?: boolean; action?: SeccompAction; name?: string } = {},
): SeccompProfile {
  const deny = options.action ?? { errno: EPERM };
  const rules: SeccompRule[] = [{ names: [...DEFAULT_DENIED], action: deny }];
  for (const req of Object.values(TERMINAL_IOCTLS)) {
    rules.push({
      names: ["ioctl"],
      action: deny,
      args: [{ index: 1, op: "masked_eq", mask: 0xffffffffn, value: req }],
    });
  }
  if (options.noNamespaces) {
    for (const flag of Object.values(NAMESPACE_FLAGS)) {
      rules.push({
        names: ["unshare", "clone"],
        action: deny,
        args: [{ index: 0, op: "masked_eq", mask: flag, value: flag }],
      });
    }
    rules.push({ names: ["setns"], action: deny });
    rules.push({ names: ["clone3"], action: options.action ?? { errno: ENOSYS } });
  }
  return {
    name: options.name ?? (options.noNamespaces ? "strict" : "default"),
    defaultAction: "allow",
    badArchAction: options.action === "log" ? "log" : "kill_process",
    arches: [],
    rules,
  };
}

/**
 * The `audit` profile, as hakoniwa 1.x's: every syscall is allowed and the
 * kernel logs it (default action `log`, no rules; a foreign ABI's syscalls
 * too), which is how one collects what a program needs for a profile of
 * its own. The guard (src/seccomp/guard.ts) still refuses what it refuses.
 * To see only what the `default` profile would refuse, use
 * `defaultProfile({ action: "log" })`.
 *
 * @example
 * ```ts
 * import { auditProfile } from "jsr:@hakoniwa/cli";
 * console.log(auditProfile().defaultAction, auditProfile().rules.length); // "log" 0
 * ```
 */
export function auditProfile(): SeccompProfile {
  return { name: "audit", defaultAction: "log", badArchAction: "log", arches: [], rules: [] };
}

/**
 * The `unconfined` profile: no rules of its own, every ABI allowed. A
 * sandbox with it still gets the guard (src/seccomp/guard.ts), which
 * refuses set-id modes, keyrings, openat2 and io_uring; so does every
 * other profile.
 *
 * @example
 * ```ts
 * import { unconfinedProfile } from "./profile.ts";
 * console.log(unconfinedProfile().name); // "unconfined"
 * ```
 */
export function unconfinedProfile(): SeccompProfile {
  return { name: "unconfined", defaultAction: "allow", badArchAction: "allow", arches: [], rules: [] };
}

/**
 * Whether a profile has nothing of its own (its program would allow everything): `unconfined`, whose sandbox
 * gets the guard alone.
 *
 * @example
 * ```ts
 * import { defaultProfile, isEmpty, unconfinedProfile } from "./profile.ts";
 * console.log(isEmpty(unconfinedProfile()), isEmpty(defaultProfile())); // true false
 * ```
 */
export function isEmpty(p: SeccompProfile): boolean {
  return p.rules.length === 0 && p.defaultAction === "allow" && (p.badArchAction ?? "kill_process") === "allow";
}

/**
 * Whether a profile can make the kernel write an audit record: a kill or
 * `log` action anywhere in it (errno and trap are not logged).
 *
 * @example
 * ```ts
 * import { defaultProfile, profileCanLogOrKill, unconfinedProfile } from "./profile.ts";
 * console.log(profileCanLogOrKill(defaultProfile()), profileCanLogOrKill(unconfinedProfile())); // true false
 * ```
 */
export function profileCanLogOrKill(p: SeccompProfile): boolean {
  const loud = (a: SeccompAction) => a === "kill_process" || a === "kill_thread" || a === "log";
  return loud(p.defaultAction) || loud(p.badArchAction ?? "kill_process") || p.rules.some((r) => loud(r.action));
}

/**
 * The syscalls among `names` that a profile may refuse: a rule naming one
 * with an action other than allow or log (whatever its argument
 * conditions), or a refusing default action that no unconditional allow
 * rule lifts. The guard's own refusals (set-id modes, keyrings, openat2,
 * io_uring) are not among them.
 *
 * @example
 * ```ts
 * import { refusedSyscalls, seedProfile } from "./profile.ts";
 * const p = seedProfile(["read", "write", "execve"], "kill_process");
 * console.log(refusedSyscalls(p, ["execve", "setresuid"])); // ["setresuid"]
 * ```
 */
export function refusedSyscalls(p: SeccompProfile, names: readonly string[]): string[] {
  const lets = (a: SeccompAction) => a === "allow" || a === "log";
  return names.filter((n) => {
    const rules = p.rules.filter((r) => r.names.includes(n));
    if (rules.some((r) => !lets(r.action))) return true;
    return !lets(p.defaultAction) && !rules.some((r) => lets(r.action) && !r.args?.length);
  });
}

/**
 * The seed's `dismatch_action` values.
 *
 * @example
 * ```ts ignore
 * DISMATCH_ACTIONS[0]; // "kill_process"
 * ```
 */
export const DISMATCH_ACTIONS: readonly DismatchAction[] = ["kill_process", "allow", "log"];

/** The seed's `dismatch_action`: what happens to syscalls not in the list. */
export type DismatchAction = "kill_process" | "allow" | "log";

/**
 * The seed's `[seccomp]` form: with `kill_process` the listed syscalls are
 * the only ones allowed (allowlist), with `allow` they kill the process
 * (denylist), with `log` everything runs and unlisted syscalls are logged
 * (audit).
 *
 * @example
 * ```ts
 * import { seedProfile } from "jsr:@hakoniwa/cli";
 * const p = seedProfile(["read", "write", "exit_group"], "kill_process");
 * console.log(p.defaultAction, p.rules[0].action); // "kill_process" "allow"
 * ```
 */
export function seedProfile(syscalls: string[], dismatch: DismatchAction): SeccompProfile {
  const [dflt, listed, kind]: [SeccompAction, SeccompAction, string] = dismatch === "kill_process"
    ? ["kill_process", "allow", "allowlist"]
    : dismatch === "allow"
    ? ["allow", "kill_process", "denylist"]
    : ["log", "allow", "audit"];
  return {
    name: `policy ${kind} (dismatch_action ${dismatch}, ${syscalls.length} syscalls)`,
    defaultAction: dflt,
    badArchAction: dismatch === "log" ? "log" : "kill_process",
    arches: [],
    rules: syscalls.length ? [{ names: [...syscalls], action: listed }] : [],
  };
}

function actionValue(a: SeccompAction): number {
  if (typeof a === "object") return ACT.errno(a.errno);
  return {
    allow: ACT.ALLOW,
    kill_process: ACT.KILL_PROCESS,
    kill_thread: ACT.KILL_THREAD,
    trap: ACT.TRAP,
    log: ACT.LOG,
  }[a];
}

/**
 * Describes an action: `allow`, `errno EPERM(1)`...
 *
 * @example
 * ```ts ignore
 * describeAction({ errno: 1 }); // "errno 1"
 * ```
 */
export function describeAction(a: SeccompAction): string {
  return typeof a === "object" ? `errno ${a.errno}` : a;
}

/**
 * One line for `--verbose`.
 *
 * @example
 * ```ts
 * import { defaultProfile, describeProfile } from "./profile.ts";
 * console.log(describeProfile(defaultProfile()));
 * ```
 */
export function describeProfile(p: SeccompProfile | null): string {
  if (!p || isEmpty(p)) return "unconfined: no profile, only the guard (no set-id modes, keyrings, openat2, io_uring)";
  const names = new Set(p.rules.flatMap((r) => r.names));
  return `${p.name}: default action ${describeAction(p.defaultAction)}, ${p.rules.length} rules on ${names.size} ` +
    `syscalls, arches native${p.arches.map((a) => `, ${a}`).join("")}, other arches ${
      describeAction(p.badArchAction ?? "kill_process")
    }`;
}

/**
 * Whether libseccomp knows a syscall name on the native arch.
 *
 * @example
 * ```ts ignore
 * isSyscallName("getppid"); // true
 * ```
 */
export function isSyscallName(name: string): boolean {
  return syscallNumber(name) !== null;
}

function sameAction(a: SeccompAction, b: SeccompAction): boolean {
  return actionValue(a) === actionValue(b);
}

/**
 * Compiles a profile with libseccomp into a struct sock_filter[] program,
 * behind the guard of src/seccomp/guard.ts (a profile with nothing of its
 * own, `unconfined`, is the guard alone and needs no libseccomp).
 * Throws {@link UsageError} for an unknown syscall or arch, and
 * HakoniwaError when libseccomp is missing.
 *
 * @example
 * ```ts ignore
 * const bpf = compileProfile(defaultProfile());
 * console.log(bpf.length / 8, "instructions");
 * ```
 */
export function compileProfile(p: SeccompProfile): Uint8Array {
  // A program is a pure function of its profile: sandboxes started together (or one after another) with the
  // same profile share one compilation, which otherwise runs on the JS thread for every start. The shipped
  // profiles come compiled in the module graph (scripts/generate.ts): no libseccomp on their path at all.
  const key = profileKey(p);
  let program = compiled.get(key);
  if (!program) {
    const shipped = Deno.build.arch === PRECOMPILED_ARCH ? PRECOMPILED[key] : undefined;
    program = withGuard(isEmpty(p) ? null : shipped ? decodeBase64(shipped) : compileOwn(p));
    if (compiled.size >= 64) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, program);
  }
  return program.slice();
}

const compiled = new Map<string, Uint8Array>();

/**
 * The text that identifies a profile's program: its JSON, bigints as `Nn`.
 *
 * @example
 * ```ts
 * import { defaultProfile, profileKey } from "./profile.ts";
 * console.log(profileKey(defaultProfile()).startsWith('{"name":"default"')); // true
 * ```
 */
export function profileKey(p: SeccompProfile): string {
  return JSON.stringify(p, (_k, v) => typeof v === "bigint" ? `${v}n` : v);
}

/**
 * The profile's own program as libseccomp compiles it (without the guard),
 * or null for a profile with no rules; scripts/generate.ts ships these for
 * the built-in profiles.
 *
 * @example
 * ```ts ignore
 * import { compileOwnProgram, defaultProfile } from "./profile.ts";
 * console.log(compileOwnProgram(defaultProfile())!.length % 8); // 0
 * ```
 */
export function compileOwnProgram(p: SeccompProfile): Uint8Array | null {
  return isEmpty(p) ? null : compileOwn(p);
}

function decodeBase64(text: string): Uint8Array {
  const native = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
  return native ? native(text) : Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function compileOwn(p: SeccompProfile): Uint8Array {
  const ctx = new FilterContext(actionValue(p.defaultAction));
  try {
    ctx.setAttr(ATTR.ACT_BADARCH, actionValue(p.badArchAction ?? "kill_process"));
    // A binary tree of syscall numbers keeps long allowlists cheap.
    ctx.setAttr(ATTR.CTL_OPTIMIZE, 2);
    const arches = [archToken("native")!];
    for (const name of p.arches) {
      const t = archToken(name);
      if (t === null) throw new UsageError(`seccomp profile ${p.name}: unknown arch ${JSON.stringify(name)}`);
      if (!arches.includes(t)) arches.push(t);
      ctx.addArch(t);
    }
    for (const rule of p.rules) {
      if (sameAction(rule.action, p.defaultAction)) continue; // libseccomp refuses rules that change nothing
      const args: ArgCmp[] = (rule.args ?? []).map((c) => ({
        arg: c.index,
        op: c.op,
        a: c.op === "masked_eq" ? c.mask ?? 0n : c.value,
        b: c.op === "masked_eq" ? c.value : 0n,
      }));
      for (const name of rule.names) {
        // Names resolve on the native arch (a negative number is libseccomp's stand-in for a syscall
        // only some arches have); libseccomp maps each rule onto every arch of the filter.
        const nr = syscallNumber(name);
        if (nr === null) {
          if (rule.skipUnknown) continue;
          throw new UsageError(`seccomp profile ${p.name}: unknown syscall ${JSON.stringify(name)}`);
        }
        const rc = ctx.addRule(actionValue(rule.action), nr, args);
        if (rc < 0 && !rule.skipUnknown) {
          throw new UsageError(
            `seccomp profile ${p.name}: libseccomp refused the rule for ${name} (${describeAction(rule.action)}${
              args.length ? ` with ${args.length} argument conditions` : ""
            }): errno ${-rc}`,
          );
        }
      }
    }
    return ctx.exportBpf();
  } finally {
    ctx.release();
  }
}
