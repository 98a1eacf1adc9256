/**
 * Which syscalls a seccomp filter killed or logged, from the kernel's audit
 * records (`type=1326`) in /dev/kmsg. The kernel writes one for every kill
 * and `log` action (kernel.seccomp.actions_logged); reading /dev/kmsg
 * needs root where kernel.dmesg_restrict is 1, so for other callers the
 * syscall is not knowable and reports say so.
 *
 * The log is read only for a profile that can make the kernel write a
 * record (a kill or `log` action). Records are matched to a sandbox by
 * time (only records written after the log was opened, just before the
 * clone, are read), by pid (the sandbox's processes have host pids above
 * its init's), by host uid (that of the sandbox's command) and by what the
 * profile does with the syscall named (a kill record must name a syscall
 * the profile kills, a log record one it logs). A command ended by SIGSYS
 * is RFE only by a kill record of its own pid (which the native core
 * reports, translated into the caller's pid namespace): a child the filter
 * killed says nothing of a SIGSYS the command raised itself. Two sandboxes
 * of the same user and profile started at the same moment can still see
 * each other's records.
 *
 * @module
 */
import type { Native } from "../native/ffi.ts";
import { archToken, syscallName } from "../seccomp/libseccomp.ts";
import {
  defaultProfile,
  profileCanLogOrKill,
  refusedSyscalls,
  type SeccompAction,
  type SeccompProfile,
} from "../seccomp/profile.ts";
import type { Plan } from "../plan/types.ts";

/**
 * One seccomp audit record.
 *
 * @example
 * ```ts ignore
 * const e: SeccompEvent = { pid: 7, comm: "sh", syscall: "ptrace", arch: "x86_64", action: "log" };
 * ```
 */
export interface SeccompEvent {
  /** Host pid of the process. */
  pid: number;
  /** Its comm. */
  comm: string;
  /** The syscall's name, or its number when libseccomp does not know it. */
  syscall: string;
  /** The ABI: `x86_64`, `x86`, `x32`, `aarch64`... */
  arch: string;
  /** What the filter did: `kill_process`, `kill_thread`, `log`, `errno`, `trap`... */
  action: string;
  /** Host uid of the process, when the record gives it. */
  uid?: number;
}

/**
 * Which records belong to one sandbox: its profile and the host uid its
 * command runs as.
 *
 * @example
 * ```ts ignore
 * const scope: AuditScope = { profile: defaultProfile(), hostUid: 1000 };
 * ```
 */
export interface AuditScope {
  /** The sandbox's seccomp profile. */
  profile: SeccompProfile;
  /** The host uid of the sandbox's command. */
  hostUid: number;
}

/**
 * The actions a profile may take for `syscall` on `arch` (libseccomp's
 * arch names; `native` for the machine's own), whatever its arguments.
 *
 * @example
 * ```ts
 * import { defaultProfile } from "jsr:@hakoniwa/cli";
 * import { profileActions } from "./seccomp_audit.ts";
 * console.log(profileActions(defaultProfile(), "getpid", "x86")); // ["kill_process"]
 * ```
 */
export function profileActions(p: SeccompProfile, syscall: string, arch: string): SeccompAction[] {
  const native = arch === "native" || arch === Deno.build.arch;
  if (!native && !p.arches.includes(arch)) return [p.badArchAction ?? "kill_process"];
  const rules = p.rules.filter((r) => r.names.includes(syscall));
  const actions = rules.map((r) => r.action);
  if (!rules.some((r) => !r.args?.length)) actions.push(p.defaultAction);
  return actions;
}

const ARCHES: Record<string, string> = {
  c000003e: "x86_64",
  "40000003": "x86",
  c00000b7: "aarch64",
  "40000028": "arm",
  c00000f3: "riscv64",
};

