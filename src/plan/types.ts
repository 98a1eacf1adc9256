/**
 * What the plan stage takes and gives, as types only: a container's
 * settings ({@link ContainerSettings}, the input, from the library's
 * `Container` or a policy) and the {@link Plan} (the output: everything the
 * native core will do, as pure data, which src/run/ encodes and starts).
 *
 * @module
 */
import type { IdMapEntry } from "./idmap.ts";
import type { Namespace } from "./namespace.ts";
import type { RlimitName } from "./rlimit.ts";
import type { LandlockSettings } from "./landlock.ts";
import type { NetworkSettings } from "../net/network.ts";
import type { AllowNetPlan, NetRule } from "../net/allow.ts";
import type { SeccompProfile } from "../seccomp/profile.ts";
import type { CgroupLimits } from "../cgroup/cgroup.ts";

/**
 * A mount as the user asked for it, before plan building resolves it. A
 * bind that is `optional` is skipped when its source does not exist;
 * `"warn"` skips it with a warning (a policy's bind that does not say
 * `optional = true`: a typo should show).
 */
export type ContainerMount =
  | { kind: "bind"; source: string; target: string; readonly: boolean; optional?: boolean | "warn" }
  | { kind: "tmpfs"; target: string; size?: number; mode?: number; inodes?: number }
  | { kind: "devfs"; target: string }
  | { kind: "proc"; target: string }
  | { kind: "dir"; target: string; mode?: number }
  | { kind: "file"; target: string; contents: string; mode?: number }
  | { kind: "symlink"; original: string; target: string };

/** Everything a container holds; read by plan building. */
export interface ContainerSettings {
  /** Namespaces created besides user, mount and pid. */
  unshare: Set<Namespace>;
  /** A host directory as the root instead of a new tmpfs. */
  rootdir: { path: string; rw: boolean } | null;
  /** Mounts in order. */
  mounts: ContainerMount[];
  /** uid of the command inside (default: the caller's uid). */
  uid?: number;
  /** gid of the command inside (default: the caller's gid). */
  gid?: number;
  /**
   * Supplementary groups of the command, gids inside (absent: none asked
   * for; they are cleared where the sandbox may call setgroups).
   */
  groups?: number[];
  /**
   * The groups are the ones a user name implies (1.x's `--user USER`):
   * where the sandbox cannot set groups they are left out with a warning
   * instead of failing.
   */
  groupsOptional?: boolean;
  /** Leave `no_new_privs` unset (see `Container.allowNewPrivs`). */
  allowNewPrivs?: boolean;
  /** Explicit uid maps. */
  uidMaps: IdMapEntry[];
  /** Explicit gid maps. */
  gidMaps: IdMapEntry[];
  /** Hostname with a new uts namespace. */
  hostname: string;
  /** Resource limits. */
  rlimits: Map<RlimitName, number>;
  /** Walltime limit in seconds. */
  walltime: number | null;
  /** Environment of the command. */
  env: Map<string, string>;
  /** Working directory inside (default "/"). */
  workdir: string | null;
  /** Landlock restrictions and rules (absent: none). */
  landlock?: LandlockSettings;
  /** Network mode (absent: none, or host when the network namespace is shared). */
  network?: NetworkSettings;
  /**
   * `--allow-net`: connections to these hosts only, through the launcher's proxy (absent or empty: no proxy).
   * Needs the network namespace of `none`.
   */
  allowNet?: NetRule[];
  /** The seccomp profile, or null for none (default: the default profile). */
  seccomp: SeccompProfile | null;
  /** Limits of the sandbox's own cgroup: memory, CPU bandwidth, processes (absent: none). */
  cgroup?: CgroupLimits;
  /** Size in bytes of every tmpfs that does not give its own (default `DEFAULT_TMPFS_SIZE`, 128 MiB). */
  tmpfsSize?: number;
}

