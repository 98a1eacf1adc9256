/**
 * The host files the CLI and the library read and write, opened by the native core (native/safe_open.c) so that
 * no path leads them where the caller did not mean. The one way src/ opens such a file:
 *
 * - read (a policy, an include, a file a template reads, a 1.x config, a seccomp profile, a rootdir's passwd and
 *   group): opened once, non-blocking (a FIFO is an error, not a hang), a regular file of at most
 *   {@link MAX_CONFIG_BYTES}; a symbolic link on the way is followed only when it belongs to the caller or root;
 * - written (the report, a completion script): never through a link at its name, a regular file or a character
 *   device such as /dev/null, and not beneath a directory another user can write unless it is sticky (/tmp) and
 *   the file is the caller's.
 *
 * Every failure is a {@link HostFileError} whose message says why in plain words (the caller names the file).
 *
 * @module
 */
import { describeErrno, loadNative, loadNativeSync, type Native } from "./ffi.ts";
import { OPEN_FLAG, OPEN_SLOT } from "../generated/abi.js";

/**
 * The most bytes read from one policy, seccomp profile, template or passwd file: 4 MiB.
 *
 * @example
 * ```ts
 * import { MAX_CONFIG_BYTES } from "./safe_open.ts";
 * console.log(MAX_CONFIG_BYTES); // 4194304
 * ```
 */
export const MAX_CONFIG_BYTES: number = 4 * 1024 * 1024;

/**
 * A host file that cannot be opened, read or written: `message` says why in plain words (`no such file or
 * directory`, `is not a regular file (a FIFO)`, `/tmp/x is a symbolic link of uid 1001, not yours or root's: not
 * following it`), `errno` the error number (0 when none).
 *
 * @example
 * ```ts
 * import { HostFileError } from "./safe_open.ts";
 * console.log(new HostFileError("is not a regular file (a FIFO)", 22).message);
 * ```
 */
export class HostFileError extends Error {
  /** The errno, or 0. */
  readonly errno: number;
  /** Creates the error. */
  constructor(message: string, errno: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "HostFileError";
    this.errno = errno;
  }
}

/**
 * What the native core saw of an opened file and of the directory holding it.
 *
 * @example
 * ```ts ignore
 * const { info } = readHostFileSync("/etc/passwd");
 * console.log(info.uid === 0 && (info.mode & 0o022) === 0); // root's, writable by nobody else
 * ```
 */
export interface HostFileInfo {
  /** st_mode of the file. */
  mode: number;
  /** Its owner. */
  uid: number;
  /** Its group. */
  gid: number;
  /** Its size in bytes when opened. */
  size: number;
  /** st_mode of its directory. */
  dirMode: number;
  /** The directory's owner. */
  dirUid: number;
  /** The directory's group. */
  dirGid: number;
}

const PLAIN: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EISDIR: "is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "the name is too long",
  ENOSPC: "no space left on device",
  EROFS: "read-only file system",
};

function hostError(native: Native, rc: number, why: Uint8Array): HostFileError {
  const text = new TextDecoder().decode(why.subarray(0, Math.max(0, why.indexOf(0))));
  const [code, desc] = describeErrno(native, -rc);
  const plain = PLAIN[code] ?? (desc.charAt(0).toLowerCase() + desc.slice(1));
  return new HostFileError(text || plain, -rc);
}

const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);

/** `path` made absolute against the working directory (the native core then checks every directory from `/`). */
function absolute(path: string): string {
  if (path.includes("\0")) throw new HostFileError("the path contains a NUL byte", 22);
  return path.startsWith("/") ? path : `${Deno.cwd().replace(/\/$/, "")}/${path}`;
}

function openFile(native: Native, path: string, root: string, flags: number): { fd: number; info: HostFileInfo } {
  const info = new BigInt64Array(OPEN_SLOT.SLOTS);
  const why = new Uint8Array(1024);
  const target = root ? path : absolute(path);
  const fd = native.hk_open_file(cstr(target), cstr(root ? absolute(root) : ""), flags, info, why, BigInt(why.length));
  if (fd < 0) throw hostError(native, fd, why);
  const n = Array.from(info, Number);
  return {
    fd,
    info: {
      mode: n[OPEN_SLOT.MODE],
      uid: n[OPEN_SLOT.UID],
      gid: n[OPEN_SLOT.GID],
      size: n[OPEN_SLOT.SIZE],
      dirMode: n[OPEN_SLOT.DIR_MODE],
      dirUid: n[OPEN_SLOT.DIR_UID],
      dirGid: n[OPEN_SLOT.DIR_GID],
    },
  };
}

/** Reads an opened file whole (at most `max` bytes: more is an error), and closes it. */
function readAll(native: Native, fd: number, max: number): Uint8Array {
  try {
    const buf = new Uint8Array(Math.min(max + 1, 64 * 1024));
    let all = new Uint8Array(0);
    for (;;) {
      const n = Number(native.hk_pread(fd, buf, BigInt(buf.length), BigInt(all.length)));
      if (n < 0) throw hostError(native, n, new Uint8Array(1));
      if (n === 0) return all;
      const next = new Uint8Array(all.length + n);
      next.set(all);
      next.set(buf.subarray(0, n), all.length);
      all = next;
      if (all.length > max) throw new HostFileError(`is larger than ${max} bytes`, 27);
    }
  } finally {
    native.hk_close(fd);
  }
}

