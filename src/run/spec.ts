/**
 * Encodes a {@link Plan} into the byte spec the native core decodes
 * (native/spec.c). Little-endian records `[u16 tag][u16 0][u32 len][payload]`
 * after a 12-byte header `"HKNW"`, version, total length. Strings are
 * `[u32 len][bytes][NUL]`.
 *
 * @module
 */
import { formatIdMap } from "../plan/idmap.ts";
import { cloneFlags, NAMESPACE_FLAGS } from "../plan/namespace.ts";
import type { MountFlags, MountOp, Plan } from "../plan/types.ts";
import type { LandlockRuleset } from "../plan/landlock.ts";
import type { CgroupSetup } from "../cgroup/cgroup.ts";
import { RLIMITS } from "../plan/rlimit.ts";
import { CRED, FLAG, MOUNT_FLAG, MOUNT_KIND, SESSION_MODE, SPEC, TAG } from "../generated/abi.js";

/** Version of the spec layout; must equal HK_SPEC_VERSION. */
export const SPEC_VERSION = SPEC.VERSION;
const T = TAG;
const MF = MOUNT_FLAG;
const F = FLAG;
/** Plan mount kinds as HK_M_* (a "readonly" op rebinds a path of the new root with flags). */
const M = {
  bind: MOUNT_KIND.BIND,
  tmpfs: MOUNT_KIND.TMPFS,
  proc: MOUNT_KIND.PROC,
  dir: MOUNT_KIND.DIR,
  file: MOUNT_KIND.FILE,
  symlink: MOUNT_KIND.SYMLINK,
  readonly: MOUNT_KIND.REBIND,
  devpts: MOUNT_KIND.DEVPTS,
  fs: MOUNT_KIND.FS,
  mask: MOUNT_KIND.MASK,
  write: MOUNT_KIND.FILE,
} as const satisfies Record<MountOp["kind"], number>;

/** HK_MF_* of a mount that names every flag. */
function exactFlags(f: MountFlags): number {
  return (f.readonly ? MF.RDONLY : 0) | (f.nosuid ? MF.NOSUID : 0) | (f.nodev ? MF.NODEV : 0) |
    (f.noexec ? MF.NOEXEC : 0);
}

/** Session modes (HK_SESSION_*). */
export const SESSION = { new: SESSION_MODE.NEW, tty: SESSION_MODE.TTY } as const;

/** Host-side inputs of a spawn that are not part of the plan. */
export interface SpawnIo {
  /** Host fds that become the command's stdin, stdout, stderr. */
  stdio: [number, number, number];
  /** Whether stdin becomes the controlling terminal. */
  session: keyof typeof SESSION;
  /** May the sandbox call setgroups (a privileged caller, or a gid map that newgidmap writes). */
  setgroups: boolean;
  /** A pipe's write end where the sandbox's init reports job-control stops of the command (HK_EV_*). */
  events?: number;
  /** Where the monitor makes the sandbox's cgroup and the limits it writes there (src/cgroup/). */
  cgroup?: CgroupSetup;
  /** Existing cgroup directories the sandbox's init joins before it runs anything (an OCI container's). */
  cgroupJoins?: string[];
  /** A compiled seccomp program (struct sock_filter[]), if any. */
  seccomp?: Uint8Array;
  /** A Landlock ruleset, if any. */
  landlock?: LandlockRuleset;
  /** The host path of the allow-net proxy's unix socket, bound at the plan's `allowNet.socket` (src/net/session.ts). */
  netSocket?: string;
}

class Writer {
  #buf = new Uint8Array(4096);
  #view = new DataView(this.#buf.buffer);
  #len = 0;
  #enc = new TextEncoder();

  #room(n: number) {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
  u16(v: number) {
    this.#room(2);
    this.#view.setUint16(this.#len, v, true);
    this.#len += 2;
  }
  u32(v: number) {
    this.#room(4);
    this.#view.setUint32(this.#len, v, true);
    this.#len += 4;
  }
  u64(v: number | bigint) {
    this.#room(8);
    this.#view.setBigUint64(this.#len, BigInt(v), true);
    this.#len += 8;
  }
  bytes(b: Uint8Array) {
    this.u32(b.length);
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }
  str(s: string) {
    if (s.includes("\0")) throw new RangeError(`string contains a NUL byte: ${JSON.stringify(s)}`);
    const b = this.#enc.encode(s + "\0");
    this.bytes(b);
  }
  /** Writes one record; `body` writes its payload. */
  record(tag: number, body: () => void) {
    this.u16(tag);
    this.u16(0);
    const at = this.#len;
    this.u32(0);
    body();
    this.#view.setUint32(at, this.#len - at - 4, true);
  }
  finish(): Uint8Array {
    this.#view.setUint32(8, this.#len, true);
    // A fresh ArrayBuffer is 8-byte aligned, as the decoder requires.
    return this.#buf.slice(0, this.#len);
  }
  get length() {
    return this.#len;
  }
}

