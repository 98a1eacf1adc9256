/**
 * The native stage (src/native/): takes the embedded, checksummed native library and gives its symbols (this
 * table) to the run stage; nothing else opens a library.
 *
 * The one symbol table of the native core (native/hakoniwa.h) and the order
 * in which the library is found: an explicit path, then the
 * `HAKONIWA_NATIVE_PATH` environment variable, then the copy embedded in
 * the module graph (loaded from a sealed memfd, see native_image.ts; `npm
 * run build` regenerates it from native/, and CI checks it is fresh). The
 * library carries the hakoniwa-init program it execs; see
 * {@link prepareInit} for where that image lives.
 *
 * @module
 */
import { HakoniwaError } from "../common/errors.ts";
import { openLibrary } from "./dlopen.ts";
import { ABI } from "../generated/abi.js";
import { embeddedLibraryAsync, embeddedLibraryImage } from "./image.ts";

/** The C ABI version this module speaks; must equal `HK_ABI_VERSION`. */
export const ABI_VERSION = ABI.VERSION;

/** Symbols of native/hakoniwa.h. */
export const SYMBOLS = {
  /** int32_t hk_abi_version(void) */
  hk_abi_version: { parameters: [], result: "i32" },
  /** int32_t hk_spawn(const uint8_t *spec, size_t len, int64_t *out, uint8_t *err) */
  hk_spawn: { parameters: ["buffer", "usize", "buffer", "buffer"], result: "i32" },
  /** int32_t hk_reap(int32_t pidfd, int32_t report_fd, int64_t start_ns, uint8_t *result) */
  hk_reap: { parameters: ["i32", "i32", "i64", "buffer"], result: "i32" },
  /** int32_t hk_init_prepare(const char *dirs, uint8_t *why, size_t len) */
  hk_init_prepare: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
  /** int64_t hk_held(int32_t hold_fd), on a worker thread */
  hk_held: { parameters: ["i32"], result: "i64", nonblocking: true },
  /** int32_t hk_release(int32_t hold_fd) */
  hk_release: { parameters: ["i32"], result: "i32" },
  /** int32_t hk_landlock_abi(void) */
  hk_landlock_abi: { parameters: [], result: "i32" },
  /** int32_t hk_mkfifo(const char *path, uint32_t mode) */
  hk_mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  /** int32_t hk_fifo_signal(const char *path) */
  hk_fifo_signal: { parameters: ["buffer"], result: "i32" },
  /** int32_t hk_wait(int32_t pidfd) */
  hk_wait: { parameters: ["i32"], result: "i32" },
  /** int32_t hk_send_fd(const char *path, int32_t fd) */
  hk_send_fd: { parameters: ["buffer", "i32"], result: "i32" },
  /** int32_t hk_kill(int32_t pidfd, int32_t sig) */
  hk_kill: { parameters: ["i32", "i32"], result: "i32" },
  /** int32_t hk_pipe(int32_t *fds) */
  hk_pipe: { parameters: ["buffer"], result: "i32" },
  /** int32_t hk_close(int32_t fd) */
  hk_close: { parameters: ["i32"], result: "i32" },
  /** int64_t hk_read(int32_t fd, uint8_t *buf, size_t len), on a worker thread */
  hk_read: { parameters: ["i32", "buffer", "usize"], result: "i64", nonblocking: true },
  /** int64_t hk_write(int32_t fd, const uint8_t *buf, size_t len), on a worker thread */
  hk_write: { parameters: ["i32", "buffer", "usize"], result: "i64", nonblocking: true },
  /** int64_t hk_try_read(int32_t fd, uint8_t *buf, size_t len), on a non-blocking fd */
  hk_try_read: { parameters: ["i32", "buffer", "usize"], result: "i64" },
  /** int64_t hk_try_write(int32_t fd, const uint8_t *buf, size_t len), on a non-blocking fd */
  hk_try_write: { parameters: ["i32", "buffer", "usize"], result: "i64" },
  /** int32_t hk_set_nonblock(int32_t fd) */
  hk_set_nonblock: { parameters: ["i32"], result: "i32" },
  /** int64_t hk_read_text(const char *path, uint8_t *buf, size_t cap) */
  hk_read_text: { parameters: ["buffer", "buffer", "usize"], result: "i64" },
  /** int64_t hk_owner(const char *path) */
  hk_owner: { parameters: ["buffer"], result: "i64" },
  /** int32_t hk_cgroup_remove_tree(const char *dir) */
  hk_cgroup_remove_tree: { parameters: ["buffer"], result: "i32" },
  /** int32_t hk_reactor_open(int32_t *out) */
  hk_reactor_open: { parameters: ["buffer"], result: "i32" },
  /** int32_t hk_reactor_arm(int32_t ep, int32_t fd, uint32_t what, uint64_t token) */
  hk_reactor_arm: { parameters: ["i32", "i32", "u32", "u64"], result: "i32" },
  /** int32_t hk_reactor_forget(int32_t ep, int32_t fd) */
  hk_reactor_forget: { parameters: ["i32", "i32"], result: "i32" },
  /** int32_t hk_reactor_wait(int32_t ep, uint8_t *out, int32_t max, int32_t timeout_ms), on a worker thread */
  hk_reactor_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
  /** int32_t hk_reactor_wake(int32_t wake) */
  hk_reactor_wake: { parameters: ["i32"], result: "i32" },
  /** int32_t hk_reactor_drain(int32_t wake) */
  hk_reactor_drain: { parameters: ["i32"], result: "i32" },
  /** int64_t hk_write_capped(int32_t fd, const uint8_t *buf, size_t len, int64_t limit), on a worker thread */
  hk_write_capped: { parameters: ["i32", "buffer", "usize", "i64"], result: "i64", nonblocking: true },
  /** int32_t hk_strerror(int32_t errnum, uint8_t *buf, size_t len) */
  hk_strerror: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  /** int32_t hk_open_null(void) */
  hk_open_null: { parameters: [], result: "i32" },
  /** int32_t hk_pty_open(int32_t *fds) */
  hk_pty_open: { parameters: ["buffer"], result: "i32" },
  /** int32_t hk_tty_size(void) */
  hk_tty_size: { parameters: [], result: "i32" },
  /** int32_t hk_tty_get(int32_t fd, uint8_t *mode, size_t len) */
  hk_tty_get: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  /** int32_t hk_tty_set(int32_t fd, const uint8_t *mode, size_t len) */
  hk_tty_set: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  /** int32_t hk_tty_raw(int32_t fd) */
  hk_tty_raw: { parameters: ["i32"], result: "i32" },
  /** int32_t hk_tty_winsize(int32_t from, int32_t to, uint16_t *rows_cols) */
  hk_tty_winsize: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  /** int32_t hk_pty_relay(int32_t in, int32_t out, int32_t master, int32_t stop_fd), on a worker thread */
  hk_pty_relay: { parameters: ["i32", "i32", "i32", "i32"], result: "i32", nonblocking: true },
  /** int32_t hk_memfd(void) */
  hk_memfd: { parameters: [], result: "i32" },
  /** int64_t hk_pread(int32_t fd, uint8_t *buf, size_t len, int64_t offset) */
  hk_pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "i64" },
  /** int32_t hk_kmsg_open(void) */
  hk_kmsg_open: { parameters: [], result: "i32" },
  /** int64_t hk_kmsg_read(int32_t fd, uint8_t *buf, size_t len) */
  hk_kmsg_read: { parameters: ["i32", "buffer", "usize"], result: "i64" },
  /** int32_t hk_open_file(const char *path, const char *root, uint32_t flags, int64_t *info, uint8_t *why, size_t len) */
  hk_open_file: { parameters: ["buffer", "buffer", "u32", "buffer", "buffer", "usize"], result: "i32" },
  /** int32_t hk_replace_file(const char *path, const uint8_t *data, size_t len, uint8_t *why, size_t why_len) */
  hk_replace_file: { parameters: ["buffer", "buffer", "usize", "buffer", "usize"], result: "i32" },
  /** int32_t hk_rewind(int32_t fd) */
  hk_rewind: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded native core. */
