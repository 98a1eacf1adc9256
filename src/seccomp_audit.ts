/**
 * Which syscalls a seccomp filter killed or logged, from the kernel's audit
 * records (`type=1326`) in /dev/kmsg. The kernel writes one for every kill
 * and `log` action (kernel.seccomp.actions_logged); reading /dev/kmsg
 * needs root where kernel.dmesg_restrict is 1, so for other callers the
 * syscall is not knowable and reports say so.
 *
 * Records are matched to a sandbox by time (only records written after the
 * log was opened, just before the clone, are read) and by pid (the
 * sandbox's processes have host pids above its init's). Two sandboxes
 * started at the same moment can therefore see each other's records; the
 * reason is best effort, the status (RFE) is not.
 *
 * @module
 */
import type { Native } from "./ffi.ts";
import { archToken, syscallName } from "./libseccomp.ts";

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
  return {
    pid,
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

  private constructor(native: Native, fd: number, unavailable: string | null) {
    this.#native = native;
    this.#fd = fd;
    this.unavailable = unavailable;
  }

  /** Opens /dev/kmsg at its end; never throws. */
  static open(native: Native): SeccompAudit {
    const fd = native.hk_kmsg_open();
    const why = fd === -1 || fd === -13
      ? "/dev/kmsg is not readable by this user (kernel.dmesg_restrict)"
      : `/dev/kmsg cannot be opened (errno ${-fd})`;
    return new SeccompAudit(native, fd, fd < 0 ? why : null);
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
      if (e && e.pid >= minPid) this.#seen.push(e);
    }
    return [...this.#seen];
  }

  /**
   * The records so far; with `untilKill`, waits up to `waitMs` for a kill
   * record (the kernel writes audit records asynchronously).
   */
  async events(minPid: number, untilKill = false, waitMs = 500): Promise<SeccompEvent[]> {
    const deadline = Date.now() + waitMs;
    let events = this.read(minPid);
    while (untilKill && this.#fd >= 0 && !events.some((e) => e.action.startsWith("kill")) && Date.now() < deadline) {
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
