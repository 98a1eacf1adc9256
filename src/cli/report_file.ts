/**
 * Where `--report-file` writes the result: a file opened before the
 * sandbox starts and written through that descriptor after it ends, so
 * nothing the payload does to the path meanwhile (a symlink in its place,
 * its directory swapped for a symlink, a directory named like it) moves
 * the report anywhere else. What an earlier sandbox left at the path is
 * not followed either: a symlink in a directory a read-write bind of this
 * plan holds is replaced by a new file, and a path that leads through a
 * symlink inside such a directory is refused.
 *
 * @module
 */
import { fileErrorText, UsageError } from "../common/errors.ts";
import type { Plan } from "../plan/types.ts";

/** A report destination: written once after the run, then closed. */
export interface ReportFile {
  /** The path as given. */
  readonly path: string;
  /** Writes the whole text; rejects when it cannot (e.g. ENOSPC on /dev/full). */
  write(text: string): Promise<void>;
  /** Releases the file. */
  close(): void;
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
export async function openReport(path: string, plan: Plan): Promise<ReportFile> {
  const fail = (why: unknown) =>
    new UsageError(
      `--report-file: cannot open ${path}: ${fileErrorText(why)}`,
      "--report-file",
      { cause: why },
    );
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const dir = abs.slice(0, abs.lastIndexOf("/")) || "/";
  const writable = (p: string) =>
    plan.mounts.some((m) =>
      m.kind === "bind" && !m.readonly && (p === m.source || p.startsWith(m.source.replace(/\/$/, "") + "/"))
    );
  let file: Deno.FsFile;
  try {
    const real = Deno.realPathSync(dir);
    if (writable(dir) && real !== dir) {
      throw new Error(`its directory leads through a symlink inside a read-write bind (to ${real})`);
    }
    if (writable(real)) {
      // The sandbox may have left a symlink here in an earlier run: replace it, never follow it.
      if ((await Deno.lstat(abs).catch(() => null))?.isSymlink) await Deno.remove(abs);
    }
    file = await Deno.open(abs, { write: true, create: true, mode: 0o644 });
  } catch (e) {
    throw fail(e);
  }
  let regular = false;
  try {
    regular = (await file.stat()).isFile;
  } catch { /* not knowable: written as a stream */ }
  return {
    path,
    async write(text) {
      // The payload may have written to the file meanwhile (it lay in a writable bind): start it over.
      if (regular) {
        await file.truncate(0);
        await file.seek(0, Deno.SeekMode.Start);
      }
      const bytes = new TextEncoder().encode(text);
      for (let n = 0; n < bytes.length;) n += await file.write(bytes.subarray(n));
    },
    close: () => file.close(),
  };
}