export type Native = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/**
 * What every start needs; the rest (kills, terminals, holds, errors, Landlock, libseccomp's export) is bound on first
 * use: each symbol bound (dlsym, its libffi call frame, a V8 function) costs a cold start ~20 µs.
 */
const CORE = [
  "hk_abi_version",
  "hk_init_prepare",
  "hk_spawn",
  "hk_reap",
  "hk_close",
  "hk_open_null",
  "hk_pipe",
  "hk_set_nonblock",
  "hk_try_read",
  "hk_try_write",
  "hk_reactor_open",
  "hk_reactor_arm",
  "hk_reactor_forget",
  "hk_reactor_wait",
  "hk_reactor_wake",
  "hk_reactor_drain",
  "hk_kmsg_open", // the default profile kills on a foreign architecture: its runs read the kernel log
  "hk_kmsg_read",
] as const satisfies readonly (keyof typeof SYMBOLS)[];

function pick(names: readonly string[], keep: boolean): Deno.ForeignLibraryInterface {
  return Object.fromEntries(Object.entries(SYMBOLS).filter(([k]) => names.includes(k) === keep));
}

/**
 * The symbols, bound in two parts (through openLibrary: no fast-call stubs,
 * see dlopen.ts): binding only what a start needs shortens a cold start; the
 * first use of any other symbol binds the rest (the library stays loaded by
 * its path).
 */
