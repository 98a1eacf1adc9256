/**
 * Where `hakoniwa completion -f FILE` writes a script (1.x's `--file`):
 * FILE, with its missing parent directories made, as every file the CLI
 * writes (src/native/safe_open.ts):
 *
 * - the path is walked one directory at a time by file descriptors; a
 *   missing directory is made there (0755), and what appears there
 *   meanwhile is checked like anything already there;
 * - a symbolic link on the way is followed only when it belongs to the
 *   caller or to root (the rule of the kernel's `fs.protected_symlinks` for
 *   sticky directories, which not every machine turns on);
 * - every directory on the way belongs to the caller or root and no other
 *   user can write it, unless it is sticky (/tmp): a directory another user
 *   made in /tmp is refused, since its owner could replace the script a
 *   shell later sources;
 * - FILE itself is never opened: the script goes to a new file beside it
 *   (created exclusively, which no link redirects) that is then renamed
 *   onto FILE; a link at FILE is refused rather than replaced (give the path
 *   it points to).
 *
 * @module
 */
import { fileErrorText, UsageError } from "../common/errors.ts";
import { replaceHostFile } from "../native/safe_open.ts";

/**
 * Writes `text` to `file` as the module says, through a new file renamed
 * onto it; returns the absolute path written. Throws a {@link UsageError}
 * naming `--file` when it cannot.
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
  try {
    return replaceHostFile(file, text);
  } catch (e) {
    throw new UsageError(`--file: cannot write ${file}: ${fileErrorText(e)}`, "--file", { cause: e });
  }
}
