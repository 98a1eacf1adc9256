/**
 * Where `--report-file` writes the result: a file opened before the
 * sandbox starts and written through that descriptor after it ends, so
 * nothing the payload does to the path meanwhile (a symlink in its place,
 * its directory swapped for a symlink, a directory named like it) moves
 * the report anywhere else. It is opened as every file the CLI writes is
 * (src/native/safe_open.ts): never through a symbolic link at its name, a
 * regular file or a character device (/dev/null), non-blocking (a FIFO is
 * an error, not a hang before any walltime applies), and not beneath a
 * directory another user can write unless it is sticky and the file is the
 * caller's. What an earlier sandbox left at the path is not followed
 * either: a symlink in a directory a read-write bind (or a read-write
 * rootdir) of this plan holds is replaced by a new file, any other is
 * refused, and a path that leads through a symlink inside such a directory
 * is refused.
 *
 * @module
 */
import { fileErrorText, UsageError } from "../common/errors.ts";
import type { Plan } from "../plan/types.ts";
import { openHostFileForWrite } from "../native/safe_open.ts";

/** A report destination: written once after the run, then closed. */
export interface ReportFile {
  /** The path as given. */
  readonly path: string;
  /** Writes the whole text; rejects when it cannot (e.g. ENOSPC on /dev/full). */
  write(text: string): Promise<void>;
  /** Releases the file. */
  close(): void;
}

/** Host directories the sandbox of `plan` can write: its read-write binds and a read-write rootdir. */
function writableByPlan(plan: Plan): string[] {
  const dirs = plan.mounts.filter((m) => m.kind === "bind" && !m.readonly).map((m) => (m as { source: string }).source);
  if (plan.root.source !== null && !plan.root.readonly) dirs.push(plan.root.source);
  return dirs.map((d) => d.replace(/\/+$/, "") || "/");
}

/**
 * Opens where the report goes, before the sandbox starts: created when
 * missing, not truncated until the report is written (a run that cannot
 * start leaves an old report alone). Throws {@link UsageError} naming
 * `--report-file` when it cannot be opened.
 *
 * @example
 * ```ts ignore
 * const out = await openReport("/tmp/report.json", plan);
 * await out.write('{"status":"OK"}\n');
 * out.close();
 * ```
 */
export function openReport(path: string, plan: Plan): Promise<ReportFile> {
  const fail = (why: unknown) =>
    new UsageError(`--report-file: cannot open ${path}: ${fileErrorText(why)}`, "--report-file", { cause: why });
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const dir = abs.slice(0, abs.lastIndexOf("/")) || "/";
  const writable = writableByPlan(plan);
  const inside = (p: string) => writable.some((w) => p === w || p.startsWith(w === "/" ? "/" : `${w}/`));
  try {
    let real = dir;
    try {
      real = Deno.realPathSync(dir);
    } catch { /* missing: the native core says so */ }
    if (inside(dir) && real !== dir) {
      throw new Error(`its directory leads through a symlink inside a directory the sandbox can write (to ${real})`);
    }
    // A link in a directory the sandbox can write was left there by an earlier sandbox: replaced, never followed.
    return Promise.resolve(openHostFileForWrite(abs, { replaceLink: inside(real) }));
  } catch (e) {
    throw fail(e);
  }
}
