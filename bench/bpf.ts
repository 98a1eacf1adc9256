/**
 * A seccomp filter for the benchmark, built by hand so that bubblewrap
 * (`--seccomp FD`) and hakoniwa's spec (`SpawnIo.seccomp`) run the very
 * same program: kill on a foreign architecture, EPERM for x32 and for a
 * denylist close to the one container runtimes block by default, allow
 * the rest. It is a plain linear program (one comparison per denied
 * syscall), and also written as an OCI profile for the CLI's `--seccomp`.
 *
 * @module
 */

/** Denied syscalls and their x86_64 numbers. */
export const DENIED: Record<string, number> = {
  acct: 163,
  add_key: 248,
  bpf: 321,
  clock_adjtime: 305,
  clock_settime: 227,
  create_module: 174,
  delete_module: 176,
  finit_module: 313,
  fsconfig: 431,
  fsmount: 432,
  fsopen: 430,
  fspick: 433,
  get_kernel_syms: 177,
  get_mempolicy: 239,
  init_module: 175,
  ioperm: 173,
  iopl: 172,
  kcmp: 312,
  kexec_file_load: 320,
  kexec_load: 246,
  keyctl: 250,
  lookup_dcookie: 212,
  mbind: 237,
  mount: 165,
  mount_setattr: 442,
  move_mount: 429,
  move_pages: 279,
  name_to_handle_at: 303,
  nfsservctl: 180,
  open_by_handle_at: 304,
  open_tree: 428,
  perf_event_open: 298,
  pivot_root: 155,
  process_vm_readv: 310,
  process_vm_writev: 311,
  ptrace: 101,
  query_module: 178,
  quotactl: 179,
  reboot: 169,
  request_key: 249,
  set_mempolicy: 238,
  setns: 308,
  settimeofday: 164,
  swapoff: 168,
  swapon: 167,
  sysfs: 139,
  _sysctl: 156,
  umount2: 166,
  unshare: 272,
  uselib: 134,
  userfaultfd: 323,
  ustat: 136,
};

const AUDIT_ARCH_X86_64 = 0xc000003e;
const RET_KILL_PROCESS = 0x80000000;
const RET_ALLOW = 0x7fff0000;
const RET_EPERM = 0x00050000 | 1;

/**
 * The filter as `struct sock_filter[]` bytes (x86_64 only).
 *
 * @example
 * ```ts ignore
 * const prog = denylistFilter();
 * ```
 */
export function denylistFilter(): Uint8Array {
  if (Deno.build.arch !== "x86_64") throw new Error("the benchmark's seccomp filter is written for x86_64");
  const ins: [number, number, number, number][] = [];
  const nrs = Object.values(DENIED);
  ins.push([0x20, 0, 0, 4]); // ld arch
  ins.push([0x15, 1, 0, AUDIT_ARCH_X86_64]); // jeq x86_64 -> skip the kill
  ins.push([0x06, 0, 0, RET_KILL_PROCESS]);
  ins.push([0x20, 0, 0, 0]); // ld nr
  // Jumps are relative; the EPERM return is the last instruction, ALLOW the one before it.
  const total = 4 + 1 + nrs.length + 2;
  const eperm = total - 1;
  ins.push([0x35, eperm - (ins.length + 1), 0, 0x40000000]); // jge x32 bit -> EPERM
  for (const nr of nrs) ins.push([0x15, eperm - (ins.length + 1), 0, nr]);
  ins.push([0x06, 0, 0, RET_ALLOW]);
  ins.push([0x06, 0, 0, RET_EPERM]);
  const out = new Uint8Array(ins.length * 8);
  const v = new DataView(out.buffer);
  ins.forEach(([code, jt, jf, k], i) => {
    v.setUint16(i * 8, code, true);
    v.setUint8(i * 8 + 2, jt);
    v.setUint8(i * 8 + 3, jf);
    v.setUint32(i * 8 + 4, k >>> 0, true);
  });
  return out;
}

/**
 * The same policy as an OCI seccomp profile (for `--seccomp PATH.json`).
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("profile.json", JSON.stringify(ociProfile()));
 * ```
 */
export function ociProfile(): Record<string, unknown> {
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64"],
    syscalls: [{ names: Object.keys(DENIED), action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
  };
}
