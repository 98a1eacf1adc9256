/**
 * The guard: a small seccomp program that every sandbox gets, whatever its
 * profile, `unconfined` included. It runs before the profile's own program
 * and refuses what no profile may allow:
 *
 * - set-id files: `chmod`, `fchmod`, `fchmodat`, `fchmodat2` with S_ISUID
 *   or S_ISGID in the mode, `mknod`/`mknodat` with either bit, and
 *   `open`/`openat`/`creat` creating a file (O_CREAT or O_TMPFILE) with
 *   either bit get EPERM. A payload could otherwise plant a set-uid
 *   program in a read-write bind, which the host's users then run.
 *   `openat2` (whose mode sits behind a pointer a filter cannot read) and
 *   io_uring (whose open operations no filter sees) get ENOSYS, so
 *   programs fall back to `openat` and plain syscalls.
 * - keyrings: `keyctl`, `add_key`, `request_key` get EPERM, so no key of
 *   the caller (whose user keyring the sandbox's uid may own) is
 *   reachable.
 *
 * Every ABI of the machine is covered (x86_64, x32 and i386 on x86_64;
 * aarch64 and arm on aarch64); a syscall of any other ABI kills the
 * process. The guard is hand-assembled BPF, so it needs no libseccomp.
 *
 * @module
 */
import { HakoniwaError } from "../common/errors.ts";

/** What the guard does with one syscall. */
type Check =
  | { kind: "deny"; errno: number }
  | { kind: "mode"; arg: number }
  | { kind: "create"; flagsArg: number; modeArg: number };

const EPERM = 1, ENOSYS = 38;

/** S_ISUID | S_ISGID. */
export const SETID_BITS = 0o6000;
/** O_CREAT | __O_TMPFILE (the same on x86 and arm). */
const CREATE_FLAGS = 0o100 | 0o20000000;

const SETID_SYSCALLS: Record<string, Check> = {
  chmod: { kind: "mode", arg: 1 },
  fchmod: { kind: "mode", arg: 1 },
  fchmodat: { kind: "mode", arg: 2 },
  fchmodat2: { kind: "mode", arg: 2 },
  mknod: { kind: "mode", arg: 1 },
  mknodat: { kind: "mode", arg: 2 },
  creat: { kind: "mode", arg: 1 },
  open: { kind: "create", flagsArg: 1, modeArg: 2 },
  openat: { kind: "create", flagsArg: 2, modeArg: 3 },
  openat2: { kind: "deny", errno: ENOSYS },
  io_uring_setup: { kind: "deny", errno: ENOSYS },
  io_uring_enter: { kind: "deny", errno: ENOSYS },
  io_uring_register: { kind: "deny", errno: ENOSYS },
  keyctl: { kind: "deny", errno: EPERM },
  add_key: { kind: "deny", errno: EPERM },
  request_key: { kind: "deny", errno: EPERM },
};

/**
 * The syscalls the guard looks at, and what it does with each.
 *
 * @example
 * ```ts
 * import { GUARDED_SYSCALLS } from "./guard.ts";
 * console.log(GUARDED_SYSCALLS.keyctl); // { kind: "deny", errno: 1 }
 * ```
 */
export const GUARDED_SYSCALLS: Readonly<Record<string, Check>> = SETID_SYSCALLS;

/**
 * Syscall numbers of the guarded syscalls, by ABI (`AUDIT_ARCH_*` value).
 * x32 uses the x86_64 numbers with bit 30 set.
 *
 * @example
 * ```ts
 * import { GUARD_ABIS } from "./guard.ts";
 * console.log(GUARD_ABIS.x86_64.numbers.chmod); // 90
 * ```
 */