/** One mount operation, applied in order beneath the new root. */
export type MountOp =
  | {
    /** Bind a host path (recursively). */
    kind: "bind";
    /** Host path, resolved. */
    source: string;
    /** Path inside the sandbox. */
    target: string;
    /** Read-only for the whole tree under it. */
    readonly: boolean;
    /** Device files stay usable (only for device binds). */
    dev?: boolean;
    /**
     * A read-only directory the plan makes something in (a mount point of a later mount): it is the lower layer
     * of an overlay on a new tmpfs, read-only once built, so the host's directory is never written
     * (src/plan/root_layer.ts).
     */
    layer?: boolean;
    /** Exactly these flags instead of the ones above and nosuid, nodev (an OCI mount's options). */
    flags?: MountFlags;
  }
  | {
    /** A new tmpfs. */
    kind: "tmpfs";
    /** Path inside the sandbox. */
    target: string;
    /** Size in bytes (plans built here always give one; 0 would be the kernel's half of RAM). */
    size: number;
    /**
     * The most inodes (files, directories, links) it holds (`nr_inodes`): plans built here always give one,
     * by default one per 4 KiB page of its size (tmpfsInodes in plan.ts); 0 would be the kernel's default, which
     * follows the machine's memory, not the size.
     */
    inodes: number;
    /** Permission bits of its root. */
    mode: number;
    /** Disallow executing files from it. */
    noexec?: boolean;
  }
  | {
    /** A new procfs; its sensitive parts are re-bound read-only. */
    kind: "proc";
    /** Path inside the sandbox. */
    target: string;
  }
  | {
    /** A new devpts instance (the sandbox's own ptys; its ptmx mode 0666). */
    kind: "devpts";
    /** Path inside the sandbox. */
    target: string;
  }
  | {
    /** A directory. */
    kind: "dir";
    /** Path inside the sandbox. */
    target: string;
    /** Permission bits. */
    mode: number;
  }
  | {
    /** A regular file with contents. */
    kind: "file";
    /** Path inside the sandbox. */
    target: string;
    /** Its contents. */
    contents: string;
    /** Permission bits. */
    mode: number;
  }
  | {
    /** A symbolic link. */
    kind: "symlink";
    /** What the link points to, verbatim. */
    original: string;
    /** Path of the link inside the sandbox. */
    target: string;
  }
  | {
    /** Re-bind a path already in the sandbox onto itself, read-only. */
    kind: "readonly";
    /** Path inside the sandbox. */
    target: string;
    /** Skip silently when the path does not exist. */
    optional: boolean;
  }
  | {
    /** A new filesystem of any type with its options (an OCI mount: sysfs, devpts, mqueue, cgroup2, tmpfs...). */
    kind: "fs";
    /** Filesystem type, as fsopen(2) names it. */
    fstype: string;
    /** Path inside the sandbox. */
    target: string;
    /** Options as `key=value` and bare flags, comma-separated (each one an fsconfig call). */
    options: string;
    /** Mount flags. */
    flags: MountFlags;
  }
  | {
    /** Cover a path if it exists: /dev/null over a file, an empty read-only tmpfs over a directory. */
    kind: "mask";
    /** Path inside the sandbox. */
    target: string;
  }
  | {
    /** Write a value into an existing file (a sysctl under /proc/sys), creating nothing. */
    kind: "write";
    /** Path inside the sandbox. */
    target: string;
    /** What is written. */
    contents: string;
  };

/** Mount flags of a mount that names them all (an OCI mount's options). */
export interface MountFlags {
  /** Read-only. */
  readonly: boolean;
  /** Set-id bits and file capabilities are ignored. */
  nosuid: boolean;
  /** Device files cannot be used. */
  nodev: boolean;
  /** Files cannot be executed. */
  noexec: boolean;
}

/** What an OCI container's plan holds beyond the library's (src/oci/): see HK_F_DETACH in native/hakoniwa.h. */
export interface OciPlan {
  /** The host fifo the command waits on before exec, until the runtime's `start` writes a byte to it (create only). */
  startFifo: string | null;
  /** The init (create), or an exec's command, is the caller's child and outlives it. */
  detach: boolean;
  /** An exec: every namespace is joined, none created, no root built; the command is the child itself. */
  exec?: boolean;
  /** Namespaces joined by path (setns) instead of created. */
  join: { namespace: Namespace; path: string }[];
  /** Capability sets kept, as bit masks. */
  capabilities: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint };
  /** oom_score_adj of the container's processes, or null to inherit it. */
  oomScoreAdj: number | null;
  /** The command's umask, or null for the caller's. */
  umask: number | null;
}

/** A resource limit, soft = hard unless `soft` is given. */
export interface RlimitEntry {
  /** Which limit. */
  name: RlimitName;
  /** The value (bytes, seconds or a count): the hard limit, and the soft one without `soft`. */
  value: number;
  /** A soft limit below the hard one (an OCI container's); the cpu limit is then the kernel's alone. */
  soft?: number;
}

