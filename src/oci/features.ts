/**
 * `features`: what this runtime supports, in the runtime-spec's features document (features.md of the spec).
 *
 * @module
 */
import { CAPABILITIES } from "./capabilities.ts";
import { OCI_RUNTIME_VERSION } from "./version.ts";

/**
 * The features document.
 *
 * @example
 * ```ts
 * import { features } from "./features.ts";
 * console.log(features().linux.namespaces.includes("pid")); // true
 * ```
 */
export function features() {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: "1.2.0",
    hooks: [],
    mountOptions: [
      "ro",
      "rw",
      "nosuid",
      "suid",
      "nodev",
      "dev",
      "noexec",
      "exec",
      "bind",
      "rbind",
      "private",
      "rprivate",
    ],
    linux: {
      namespaces: ["pid", "network", "mount", "ipc", "uts", "user", "cgroup"],
      capabilities: CAPABILITIES.map((c) => `CAP_${c}`),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: [
          "SCMP_ACT_ALLOW",
          "SCMP_ACT_ERRNO",
          "SCMP_ACT_KILL",
          "SCMP_ACT_KILL_PROCESS",
          "SCMP_ACT_KILL_THREAD",
          "SCMP_ACT_LOG",
          "SCMP_ACT_TRAP",
        ],
        operators: [
          "SCMP_CMP_EQ",
          "SCMP_CMP_GE",
          "SCMP_CMP_GT",
          "SCMP_CMP_LE",
          "SCMP_CMP_LT",
          "SCMP_CMP_MASKED_EQ",
          "SCMP_CMP_NE",
        ],
        archs: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { "org.hakoniwa.oci.version": OCI_RUNTIME_VERSION },
  };
}
