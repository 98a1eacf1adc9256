/**
 * Where `hakoniwa completion -f FILE` writes a script (1.x's `--file`):
 * FILE, with its missing parent directories made, never through a link that
 * another user planted.
 *
 * - A missing directory is made one level at a time with mkdir, which never
 *   follows a link at its own name: what appears there meanwhile is checked
 *   like anything already there.
 * - A symbolic link on the way is followed only when it belongs to the
 *   caller or to root (the rule of the kernel's `fs.protected_symlinks` for
 *   sticky directories, which not every machine turns on); another user's
 *   link is refused.
 * - FILE itself is never opened: the script goes to a new file beside it
 *   (created exclusively, which no link redirects) that is then renamed onto
 *   FILE; a rename replaces the name and follows nothing. A link at FILE is
 *   refused rather than replaced (give the path it points to).
 *
 * @module
 */
import { fileErrorText, UsageError } from "../common/errors.ts";

/** How a path looks from here: `Deno`'s calls, or a test's stand-in. */
export interface FileSystemView {
  /** lstat: null when the path does not exist. */
  lstat(path: string): { isSymlink: boolean; isDirectory: boolean; uid: number | null } | null;
  /** mkdir of one directory (not recursive); throws AlreadyExists when the name exists. */
  mkdir(path: string): void;
  /** The caller's uid. */
  uid: number;
}

const DENO_FS: FileSystemView = {
  lstat(path) {
    try {
      const st = Deno.lstatSync(path);
      return { isSymlink: st.isSymlink, isDirectory: st.isDirectory, uid: st.uid };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  },
  mkdir: (path) => Deno.mkdirSync(path, { mode: 0o755 }),
  uid: Deno.uid() ?? 0,
};

/** The absolute, normalized form of `path` (`.` and `..` resolved as names, as the shell's `cd -L` would). */
function absolute(path: string): string {
  const parts: string[] = [];
  for (const p of (path.startsWith("/") ? path : `${Deno.cwd()}/${path}`).split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return "/" + parts.join("/");
}

/**
 * Checks the way to `file` and makes its missing directories; returns the
 * absolute path. Throws an Error whose message says what is wrong.
 *
 * @example
 * ```ts
 * import { prepareCompletionPath } from "./completion_file.ts";
 * const dir = Deno.makeTempDirSync();
 * console.log(prepareCompletionPath(`${dir}/a/b/hakoniwa.bash`) === `${dir}/a/b/hakoniwa.bash`); // true
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function prepareCompletionPath(file: string, fs: FileSystemView = DENO_FS): string {
  const abs = absolute(file);
  if (abs === "/") throw new Error("is a directory");
  const parts = abs.split("/").slice(1);
  let at = "";
  for (const [i, name] of parts.entries()) {
    at += `/${name}`;
    const last = i === parts.length - 1;
    let st = fs.lstat(at);
    if (st === null && !last) {
      try {
        fs.mkdir(at);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
      st = fs.lstat(at);
      if (st === null) throw new Deno.errors.NotFound(`${at} vanished`);
    }
    if (st === null) break; // the file itself: it is made
    if (st.isSymlink && last) {
      throw new Error(`${at} is a symbolic link: not replacing it (give the path it points to)`);
    }
    if (st.isSymlink && st.uid !== fs.uid && st.uid !== 0) {
      throw new Error(`${at} is a symbolic link of another user (uid ${st.uid}): not following it`);
    }
    if (!st.isSymlink && !last && !st.isDirectory) throw new Deno.errors.NotADirectory(`${at}`);
    if (last && st.isDirectory) throw new Deno.errors.IsADirectory(`${at}`);
  }
  return abs;
}

/**
 * Writes `text` to `file` as {@link prepareCompletionPath} allows, through
 * a new file renamed onto it; returns the absolute path written. Throws a
 * {@link UsageError} naming `--file` when it cannot.
 *
 * @example
 * ```ts
 * import { writeCompletionFile } from "./completion_file.ts";
 * const dir = Deno.makeTempDirSync();
 * const where = writeCompletionFile(`${dir}/completions/hakoniwa`, "complete -F _hakoniwa hakoniwa\n");
 * console.log(Deno.readTextFileSync(where)); // "complete -F _hakoniwa hakoniwa\n"
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function writeCompletionFile(file: string, text: string): string {
  let temp: string | null = null;
  try {
    const abs = prepareCompletionPath(file);
    const dir = abs.slice(0, abs.lastIndexOf("/")) || "/";
    const name = abs.slice(abs.lastIndexOf("/") + 1);
    let out: Deno.FsFile | null = null;
    for (let i = 0; !out; i++) {
      temp = `${dir}/.${name}.${crypto.randomUUID().slice(0, 8)}.tmp`;
      try {
        out = Deno.openSync(temp, { write: true, createNew: true, mode: 0o644 });
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists) || i > 8) throw e;
      }
    }
    try {
      const bytes = new TextEncoder().encode(text);
      for (let n = 0; n < bytes.length;) n += out.writeSync(bytes.subarray(n));
    } finally {
      out.close();
    }
    Deno.renameSync(temp!, abs);
    temp = null;
    return abs;
  } catch (e) {
    if (temp) {
      try {
        Deno.removeSync(temp);
      } catch { /* it was never made */ }
    }
    throw new UsageError(`--file: cannot write ${file}: ${fileErrorText(e)}`, "--file", { cause: e });
  }
}
