/**
 * Linux capabilities by name (`CAP_CHOWN`...) as the bit masks the native core sets (HK_T_CAPS).
 *
 * @module
 */
import { OciConfigError } from "./config.ts";

/** Every capability of Linux 6.x, by number. */
export const CAPABILITIES: readonly string[] = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
];

/**
 * The mask of a list of capability names (`CAP_` optional, any case); an unknown name is refused naming `key`.
 *
 * @example
 * ```ts
 * import { capabilityMask } from "./capabilities.ts";
 * console.log(capabilityMask(["CAP_CHOWN", "CAP_KILL"], "process.capabilities.bounding")); // 33n
 * ```
 */
export function capabilityMask(names: readonly string[], key: string): bigint {
  let mask = 0n;
  for (const name of names) {
    const n = CAPABILITIES.indexOf(name.toUpperCase().replace(/^CAP_/, ""));
    if (n < 0) throw new OciConfigError(key, `unknown capability ${JSON.stringify(name)}`);
    mask |= 1n << BigInt(n);
  }
  return mask;
}
