/**
 * Puts the native core embedded in the module graph where `Deno.dlopen` can
 * load it without a file anyone could swap: the bytes are decoded, checked
 * against the SHA-256 compiled into the module, written into a memfd of this
 * process, sealed against every change, and loaded through
 * `/proc/self/fd/N`. What was checked is exactly what is loaded. No shared or
 * predictable directory is ever used. The check runs on Web Crypto where the
 * caller can wait, and synchronously (src/native/sha256.ts) for a first
 * `Command.spawn()`, which must return at once.
 *
 * @module
 */
import { sha256 } from "./sha256.ts";
import { HakoniwaError } from "../common/errors.ts";
import { openLibrary } from "./dlopen.ts";
import { NATIVE_BASE64, NATIVE_SHA256 } from "../generated/native.js";

const MFD_CLOEXEC = 0x1n, MFD_ALLOW_SEALING = 0x2n, MFD_NOEXEC_SEAL = 0x8n;
const F_ADD_SEALS = 1033n;
const F_SEAL_SEAL = 0x1n, F_SEAL_SHRINK = 0x2n, F_SEAL_GROW = 0x4n, F_SEAL_WRITE = 0x8n;
/** x86_64 syscall numbers (the embedded core is x86_64 too). */
const SYS = { write: 1n, close: 3n, fcntl: 72n, memfd_create: 319n } as const;

/**
 * The C library Deno itself runs on, for the few syscalls this needs:
 * glibc's `syscall()` takes every argument in a register (it is written in
 * assembly, no varargs), and each symbol bound costs a cold start time.
 *
 * @example
 * ```ts
 * import { LIBC } from "./image.ts";
 * console.log(Object.keys(LIBC)); // [ "syscall", "__errno_location" ]
 * ```
 */
export const LIBC = {
  syscall: { parameters: ["i64", "i64", "i64", "i64"], result: "i64" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

const address = (b: Uint8Array) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));

/**
 * Lowercase hex of bytes.
 *
 * @example
 * ```ts
 * import { hex } from "./image.ts";
 * console.log(hex(new Uint8Array([1, 255]))); // "01ff"
 * ```
 */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function decode(base64: string): Uint8Array {
  const native = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
  return native ? native(base64) : Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function damaged(): HakoniwaError {
  return new HakoniwaError("the embedded native core does not match its SHA-256: the module is damaged");
}

/**
 * The embedded library's bytes, checked against its SHA-256 (synchronously).
 *
 * @example
 * ```ts
 * import { embeddedLibrary } from "./image.ts";
 * console.log(embeddedLibrary().length > 0);
 * ```
 */
export function embeddedLibrary(): Uint8Array {
  const bytes = decode(NATIVE_BASE64);
  if (hex(sha256(bytes)) !== NATIVE_SHA256) throw damaged();
  return bytes;
}

/**
 * The embedded library's bytes, checked against its SHA-256 with Web Crypto.
 *
 * @example
 * ```ts
 * import { embeddedLibraryAsync } from "./image.ts";
 * console.log((await embeddedLibraryAsync()).length > 0);
 * ```
 */
export async function embeddedLibraryAsync(): Promise<Uint8Array> {
  const bytes = decode(NATIVE_BASE64);
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  if (hex(new Uint8Array(digest)) !== NATIVE_SHA256) throw damaged();
  return bytes;
}

/**
 * Writes `bytes` into a new memfd sealed against writes, growth, shrinking
 * and further seals, and returns its fd (close-on-exec). The fd stays open:
 * `/proc/self/fd/N` names it for `Deno.dlopen`.
 *
 * @example
 * ```ts
 * import { sealedMemfd } from "./image.ts";
 * const fd = sealedMemfd("example", new Uint8Array([1, 2, 3]));
 * console.log(Deno.readFileSync(`/proc/self/fd/${fd}`)); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function sealedMemfd(name: string, bytes: Uint8Array): number {
  const libc = openLibrary("libc.so.6", LIBC);
  try {
    const sys = (nr: bigint, a = 0n, b = 0n, c = 0n) => Number(libc.symbols.syscall(nr, a, b, c));
    const errno = () => new Deno.UnsafePointerView(libc.symbols.__errno_location()!).getInt32();
    const cname = new TextEncoder().encode(`${name}\0`);
    // The library is mapped, never executed as a program: MFD_NOEXEC_SEAL keeps it so where the kernel knows it
    // (Linux 6.3 or later; older kernels refuse the flag).
    let fd = sys(SYS.memfd_create, address(cname), MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
    if (fd < 0) fd = sys(SYS.memfd_create, address(cname), MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw new HakoniwaError(`memfd_create failed (errno ${errno()}): cannot load the native core`);
    try {
      for (let off = 0; off < bytes.length;) {
        const rest = bytes.subarray(off);
        const n = sys(SYS.write, BigInt(fd), address(rest), BigInt(rest.length));
        if (n <= 0) throw new HakoniwaError(`writing the native core to its memfd failed (errno ${errno()})`);
        off += n;
      }
      const seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
      if (sys(SYS.fcntl, BigInt(fd), F_ADD_SEALS, seals) < 0) {
        throw new HakoniwaError(`sealing the native core's memfd failed (errno ${errno()})`);
      }
    } catch (e) {
      sys(SYS.close, BigInt(fd));
      throw e;
    }
    return fd;
  } finally {
    libc.close();
  }
}

/**
 * A sealed memfd holding exactly the checked bytes of the embedded native
 * core (checked here unless the caller passes bytes it checked), and the
 * path that loads it (`/proc/self/fd/N`), which stays valid as long as the
 * fd is open (close-on-exec; the loader keeps it for the process's life).
 *
 * @example
 * ```ts ignore
 * import { embeddedLibraryImage } from "./image.ts";
 * const { path } = embeddedLibraryImage();
 * const lib = Deno.dlopen(path, { hk_abi_version: { parameters: [], result: "i32" } });
 * ```
 */
export function embeddedLibraryImage(bytes: Uint8Array = embeddedLibrary()): { path: string; fd: number } {
  const fd = sealedMemfd("libhakoniwa", bytes);
  return { path: `/proc/self/fd/${fd}`, fd };
}