export const GUARD_ABIS: Record<string, { audit: number; numbers: Record<string, number> }> = {
  x86_64: {
    audit: 0xc000003e,
    numbers: {
      open: 2,
      creat: 85,
      chmod: 90,
      fchmod: 91,
      mknod: 133,
      add_key: 248,
      request_key: 249,
      keyctl: 250,
      openat: 257,
      mknodat: 259,
      fchmodat: 268,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      openat2: 437,
      fchmodat2: 452,
    },
  },
  x86: {
    audit: 0x40000003,
    numbers: {
      open: 5,
      creat: 8,
      mknod: 14,
      chmod: 15,
      fchmod: 94,
      add_key: 286,
      request_key: 287,
      keyctl: 288,
      openat: 295,
      mknodat: 297,
      fchmodat: 306,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      openat2: 437,
      fchmodat2: 452,
    },
  },
  aarch64: {
    audit: 0xc00000b7,
    numbers: {
      mknodat: 33,
      fchmod: 52,
      fchmodat: 53,
      openat: 56,
      add_key: 217,
      request_key: 218,
      keyctl: 219,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      openat2: 437,
      fchmodat2: 452,
    },
  },
  arm: {
    audit: 0x40000028,
    numbers: {
      open: 5,
      creat: 8,
      mknod: 14,
      chmod: 15,
      fchmod: 94,
      add_key: 309,
      request_key: 310,
      keyctl: 311,
      openat: 322,
      mknodat: 324,
      fchmodat: 333,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      openat2: 437,
      fchmodat2: 452,
    },
  },
};

/** The ABIs a machine's kernel runs, the native one first. */
const MACHINE_ABIS: Record<string, string[]> = { x86_64: ["x86_64", "x86"], aarch64: ["aarch64", "arm"] };

const X32_BIT = 0x40000000;

// struct sock_filter codes and seccomp return values.
const LD_W_ABS = 0x20, ALU_AND_K = 0x54, JEQ_K = 0x15, JSET_K = 0x45, JA = 0x05, RET_K = 0x06;
const RET_ALLOW = 0x7fff0000, RET_KILL_PROCESS = 0x80000000;
const retErrno = (e: number) => (0x00050000 | e) >>> 0;
const NR = 0, ARCH = 4, argLow = (i: number) => 16 + 8 * i;

/** One instruction; jump targets are labels until assembled. */
interface Insn {
  code: number;
  k: number;
  jt?: string;
  jf?: string;
}

/** Assembles instructions and labels (strings) into struct sock_filter[]. */
function assemble(items: (Insn | string)[]): Uint8Array {
  const at = new Map<string, number>();
  const insns: Insn[] = [];
  for (const item of items) {
    if (typeof item === "string") at.set(item, insns.length);
    else insns.push(item);
  }
  const out = new Uint8Array(insns.length * 8);
  const view = new DataView(out.buffer);
  insns.forEach((insn, i) => {
    const off = (label?: string) => {
      if (label === undefined) return 0;
      const d = at.get(label)! - (i + 1);
      if (!(d >= 0 && d <= 255)) throw new HakoniwaError(`seccomp guard: jump to ${label} out of range (${d})`);
      return d;
    };
    view.setUint16(i * 8, insn.code, true);
    view.setUint8(i * 8 + 2, off(insn.jt));
    view.setUint8(i * 8 + 3, off(insn.jf));
    view.setUint32(i * 8 + 4, insn.k >>> 0, true);
  });
  return out;
}

function checkBody(name: string, check: Check, tag: string): (Insn | string)[] {
  const allow = `${tag}-allow`, deny = `${tag}-deny`;
  switch (check.kind) {
    case "deny":
      return [{ code: RET_K, k: retErrno(check.errno) }];
    case "mode":
      return [
        { code: LD_W_ABS, k: argLow(check.arg) },
        { code: JSET_K, k: SETID_BITS, jt: deny, jf: allow },
        deny,
        { code: RET_K, k: retErrno(EPERM) },
        allow,
        { code: RET_K, k: RET_ALLOW },
      ];
    case "create":
      return [
        { code: LD_W_ABS, k: argLow(check.flagsArg) },
        { code: JSET_K, k: CREATE_FLAGS, jt: `${tag}-mode`, jf: allow },
        `${tag}-mode`,
        { code: LD_W_ABS, k: argLow(check.modeArg) },
        { code: JSET_K, k: SETID_BITS, jt: deny, jf: allow },
        deny,
        { code: RET_K, k: retErrno(EPERM) },
        allow,
        { code: RET_K, k: RET_ALLOW },
      ];
  }
  throw new HakoniwaError(`seccomp guard: ${name}: unknown check`);
}