function mountRecord(w: Writer, op: MountOp) {
  let flags = 0, mode = 0, size = 0, inodes = 0, src = "", data = new Uint8Array(0);
  switch (op.kind) {
    case "bind":
      flags = (op.flags ? exactFlags(op.flags) : MF.NOSUID | (op.readonly ? MF.RDONLY : 0) | (op.dev ? 0 : MF.NODEV)) |
        (op.layer ? MF.LAYER : 0);
      src = op.source;
      break;
    case "fs":
      flags = exactFlags(op.flags);
      src = op.fstype;
      if (op.options) data = new TextEncoder().encode(op.options + "\0");
      break;
    case "mask":
      flags = MF.RDONLY | MF.NOSUID | MF.NOEXEC; // of the /dev/null over a file: still a device that reads empty
      src = "/dev/null";
      break;
    case "write":
      flags = MF.EXISTING;
      data = new TextEncoder().encode(op.contents);
      break;
    case "tmpfs":
      flags = MF.NOSUID | MF.NODEV | (op.noexec ? MF.NOEXEC : 0);
      mode = op.mode;
      size = op.size;
      inodes = op.inodes;
      break;
    case "proc":
      flags = MF.NOSUID | MF.NODEV | MF.NOEXEC;
      break;
    case "devpts": // its ptys are devices: no nodev (the kernel makes a user namespace's devpts usable)
      flags = MF.NOSUID | MF.NOEXEC;
      break;
    case "dir":
      mode = op.mode;
      break;
    case "file":
      mode = op.mode;
      data = new TextEncoder().encode(op.contents);
      break;
    case "symlink":
      src = op.original;
      break;
    case "readonly":
      flags = MF.RDONLY | MF.NOSUID | MF.NODEV | (op.optional ? MF.OPTIONAL : 0);
      break;
  }
  w.record(T.MOUNT, () => {
    w.u32(M[op.kind]);
    w.u32(flags);
    w.u32(mode);
    w.u64(size);
    w.u64(inodes);
    w.str(src);
    w.str(op.target);
    w.bytes(data);
  });
}

/** The records of an OCI container (HK_F_DETACH). */
function ociRecords(w: Writer, oci: NonNullable<Plan["oci"]>) {
  if (oci.startFifo !== null) w.record(T.START, () => w.str(oci.startFifo!));
  for (const j of oci.join) {
    w.record(T.JOIN_NS, () => {
      w.u32(NAMESPACE_FLAGS[j.namespace]);
      w.str(j.path);
    });
  }
  const c = oci.capabilities;
  w.record(T.CAPS, () => [c.bounding, c.effective, c.permitted, c.inheritable, c.ambient].forEach((m) => w.u64(m)));
  if (oci.oomScoreAdj !== null) w.record(T.OOM_SCORE, () => w.u32(oci.oomScoreAdj! >>> 0));
  if (oci.umask !== null) w.record(T.UMASK, () => w.u32(oci.umask!));
}

/**
 * Encodes a plan and the host-side inputs into one spec buffer.
 *
 * @example
 * ```ts ignore
 * const spec = encodeSpec(plan, { stdio: [0, 1, 2], session: "new", setgroups: false });
 * // held until hk_release: encodeSpec(plan, io, { hold: true })
 * // held, and the caller writes the id maps: encodeSpec(plan, io, { hold: true, callerWritesMaps: true })
 * ```
 */