function actionName(code: number): string {
  const a = code & 0xffff0000;
  if (code >>> 0 === 0x80000000) return "kill_process";
  if (a === 0) return "kill_thread";
  if (a === 0x00030000) return "trap";
  if (a === 0x00050000) return "errno";
  if (a === 0x7ff00000) return "trace";
  if (a === 0x7fc00000) return "user_notif";
  if (a === 0x7ffc0000) return "log";
  return `0x${code.toString(16)}`;
}

/**
 * Parses one kmsg line holding a seccomp audit record, or returns null.
 *
 * @example
 * ```ts ignore
 * parseAuditRecord('6,9,1,-;audit: type=1326 audit(1:2): pid=7 comm="sh" sig=31 arch=c000003e syscall=110 compat=0 ip=0x1 code=0x80000000');
 * // { pid: 7, comm: "sh", syscall: "getppid", arch: "x86_64", action: "kill_process" }
 * ```
 */
export function parseAuditRecord(line: string): SeccompEvent | null {
  if (!/\btype=1326\b/.test(line)) return null;
  const field = (k: string) => new RegExp(`\\b${k}=("[^"]*"|\\S+)`).exec(line)?.[1];
  const pid = Number(field("pid")), nr = Number(field("syscall")), code = Number(field("code"));
  const archHex = field("arch");
  if (!Number.isInteger(pid) || !Number.isInteger(nr) || !archHex) return null;
  let arch = ARCHES[archHex] ?? archHex;
  let num = nr;
  if (arch === "x86_64" && nr >= 0x40000000) {
    arch = "x32";
    num = nr - 0x40000000;
  }
  let name: string | null = null;
  try {
    const token = archToken(arch);
    name = token === null ? null : syscallName(num, token);
  } catch { /* libseccomp missing: the number must do */ }
  const uid = Number(field("uid"));
  return {
    pid,
    ...(Number.isInteger(uid) ? { uid } : {}),
    comm: (field("comm") ?? "").replace(/^"|"$/g, ""),
    syscall: name ?? `#${nr}`,
    arch,
    action: Number.isFinite(code) ? actionName(code) : "unknown",
  };
}

/**
 * The kernel log, opened at its end before a sandbox starts.
 *
 * @example
 * ```ts ignore
 * const audit = SeccompAudit.open(native);
 * // ... run the sandbox whose init has host pid `pid` ...
 * const events = await audit.events(pid);
 * audit.close();
 * ```
 */
export class SeccompAudit {
  #native: Native;
  #fd: number;
  #seen: SeccompEvent[] = [];
  /** Why records cannot be read (e.g. "/dev/kmsg is not readable: EPERM"), or null when they can. */
  readonly unavailable: string | null;
  /** The sandbox the records must belong to, when known. */
  readonly scope: AuditScope | null;

  private constructor(native: Native, fd: number, unavailable: string | null, scope: AuditScope | null) {
    this.#native = native;
    this.#fd = fd;
    this.unavailable = unavailable;
    this.scope = scope;
  }

  /**
   * Opens /dev/kmsg at its end; never throws. With a `scope`, only records
   * that can be the sandbox's are kept (see the module's description).
   */
  static open(native: Native, scope: AuditScope | null = null): SeccompAudit {
    const fd = native.hk_kmsg_open();
    const why = fd === -1 || fd === -13
      ? "/dev/kmsg is not readable by this user (kernel.dmesg_restrict)"
      : `/dev/kmsg cannot be opened (errno ${-fd})`;
    return new SeccompAudit(native, fd, fd < 0 ? why : null, scope);
  }

  /**
   * The log for a sandbox about to run `plan`, or null when its profile
   * can make the kernel write no record (then no record is read at all).
   */
  static forPlan(native: Native, plan: Plan): SeccompAudit | null {
    if (!plan.seccomp || !profileCanLogOrKill(plan.seccomp)) return null;
    const m = plan.uidMap.find((e) => plan.uid >= e.container && plan.uid < e.container + e.count);
    return SeccompAudit.open(native, { profile: plan.seccomp, hostUid: m ? m.host + (plan.uid - m.container) : -1 });
  }