function bindSymbols(path: string, core: Deno.DynamicLibrary<Deno.ForeignLibraryInterface>): Native {
  const symbols: Record<string, unknown> = { ...core.symbols };
  let rest: Record<string, unknown> | undefined;
  for (const name of Object.keys(pick(CORE, false))) {
    Object.defineProperty(symbols, name, {
      enumerable: true,
      get: () => (rest ??= openLibrary(path, pick(CORE, false)).symbols)[name],
    });
  }
  return symbols as unknown as Native;
}

let loaded: { path: string; from: string; symbols: Native } | undefined;

/** Where the library comes from; the embedded one is put into a sealed memfd only when it is the one. */
function candidate(explicit?: string, checked?: Uint8Array): { path: string; from: string; fd?: number } {
  if (explicit) return { path: explicit, from: "the nativePath option" };
  const env = Deno.env.get("HAKONIWA_NATIVE_PATH");
  if (env) return { path: env, from: "HAKONIWA_NATIVE_PATH" };
  return { ...embeddedLibraryImage(checked), from: "the embedded library" };
}

/** Whether loading now would use the embedded library (no explicit path, no environment override). */
function wantsEmbedded(explicit?: string): boolean {
  return !explicit && !Deno.env.get("HAKONIWA_NATIVE_PATH");
}

/**
 * Loads the native core once per process and returns its symbols,
 * synchronously (so that `Command.spawn()` can be synchronous too).
 *
 * @example
 * ```ts ignore
 * import { loadNativeSync } from "./ffi.ts";
 * console.log(loadNativeSync().hk_abi_version());
 * ```
 */
export function loadNativeSync(explicitPath?: string, checked?: Uint8Array): Native {
  if (loaded && (!explicitPath || loaded.path === explicitPath)) return loaded.symbols;
  // The embedded library's memfd stays open: /proc/self/fd/N names it when the rest of the symbols are bound.
  const { path, from } = candidate(explicitPath, checked);
  let lib: Deno.DynamicLibrary<Deno.ForeignLibraryInterface>;
  try {
    lib = openLibrary(path, pick(CORE, true));
  } catch (e) {
    throw new HakoniwaError(
      `cannot load the native core from ${path} (${from}): ${e instanceof Error ? e.message : e}`,
    );
  }
  const abi = (lib.symbols as unknown as Native).hk_abi_version();
  if (abi !== ABI_VERSION) {
    lib.close();
    throw new HakoniwaError(
      `cannot load the native core: ${path} (${from}) speaks ABI ${abi}, expected ${ABI_VERSION}`,
    );
  }
  loaded = { path, from, symbols: bindSymbols(path, lib) };
  return loaded.symbols;
}

