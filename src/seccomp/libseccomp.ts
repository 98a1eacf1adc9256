/**
 * The runtime libseccomp (`libseccomp.so.2`, no -dev package needed), bound
 * with Deno.dlopen. Only the calls the compiler in seccomp.ts needs; all of
 * them run in the parent, before the sandbox is cloned.
 *
 * @module
 */
import { HakoniwaError } from "../common/errors.ts";
import { openLibrary } from "../native/dlopen.ts";
import { loadNativeSync } from "../native/ffi.ts";

/** Symbols of libseccomp 2.5 (seccomp.h). */
const SYMBOLS = {
  /** const struct scmp_version *seccomp_version(void) */
  seccomp_version: { parameters: [], result: "pointer" },
  /** scmp_filter_ctx seccomp_init(uint32_t def_action) */
  seccomp_init: { parameters: ["u32"], result: "pointer" },
  /** void seccomp_release(scmp_filter_ctx ctx) */
  seccomp_release: { parameters: ["pointer"], result: "void" },
  /** uint32_t seccomp_arch_native(void) */
  seccomp_arch_native: { parameters: [], result: "u32" },
  /** uint32_t seccomp_arch_resolve_name(const char *arch_name) */
  seccomp_arch_resolve_name: { parameters: ["buffer"], result: "u32" },
  /** int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token) */
  seccomp_arch_add: { parameters: ["pointer", "u32"], result: "i32" },
  /** int seccomp_arch_remove(scmp_filter_ctx ctx, uint32_t arch_token) */
  seccomp_arch_remove: { parameters: ["pointer", "u32"], result: "i32" },
  /** int seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value) */
  seccomp_attr_set: { parameters: ["pointer", "i32", "u32"], result: "i32" },
  /** int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name) */
  seccomp_syscall_resolve_name_arch: { parameters: ["u32", "buffer"], result: "i32" },
  /** char *seccomp_syscall_resolve_num_arch(uint32_t arch_token, int num) (malloc'd) */
  seccomp_syscall_resolve_num_arch: { parameters: ["u32", "i32"], result: "pointer" },
  /** int seccomp_rule_add_array(scmp_filter_ctx, uint32_t action, int syscall, unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array) */
  seccomp_rule_add_array: { parameters: ["pointer", "u32", "i32", "u32", "buffer"], result: "i32" },
  /** int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd) */
  seccomp_export_bpf: { parameters: ["pointer", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const LIBC = {
  /** void free(void *ptr) */
  free: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * Filter actions (SCMP_ACT_*).
 *
 * @example
 * ```ts ignore
 * ACT.errno(1); // 0x00050001
 * ```
 */
export const ACT = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  /** SCMP_ACT_ERRNO(errno). */
  errno: (e: number): number => (0x00050000 | (e & 0xffff)) >>> 0,
} as const;

/**
 * Comparison operators of struct scmp_arg_cmp (enum scmp_compare).
 *
 * @example
 * ```ts ignore
 * CMP.masked_eq; // 7
 * ```
 */
export const CMP = { ne: 1, lt: 2, le: 3, eq: 4, ge: 5, gt: 6, masked_eq: 7 } as const;

/**
 * Filter attributes (enum scmp_filter_attr).
 *
 * @example
 * ```ts ignore
 * ATTR.ACT_BADARCH; // 2
 * ```
 */
export const ATTR = { ACT_DEFAULT: 1, ACT_BADARCH: 2, CTL_NNP: 3, CTL_TSYNC: 4, CTL_LOG: 6, CTL_OPTIMIZE: 8 } as const;

/**
 * One argument comparison: struct scmp_arg_cmp { unsigned arg; enum op; u64 datum_a, datum_b; }.
 *
 * @example
 * ```ts ignore
 * const c: ArgCmp = { arg: 1, op: "masked_eq", a: 0xffffffffn, b: 0x5412n };
 * ```
 */
export interface ArgCmp {
  /** Argument index, 0 to 5. */
  arg: number;
  /** Operator. */
  op: keyof typeof CMP;
  /** First datum (the mask for masked_eq). */
  a: bigint;
  /** Second datum (the value for masked_eq). */
  b: bigint;
}

/**
 * The libseccomp version in use.
 *
 * @example
 * ```ts ignore
 * const v: LibseccompVersion = libseccompVersion();
 * ```
 */
export interface LibseccompVersion {
  major: number;
  minor: number;
  micro: number;
}

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let lib: { seccomp: Lib; free: (p: Deno.PointerValue) => void; version: LibseccompVersion } | undefined;

/** Where libseccomp is loaded from: `HAKONIWA_LIBSECCOMP` if set, else the soname. */
function libraryPath(): string {
  return Deno.env.get("HAKONIWA_LIBSECCOMP") || "libseccomp.so.2";
}

function load() {
  if (lib) return lib;
  const path = libraryPath();
  let seccomp: Lib;
  try {
    seccomp = openLibrary(path, SYMBOLS).symbols;
  } catch (e) {
    throw new HakoniwaError(
      `seccomp: cannot load ${path} (install libseccomp 2.5 or later, e.g. the libseccomp2 package, ` +
        `or run with --seccomp unconfined): ${e instanceof Error ? e.message : e}`,
    );
  }
  const v = new Deno.UnsafePointerView(seccomp.seccomp_version()!);
  const version = { major: v.getUint32(0), minor: v.getUint32(4), micro: v.getUint32(8) };
  if (version.major < 2 || (version.major === 2 && version.minor < 5)) {
    throw new HakoniwaError(
      `seccomp: ${path} is version ${version.major}.${version.minor}.${version.micro}, 2.5 or later is needed`,
    );
  }
  const free = openLibrary("libc.so.6", LIBC).symbols.free;
  lib = { seccomp, free, version };
  return lib;
}

const cstr = (s: string) => new TextEncoder().encode(s + "\0");

/**
 * The loaded library's version; throws {@link HakoniwaError} when
 * libseccomp.so.2 is missing or too old.
 *
 * @example
 * ```ts ignore
 * console.log(libseccompVersion()); // { major: 2, minor: 5, micro: 4 }
 * ```
 */
export function libseccompVersion(): LibseccompVersion {
  return { ...load().version };
}

/**
 * The arch token of a name such as `x86_64`, `x86`, `x32`, `aarch64`, or
 * of `native`; null when libseccomp does not know it.
 *
 * @example
 * ```ts ignore
 * archToken("x86_64"); // 0xc000003e
 * ```
 */
export function archToken(name: string): number | null {
  const { seccomp } = load();
  if (name === "native") return seccomp.seccomp_arch_native();
  const t = seccomp.seccomp_arch_resolve_name(cstr(name));
  return t === 0 ? null : t;
}

/**
 * A syscall's number on an arch (default: native); null when the arch has
 * no such syscall.
 *
 * @example
 * ```ts ignore
 * syscallNumber("getppid"); // 110 on x86_64
 * ```
 */
export function syscallNumber(name: string, arch: number = archToken("native")!): number | null {
  const nr = load().seccomp.seccomp_syscall_resolve_name_arch(arch, cstr(name));
  return nr === -1 ? null : nr; // __NR_SCMP_ERROR; other negative numbers are libseccomp's pseudo-syscalls
}

/**
 * A syscall's name from its number on an arch (default: native), or null.
 *
 * @example
 * ```ts ignore
 * syscallName(110); // "getppid" on x86_64
 * ```
 */
export function syscallName(nr: number, arch: number = archToken("native")!): string | null {
  const { seccomp, free } = load();
  const p = seccomp.seccomp_syscall_resolve_num_arch(arch, nr);
  if (p === null) return null;
  const name = Deno.UnsafePointerView.getCString(p);
  free(p);
  return name;
}

/**
 * A libseccomp filter context; {@link FilterContext.exportBpf} returns the
 * compiled program and {@link FilterContext.release} frees it.
 *
 * @example
 * ```ts ignore
 * const ctx = new FilterContext(ACT.ALLOW);
 * ctx.addRule(ACT.errno(1), syscallNumber("ptrace")!, []);
 * const bpf = ctx.exportBpf();
 * ctx.release();
 * ```
 */
export class FilterContext {
  #lib = load();
  #ctx: Deno.PointerValue;

  /** A new context whose default action is `defaultAction`. */
  constructor(defaultAction: number) {
    this.#ctx = this.#lib.seccomp.seccomp_init(defaultAction >>> 0);
    if (this.#ctx === null) throw new HakoniwaError(`seccomp: seccomp_init(0x${defaultAction.toString(16)}) failed`);
  }

  #check(rc: number, what: string): number {
    if (rc < 0) throw new HakoniwaError(`seccomp: ${what}: ${errnoName(-rc)}`);
    return rc;
  }

  /** Adds an arch (no-op when present). */
  addArch(token: number): void {
    const rc = this.#lib.seccomp.seccomp_arch_add(this.#ctx, token >>> 0);
    if (rc !== -17) this.#check(rc, `seccomp_arch_add(0x${token.toString(16)})`); // EEXIST
  }

  /** Removes an arch. */
  removeArch(token: number): void {
    this.#check(this.#lib.seccomp.seccomp_arch_remove(this.#ctx, token >>> 0), "seccomp_arch_remove");
  }

  /** Sets a filter attribute. */
  setAttr(attr: number, value: number): void {
    this.#check(this.#lib.seccomp.seccomp_attr_set(this.#ctx, attr, value >>> 0), `seccomp_attr_set(${attr})`);
  }

  /** Adds a rule; returns the negative errno libseccomp gave, or 0. */
  addRule(action: number, syscall: number, args: ArgCmp[]): number {
    const buf = new Uint8Array(24 * Math.max(1, args.length));
    const view = new DataView(buf.buffer);
    args.forEach((c, i) => {
      view.setUint32(i * 24, c.arg, true);
      view.setUint32(i * 24 + 4, CMP[c.op], true);
      view.setBigUint64(i * 24 + 8, BigInt.asUintN(64, c.a), true);
      view.setBigUint64(i * 24 + 16, BigInt.asUintN(64, c.b), true);
    });
    return this.#lib.seccomp.seccomp_rule_add_array(this.#ctx, action >>> 0, syscall, args.length, buf);
  }

  /** Compiles the filter: the struct sock_filter[] the kernel loads. */
  exportBpf(): Uint8Array {
    const native = loadNativeSync();
    const fd = native.hk_memfd();
    if (fd < 0) throw new HakoniwaError(`seccomp: memfd_create: ${errnoName(-fd)}`);
    try {
      this.#check(this.#lib.seccomp.seccomp_export_bpf(this.#ctx, fd), "seccomp_export_bpf");
      const chunks: Uint8Array[] = [];
      let off = 0;
      for (;;) {
        const buf = new Uint8Array(65536);
        const n = Number(native.hk_pread(fd, buf, BigInt(buf.length), BigInt(off)));
        if (n < 0) throw new HakoniwaError(`seccomp: reading the exported filter: ${errnoName(-n)}`);
        if (n === 0) break;
        chunks.push(buf.subarray(0, n));
        off += n;
      }
      const out = new Uint8Array(off);
      let at = 0;
      for (const c of chunks) out.set(c, (at += c.length) - c.length);
      return out;
    } finally {
      native.hk_close(fd);
    }
  }

  /** Frees the context. */
  release(): void {
    if (this.#ctx !== null) this.#lib.seccomp.seccomp_release(this.#ctx);
    this.#ctx = null;
  }
}

function errnoName(e: number): string {
  const names: Record<number, string> = {
    1: "EPERM",
    2: "ENOENT",
    12: "ENOMEM",
    13: "EACCES",
    14: "EFAULT",
    17: "EEXIST",
    22: "EINVAL",
    34: "ERANGE",
    95: "EOPNOTSUPP",
  };
  return `${names[e] ?? "errno"} (${e})`;
}
