/**
 * Where `--report-file` writes the result, safe against a payload that
 * plants a symlink at that path.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { Plan } from "../plan.ts";

/** A report destination: written once after the run, then closed. */
export interface ReportFile {
  /** Writes the whole text. */
  write(text: string): Promise<void>;
  /** Releases the file, if one was opened. */
  close(): void;
}

/**
 * Opens where the report goes, before the sandbox starts. A path in a
 * directory the sandbox can write (under a read-write bind of `plan`) is the
 * payload's to change: it could leave a symlink there to any file of the
 * caller. Such a report is written to a new file beside it and renamed over
 * the path (rename replaces a link, never its target). Anywhere else the
 * file is opened now, so `/dev/stdout` and the like work.
 *
 * @example
 * ```ts ignore
 * const out = await openReport("/tmp/report.json", plan);
 * await out.write('{"status":"OK"}\n');
 * out.close();
 * ```
 */
export async function openReport(path: string, plan: Plan): Promise<ReportFile> {
  const fail = (e: unknown) =>
    new UsageError(`--report-file: cannot open ${path}: ${e instanceof Error ? e.message : e}`, "--report-file", {
      cause: e,
    });
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  let dir: string;
  try {
    dir = Deno.realPathSync(abs.slice(0, abs.lastIndexOf("/")) || "/");
  } catch (e) {
    throw fail(e);
  }
  const writable = plan.mounts.some((m) =>
    m.kind === "bind" && !m.readonly && (dir === m.source || dir.startsWith(m.source.replace(/\/$/, "") + "/"))
  );
  if (writable) {
    const target = `${dir === "/" ? "" : dir}/${abs.slice(abs.lastIndexOf("/") + 1)}`;
    return {
      async write(text) {
        const tmp = `${target}.${crypto.randomUUID()}.tmp`;
        try {
          await Deno.writeTextFile(tmp, text, { createNew: true, mode: 0o644 });
          await Deno.rename(tmp, target);
        } catch (e) {
          await Deno.remove(tmp).catch(() => {});
          throw e;
        }
      },
      close() {},
    };
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, create: true, truncate: true });
  } catch (e) {
    throw fail(e);
  }
  return {
    async write(text) {
      const bytes = new TextEncoder().encode(text);
      for (let n = 0; n < bytes.length;) n += await file.write(bytes.subarray(n));
    },
    close: () => file.close(),
  };
}