export function encodeSpec(
  plan: Plan,
  io: SpawnIo,
  options: { hold?: boolean; callerWritesMaps?: boolean } = {},
): Uint8Array {
  const w = new Writer();
  w.u32(SPEC.MAGIC);
  w.u32(SPEC_VERSION);
  w.u32(0);
  w.record(T.NAMESPACES, () => w.u32(cloneFlags(plan.namespaces)));
  // Without the map records, a held child's maps are left to the caller (newuidmap/newgidmap).
  if (!options.callerWritesMaps) {
    w.record(T.UID_MAP, () => w.str(formatIdMap(plan.uidMap)));
    w.record(T.GID_MAP, () => w.str(formatIdMap(plan.gidMap)));
  }
  w.record(T.HOSTNAME, () => w.str(plan.hostname));
  for (const dir of io.cgroup?.parents ?? []) w.record(T.CGROUP, () => w.str(dir));
  for (const dir of io.cgroupJoins ?? []) w.record(T.CGROUP_JOIN, () => w.str(dir));
  for (const { index, file, value } of io.cgroup?.sets ?? []) {
    w.record(T.CGROUP_SET, () => {
      w.u32(index);
      w.str(file);
      w.str(value);
    });
  }
  w.record(T.ROOT, () => {
    // The build never writes to a read-only rootdir: it is read-only before anything is built in it, or, when the
    // plan makes something it lacks, it is the lower layer of an overlay on a new tmpfs (HK_MF_LAYER). A new tmpfs
    // root, and the layer, become read-only after the build (HK_F_ROOT_RDONLY). Never a device through the root:
    // a rootdir's device nodes stay unusable.
    // An OCI container's rootfs is built in place, as runc builds it (mount points are made in it), set-id
    // programs work, and it becomes read-only after the build when its config says so.
    const ro = plan.root.source !== null && plan.root.readonly && !plan.oci;
    w.u32(plan.oci ? MF.NODEV : (ro ? (plan.root.layer ? MF.LAYER : MF.RDONLY) : 0) | MF.NOSUID | MF.NODEV);
    w.str(plan.root.source ?? "");
  });
  for (const op of plan.mounts) mountRecord(w, op);
  if (plan.allowNet) {
    // The proxy's socket, last (nothing covers it), and the bridge from 127.0.0.1:port inside to it.
    const net = plan.allowNet;
    if (!io.netSocket) throw new RangeError("a plan with an allow list needs the proxy's socket (SpawnIo.netSocket)");
    mountRecord(w, { kind: "bind", source: io.netSocket, target: net.socket, readonly: true });
    w.record(T.NET_RELAY, () => {
      w.u32(net.port);
      w.str(net.socket);
    });
  }
  for (const l of plan.rlimits) {
    // soft = hard, except cpu: the sandbox's init sends the command SIGXCPU when its exact CPU clock reaches the
    // limit (HK_T_CPU_LIMIT) and ends everything a second later; RLIMIT_CPU, which the kernel checks on
    // tick-sampled time, is the backstop one second above (two for SIGKILL), for the command's children too.
    if (l.soft !== undefined) {
      w.record(T.RLIMIT, () => {
        w.u32(RLIMITS[l.name]);
        w.u64(l.soft!);
        w.u64(l.value);
      });
      continue;
    }
    const cpu = l.name === "cpu";
    w.record(T.RLIMIT, () => {
      w.u32(RLIMITS[l.name]);
      w.u64(cpu ? l.value + 1 : l.value);
      w.u64(cpu ? l.value + 2 : l.value);
    });
    // (A limit past 2^63 ns, ~292 years, is none.)
    if (cpu && l.value > 0 && l.value < 9e9) w.record(T.CPU_LIMIT, () => w.u64(BigInt(l.value) * 1_000_000_000n));
  }
  for (const [k, v] of plan.env) w.record(T.ENV, () => w.str(`${k}=${v}`));
  for (const a of plan.argv) w.record(T.ARG, () => w.str(a));
  w.record(T.PROGRAM, () => {
    w.str(plan.program);
    w.str(plan.searchPath);
  });
  w.record(T.CWD, () => w.str(plan.cwd));
  w.record(T.CREDS, () => {
    w.u32(plan.uid);
    w.u32(plan.gid);
    w.u32(io.setgroups ? CRED.SETGROUPS : 0);
  });
  if (plan.groups?.length) {
    // The plan checked that the sandbox may set them; the core refuses a list without CRED.SETGROUPS too.
    if (!io.setgroups) throw new RangeError("supplementary groups need setgroups, which this spawn does not allow");
    const groups = plan.groups;
    w.record(T.GROUPS, () => {
      w.u32(groups.length);
      for (const g of groups) w.u32(g);
    });
  }
  w.record(T.STDIO, () => io.stdio.forEach((fd) => w.u32(fd)));
  w.record(T.SETSID, () => w.u32(SESSION[io.session]));
  if (io.events !== undefined) w.record(T.EVENTS, () => w.u32(io.events!));
  // Without NO_NEW_PRIVS (allowNewPrivs) the core loads Landlock and seccomp before the credentials change.
  const flags = F.DROP_CAPS | (plan.allowNewPrivs ? 0 : F.NO_NEW_PRIVS) | (plan.root.readonly ? F.ROOT_RDONLY : 0) |
    (plan.keyring ? F.KEYRING : 0) | (plan.loopback ? F.LOOPBACK_UP : 0);
  // HK_F_HOLD: hk_spawn returns with the child held until hk_release (e.g. for pasta).
  const oci = plan.oci ? (plan.oci.detach ? F.DETACH : 0) | (plan.oci.exec ? F.EXEC : 0) : 0;
  w.record(T.FLAGS, () => w.u32((flags | (options.hold ? F.HOLD : 0) | oci) >>> 0));
  if (plan.oci) ociRecords(w, plan.oci);
  if (io.seccomp) w.record(T.SECCOMP, () => w.bytes(io.seccomp!));
  const ll = io.landlock;
  if (ll) {
    w.record(T.LANDLOCK, () => {
      w.u32(ll.abi);
      w.u64(ll.fs);
      w.u64(ll.net);
      w.u64(ll.scoped);
    });
    for (const p of ll.paths) {
      w.record(T.LL_PATH, () => {
        w.u64(p.access);
        w.str(p.path);
      });
    }
    for (const p of ll.ports) {
      w.record(T.LL_PORT, () => {
        w.u64(p.access);
        w.u64(p.port);
      });
    }
  }
  return w.finish();
}

/**
 * Whether the sandbox may call setgroups: only for a privileged caller whose
 * own user namespace allows it.
 *
 * @example
 * ```ts
 * import { canSetgroups } from "./spec.ts";
 * console.log(canSetgroups());
 * ```
 */
export function canSetgroups(): boolean {
  if (Deno.uid() !== 0) return false;
  try {
    return Deno.readTextFileSync("/proc/self/setgroups").trim() === "allow";
  } catch {
    return false;
  }
}