/**
 * Loads the native core once per process and returns its symbols.
 *
 * @example
 * ```ts ignore
 * import { loadNative } from "./ffi.ts";
 * const native = await loadNative();
 * console.log(native.hk_abi_version());
 * ```
 */
export async function loadNative(explicitPath?: string): Promise<Native> {
  if (loaded && (!explicitPath || loaded.path === explicitPath)) return loaded.symbols;
  // Where the caller can wait, the embedded bytes are checked by Web Crypto rather than the synchronous digest.
  const checked = wantsEmbedded(explicitPath) ? await embeddedLibraryAsync() : undefined;
  return loadNativeSync(explicitPath, checked);
}

/**
 * Which native core this process loaded and where it came from (`"the
 * embedded library"`, `"HAKONIWA_NATIVE_PATH"`, ...), or null before the
 * first sandbox.
 *
 * @example
 * ```ts
 * import { nativeLibraryInfo } from "jsr:@hakoniwa/cli";
 * console.log(nativeLibraryInfo()?.from ?? "not loaded yet");
 * ```
 */
export function nativeLibraryInfo(): { path: string; from: string } | null {
  return loaded ? { path: loaded.path, from: loaded.from } : null;
}

/**
 * Directories where the init program's image may go when the kernel refuses
 * executable memfds: only the caller's own (checked by the core on the
 * opened directory: owned by the caller, writable by nobody else).
 *
 * @example
 * ```ts
 * import { initFallbackDirs } from "./ffi.ts";
 * console.log(initFallbackDirs());
 * ```
 */
export function initFallbackDirs(): string[] {
  const env = (k: string) => Deno.env.get(k);
  return [env("XDG_RUNTIME_DIR"), env("HOME") ? `${env("HOME")}/.cache/hakoniwa` : undefined]
    .filter((d): d is string => !!d && d.startsWith("/") && !d.includes(":"));
}

let initImage: { kind: "memfd" | "file"; where: string } | undefined;

/**
 * Prepares the image of the hakoniwa-init program once per process: a
 * sealed memfd, or where `vm.memfd_noexec` refuses that, an unnamed file in
 * one of {@link initFallbackDirs} (created 0700 when missing). Returns where
 * it lives; throws a HakoniwaError saying what was tried when nothing works.
 *
 * @example
 * ```ts ignore
 * import { loadNativeSync, prepareInit } from "./ffi.ts";
 * console.log(prepareInit(loadNativeSync()).where); // "a sealed memfd"
 * ```
 */
export function prepareInit(native: Native): { kind: "memfd" | "file"; where: string } {
  if (initImage) return initImage;
  const dirs = initFallbackDirs();
  const why = new Uint8Array(1024);
  let rc = native.hk_init_prepare(new TextEncoder().encode(`${dirs.join(":")}\0`), why, BigInt(why.length));
  if (rc === 1) return initImage = { kind: "memfd", where: "a sealed memfd" };
  if (rc < 0) {
    // The fallback directory may simply not exist yet: make ours and try once more (the core re-checks it).
    const own = dirs.at(-1);
    if (own) {
      try {
        Deno.mkdirSync(own, { recursive: true, mode: 0o700 });
      } catch { /* the core says why it is unusable */ }
    }
    rc = native.hk_init_prepare(new TextEncoder().encode(`${dirs.join(":")}\0`), why, BigInt(why.length));
  }
  const text = new TextDecoder().decode(why.subarray(0, why.indexOf(0)));
  if (rc === 2) return initImage = { kind: "file", where: text };
  throw new HakoniwaError(`cannot prepare the hakoniwa-init program: ${text}`);
}

/** Describes an errno as `[name, text]`, e.g. `["ENOENT", "No such file or directory"]`. */
export function describeErrno(native: Native, errno: number): [string, string] {
  const buf = new Uint8Array(512);
  native.hk_strerror(errno, buf, BigInt(buf.length));
  const text = new TextDecoder().decode(buf.subarray(0, buf.indexOf(0)));
  const [name, desc] = text.split("\t");
  return [name ?? "", desc ?? ""];
}