  /** Whether a record can be the sandbox's: its uid, and an action its profile takes for that syscall. */
  #ours(e: SeccompEvent): boolean {
    const scope = this.scope;
    if (!scope) return true;
    if (e.uid !== undefined && e.uid !== scope.hostUid) return false;
    const actions = profileActions(scope.profile, e.syscall, e.arch);
    if (e.action.startsWith("kill")) return actions.some((a) => a === "kill_process" || a === "kill_thread");
    if (e.action === "log") return actions.includes("log");
    return false;
  }

  /** Reads what is new and returns every record of processes with a pid of at least `minPid` so far. */
  read(minPid: number): SeccompEvent[] {
    if (this.#fd < 0) return [];
    const buf = new Uint8Array(8192);
    const dec = new TextDecoder();
    for (;;) {
      const n = Number(this.#native.hk_kmsg_read(this.#fd, buf, BigInt(buf.length)));
      if (n === -32) continue; // EPIPE: records were overwritten; go on with the next
      if (n <= 0) break; // EAGAIN: nothing more
      const e = parseAuditRecord(dec.decode(buf.subarray(0, n)));
      if (e && e.pid >= minPid && this.#ours(e)) this.#seen.push(e);
    }
    return [...this.#seen];
  }

  /**
   * The records so far; with `killOf`, waits up to `waitMs` for a kill
   * record of that pid (the kernel writes audit records asynchronously).
   */
  async events(minPid: number, killOf: number | null = null, waitMs = 500): Promise<SeccompEvent[]> {
    const deadline = Date.now() + waitMs;
    let events = this.read(minPid);
    const killed = () => events.some((e) => e.action.startsWith("kill") && e.pid === killOf);
    while (killOf !== null && this.#fd >= 0 && !killed() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      events = this.read(minPid);
    }
    return events;
  }

  /** Closes the log. */
  close(): void {
    if (this.#fd >= 0) this.#native.hk_close(this.#fd);
    this.#fd = -1;
  }
}

/**
 * Describes an event for a report or log line: `getppid (x86_64) by sh[1234]`.
 *
 * @example
 * ```ts ignore
 * describeEvent({ pid: 7, comm: "sh", syscall: "getppid", arch: "x86_64", action: "kill_process" });
 * ```
 */
export function describeEvent(e: SeccompEvent): string {
  return `${e.syscall} (${e.arch}) by ${e.comm}[${e.pid}]`;
}

/**
 * The warnings for what a `log` action let through: one line naming each
 * syscall once (`audit: the profile logged execve (x86_64), brk (x86_64)`),
 * and one naming those of them that the `default` profile would refuse. The
 * kernel rate-limits the records it writes to its log (about 10 every 5
 * seconds without an audit daemon), so the list may miss some.
 *
 * @example
 * ```ts
 * import { loggedLines } from "./seccomp_audit.ts";
 * const e = { pid: 7, comm: "sh", arch: Deno.build.arch, action: "log" };
 * console.log(loggedLines([{ ...e, syscall: "execve" }, { ...e, syscall: "ptrace" }, { ...e, syscall: "execve" }]));
 * // ["audit: the profile logged execve (x86_64), ptrace (x86_64)", "audit: of these, the default profile refuses ptrace"]
 * ```
 */
export function loggedLines(events: readonly SeccompEvent[]): string[] {
  const logged = [...new Map(events.filter((e) => e.action === "log").map((e) => [`${e.syscall} ${e.arch}`, e]))];
  if (!logged.length) return [];
  const lines = [`audit: the profile logged ${logged.map(([, e]) => `${e.syscall} (${e.arch})`).join(", ")}`];
  const native = [...new Set(logged.filter(([, e]) => e.arch === Deno.build.arch).map(([, e]) => e.syscall))];
  const refused = refusedSyscalls(defaultProfile(), native);
  if (refused.length) lines.push(`audit: of these, the default profile refuses ${refused.join(", ")}`);
  return lines;
}
