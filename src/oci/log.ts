/**
 * The runtime's log, as runc writes it: `--log FILE` (stderr without it) in `--log-format text` (logfmt lines) or
 * `json` (one object a line, `{"level","msg","time"}`: containerd's shim and podman read the last error from it).
 * Nothing goes to stdout or stderr when a log file is given: during `create` they are the container's own stdio.
 *
 * @module
 */

/** Where and how the runtime logs. */
export interface OciLog {
  /** Writes one line at `level` (`error`, `warning`, `info`, `debug`). */
  write(level: string, msg: string): void;
}

/**
 * A log writing to `file` (appending; `stderr` when null: this process's, or a caller's of the decider) in `format`;
 * debug lines only with `debug` (`--debug`).
 *
 * @example
 * ```ts
 * import { openLog } from "./log.ts";
 * const path = Deno.makeTempFileSync();
 * openLog(path, "json").write("error", "boom");
 * console.log(JSON.parse(Deno.readTextFileSync(path)).msg); // "boom"
 * ```
 */
export function openLog(
  file: string | null,
  format: "text" | "json",
  debug = false,
  stderr: (bytes: Uint8Array) => void = (bytes) => Deno.stderr.writeSync(bytes),
): OciLog {
  return {
    write(level, msg) {
      // What is not applied as asked is said at debug level (with --debug): without --log, stderr is the container's.
      if (level === "debug" && !debug) return;
      const time = new Date().toISOString();
      const line = format === "json"
        ? JSON.stringify({ level, msg, time }) + "\n"
        : `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
      const bytes = new TextEncoder().encode(line);
      try {
        if (file) Deno.writeFileSync(file, bytes, { append: true, create: true });
        else stderr(bytes);
      } catch { /* nowhere to say it */ }
    },
  };
}
