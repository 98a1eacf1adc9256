/**
 * Where `--report-file` writes the result: a file opened before the
 * sandbox starts and written through that descriptor after it ends, so
 * nothing the payload does to the path meanwhile (a symlink in its place,
 * its directory swapped for a symlink, a directory named like it) moves
 * the report anywhere else.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

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
 * const out = await openReport("/tmp/report.json");
 * await out.write('{"status":"OK"}\n');
 * out.close();
 * ```
 */
export async function openReport(path: string): Promise<ReportFile> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, create: true, mode: 0o644 });
  } catch (e) {
    throw new UsageError(`--report-file: cannot open ${path}: ${e instanceof Error ? e.message : e}`, "--report-file", {
      cause: e,
    });
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