/** The resolved plan of one sandboxed run. */
export interface Plan {
  /** Namespaces created for the sandbox. */
  namespaces: Namespace[];
  /**
   * The root: a new tmpfs, or a host directory. `layer`: the directory is
   * read-only and lacks something the mounts make, so the root is built on a
   * new tmpfs layered over it (src/plan/root_layer.ts); the host's is never written.
   */
  root: { source: string | null; readonly: boolean; layer?: boolean };
  /** Mount operations in order. */
  mounts: MountOp[];
  /** uid map lines (inside -> host). */
  uidMap: IdMapEntry[];
  /** gid map lines (inside -> host). */
  gidMap: IdMapEntry[];
  /** uid the command runs as, inside. */
  uid: number;
  /** gid the command runs as, inside. */
  gid: number;
  /**
   * Supplementary groups of the command (gids inside), or null when none
   * were asked for: then they are cleared where the sandbox may call
   * setgroups (a root caller, a gid map newgidmap wrote), else kept as the
   * caller has them.
   */
  groups: number[] | null;
  /**
   * Leave `no_new_privs` unset (1.x's `--allow-new-privs`): Landlock and
   * seccomp are loaded before the credentials change, while the command
   * process still has CAP_SYS_ADMIN in its namespace. Every mount stays
   * nosuid, the guard still refuses set-id files and no capability is left.
   */
  allowNewPrivs: boolean;
  /** Hostname inside (with a new uts namespace). */
  hostname: string;
  /** Resource limits. */
  rlimits: RlimitEntry[];
  /** Walltime limit in seconds, or null. */
  walltime: number | null;
  /** Environment of the command, in order. */
  env: [string, string][];
  /** Program as given (a path, or a name searched in `searchPath`). */
  program: string;
  /** argv, including argv[0]. */
  argv: string[];
  /** Directories searched for a program without a slash. */
  searchPath: string;
  /** Working directory inside. */
  cwd: string;
  /** Bring up lo in a new network namespace. */
  loopback: boolean;
  /** Join a new session keyring. */
  keyring: boolean;
  /** Landlock restrictions as enforced (rules imply their resource), or null. */
  landlock: LandlockSettings | null;
  /** Network mode: host when the network namespace is shared. */
  network: NetworkSettings;
  /**
   * `--allow-net`: the proxy the launcher runs for the sandbox (its socket bound inside, bridged to a loopback
   * port inside, the proxy variables set); absent without an allow list.
   */
  allowNet?: AllowNetPlan;
  /**
   * The seccomp profile compiled before clone and installed just before
   * execve, behind the guard (src/seccomp/guard.ts). Plans built here never
   * hold null: a container without a profile gets `unconfined`, the guard
   * alone.
   */
  seccomp: SeccompProfile | null;
  /** Limits of the sandbox's own cgroup (src/cgroup/), or null for none. */
  cgroup: CgroupLimits | null;
  /**
   * An OCI container (src/oci/): it is started detached and waits for the runtime's `start`; its root directory
   * is built read-write and made read-only after when `root.readonly` says so.
   */
  oci?: OciPlan;
}

/** What plan building may know of the host. */
export interface HostView {
  /** The caller's effective uid and gid. */
  uid: number;
  gid: number;
  /** Resolves a host path (following symlinks), or null when it does not exist. */
  realPath(path: string): string | null;
  /** Whether a host path is a directory (absent: not checked). */
  isDirectory?(path: string): boolean;
  /** Whether a host path is a character device (absent: none is). */
  isCharDevice?(path: string): boolean;
  /** Whether a host path is a symbolic link itself, dangling or not (absent: none is). */
  isSymlink?(path: string): boolean;
  /** Whether the host's /proc has an entry of this name (absent: asked through realPath). */
  procHas?(name: string): boolean;
  /** Whether the caller's own user namespace lets it allow setgroups (absent: a root caller's does). */
  setgroups?: boolean;
}

/** The command part of a plan. */
export interface CommandSpec {
  /** Program: a path, or a name searched in PATH. */
  program: string;
  /** Arguments after argv[0]. */
  args: string[];
  /** Working directory inside, overriding the container's. */
  cwd?: string;
  /** Extra environment, overriding the container's. */
  env?: Record<string, string>;
}