/**
 * The guard program for a machine (`Deno.build.arch`): struct
 * sock_filter[] ending in SECCOMP_RET_ALLOW wherever nothing is refused.
 *
 * @example
 * ```ts
 * import { guardProgram } from "./guard.ts";
 * console.log(guardProgram("x86_64").length % 8); // 0
 * ```
 */
export function guardProgram(machine: string = Deno.build.arch): Uint8Array {
  const abis = MACHINE_ABIS[machine];
  if (!abis) throw new HakoniwaError(`seccomp guard: no syscall table for the ${machine} architecture`);
  const items: (Insn | string)[] = [{ code: LD_W_ABS, k: ARCH }];
  for (const abi of abis) items.push({ code: JEQ_K, k: GUARD_ABIS[abi].audit, jt: `abi-${abi}` });
  items.push({ code: RET_K, k: RET_KILL_PROCESS });
  for (const abi of abis) {
    items.push(`abi-${abi}`, { code: LD_W_ABS, k: NR });
    // x32 syscalls are x86_64's numbers with bit 30 set; the guarded ones are common to both.
    if (abi === "x86_64") items.push({ code: ALU_AND_K, k: ~X32_BIT >>> 0 });
    const entries = Object.entries(GUARD_ABIS[abi].numbers);
    entries.forEach(([name, nr], i) => {
      const tag = `${abi}-${name}`, next = i + 1 < entries.length ? `${abi}-${entries[i + 1][0]}` : `${abi}-end`;
      items.push(tag, { code: JEQ_K, k: nr, jt: `${tag}-body`, jf: next }, `${tag}-body`);
      items.push(...checkBody(name, SETID_SYSCALLS[name], tag));
    });
    items.push(`${abi}-end`, { code: RET_K, k: RET_ALLOW });
  }
  return assemble(items);
}

/** The kernel's limit on a filter's length (BPF_MAXINSNS). */
const MAX_INSNS = 4096;

/**
 * The guard followed by `profile` (a compiled struct sock_filter[]), as one
 * program: every place the guard would allow jumps to the profile's first
 * instruction instead, so a syscall passes only when both allow it.
 * Without a profile, the guard alone.
 *
 * @example
 * ```ts
 * import { guardProgram, withGuard } from "./guard.ts";
 * console.log(withGuard(null).length === guardProgram().length); // true
 * ```
 */
export function withGuard(profile: Uint8Array | null, machine: string = Deno.build.arch): Uint8Array {
  const guard = guardProgram(machine);
  if (!profile) return guard;
  if (profile.length % 8 !== 0) throw new HakoniwaError("seccomp: the compiled profile is not whole instructions");
  const total = (guard.length + profile.length) / 8;
  if (total > MAX_INSNS) {
    throw new HakoniwaError(`seccomp: the profile and the guard take ${total} instructions, the kernel allows 4096`);
  }
  const out = new Uint8Array(guard.length + profile.length);
  out.set(guard);
  out.set(profile, guard.length);
  const view = new DataView(out.buffer);
  const n = guard.length / 8;
  for (let i = 0; i < n; i++) {
    if (view.getUint16(i * 8, true) === RET_K && view.getUint32(i * 8 + 4, true) === RET_ALLOW) {
      view.setUint16(i * 8, JA, true);
      view.setUint32(i * 8 + 4, n - (i + 1), true);
    }
  }
  return out;
}