/**
 * Reads a host file under the rules above; with `root`, `path` is resolved inside the directory `root` as its
 * own root (a rootdir's `etc/passwd`: its links stay inside it, a link at the name is refused). Throws
 * {@link HostFileError}.
 *
 * @example
 * ```ts
 * import { readHostFileSync } from "./safe_open.ts";
 * const { text, info } = readHostFileSync("/etc/hostname");
 * console.log(text.length > 0, info.uid);
 * ```
 */
export function readHostFileSync(
  path: string,
  options: { max?: number; root?: string; nativePath?: string } = {},
): { text: string; info: HostFileInfo } {
  const native = loadNativeSync(options.nativePath);
  const { fd, info } = openFile(native, path, options.root ?? "", OPEN_FLAG.READ);
  const bytes = readAll(native, fd, options.max ?? MAX_CONFIG_BYTES);
  return { text: new TextDecoder().decode(bytes), info };
}

/**
 * The text of a host file under the rules above (see {@link readHostFileSync}). Throws {@link HostFileError}.
 *
 * @example
 * ```ts
 * import { readHostTextSync } from "./safe_open.ts";
 * console.log(readHostTextSync("/etc/hostname").length > 0); // true
 * ```
 */
export function readHostTextSync(path: string, max: number = MAX_CONFIG_BYTES): string {
  return readHostFileSync(path, { max }).text;
}

/**
 * {@link readHostTextSync}, loading the native core without blocking the event loop first.
 *
 * @example
 * ```ts
 * import { readHostText } from "./safe_open.ts";
 * console.log((await readHostText("/etc/hostname")).length > 0); // true
 * ```
 */
export async function readHostText(path: string, max: number = MAX_CONFIG_BYTES): Promise<string> {
  await loadNative();
  return readHostTextSync(path, max);
}

/**
 * A host file opened for writing (see {@link openHostFileForWrite}): written whole, then closed.
 *
 * @example
 * ```ts ignore
 * const out = openHostFileForWrite("/tmp/report.json");
 * await out.write('{"status":"OK"}\n');
 * out.close();
 * ```
 */
export interface HostWriteFile {
  /** The path as given. */
  readonly path: string;
  /** A regular file (emptied before each write); false for a device. */
  readonly regular: boolean;
  /** Writes the whole text (a regular file is emptied first); rejects with a {@link HostFileError}. */
  write(text: string): Promise<void>;
  /** Releases the file. */
  close(): void;
}

/**
 * Opens a host file for writing under the rules above: created (0644, less the umask) when missing, not truncated
 * until {@link HostWriteFile.write}. With `replaceLink`, a symbolic link at the name is removed and a new file made
 * in its place (for a name an earlier sandbox could have planted a link at); otherwise it is refused. Throws
 * {@link HostFileError}.
 *
 * @example
 * ```ts
 * import { openHostFileForWrite } from "./safe_open.ts";
 * const dir = Deno.makeTempDirSync();
 * const out = openHostFileForWrite(`${dir}/r.json`);
 * await out.write("{}\n");
 * out.close();
 * console.log(Deno.readTextFileSync(`${dir}/r.json`)); // "{}\n"
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function openHostFileForWrite(
  path: string,
  options: { replaceLink?: boolean; nativePath?: string } = {},
): HostWriteFile {
  const native = loadNativeSync(options.nativePath);
  const flags = OPEN_FLAG.WRITE | (options.replaceLink ? OPEN_FLAG.REPLACE_LINK : 0);
  const { fd, info } = openFile(native, path, "", flags);
  const regular = (info.mode & 0o170000) === 0o100000;
  let open = true;
  return {
    path,
    regular,
    async write(text) {
      // The payload may have written to the file meanwhile (it lay in a writable bind): start it over.
      const rc = native.hk_rewind(fd);
      if (rc < 0) throw hostError(native, rc, new Uint8Array(1));
      const bytes = new TextEncoder().encode(text);
      for (let n = 0; n < bytes.length;) {
        const w = Number(await native.hk_write(fd, bytes.subarray(n), BigInt(bytes.length - n)));
        if (w <= 0) throw hostError(native, w < 0 ? w : -5, new Uint8Array(1));
        n += w;
      }
    },
    close() {
      if (open) native.hk_close(fd);
      open = false;
    },
  };
}

/**
 * Writes `text` to a host file as a new file renamed onto it, making its missing directories, under the rules
 * above (a link at the name is refused); returns the absolute path written. Throws {@link HostFileError}.
 *
 * @example
 * ```ts
 * import { replaceHostFile } from "./safe_open.ts";
 * const dir = Deno.makeTempDirSync();
 * const where = replaceHostFile(`${dir}/a/b/hakoniwa.bash`, "complete -F _hakoniwa hakoniwa\n");
 * console.log(Deno.readTextFileSync(where)); // "complete -F _hakoniwa hakoniwa\n"
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function replaceHostFile(path: string, text: string, nativePath?: string): string {
  const native = loadNativeSync(nativePath);
  const abs = absolute(path);
  const data = new TextEncoder().encode(text);
  const why = new Uint8Array(1024);
  const rc = native.hk_replace_file(cstr(abs), data, BigInt(data.length), why, BigInt(why.length));
  if (rc < 0) throw hostError(native, rc, why);
  return abs;
}
