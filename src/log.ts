/**
 * Logging, through @logtape/logtape: the one module that imports it.
 * Lines look like the seed's: `[2022-08-14T06:37:18Z INFO hakoniwa::executor] ...`.
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import { configure, getLogger, type LogRecord, reset } from "npm:@logtape/logtape@2.4.2";

/** Plain-text logging methods; messages are taken verbatim (braces are not placeholders). */
export interface Log {
  /** Logs at debug level. */
  debug(message: string): void;
  /** Logs at info level (shown with --verbose). */
  info(message: string): void;
  /** Logs at warning level (always shown). */
  warn(message: string): void;
}

/** A logger of a category under `hakoniwa`, e.g. `logger("executor")`. */
export function logger(category: string): Log {
  const l = getLogger(["hakoniwa", ...category.split("::")]);
  return {
    debug: (message) => l.debug("{message}", { message }),
    info: (message) => l.info("{message}", { message }),
    warn: (message) => l.warn("{message}", { message }),
  };
}

function format(record: LogRecord): string {
  const time = new Date(record.timestamp).toISOString().replace(/\.\d+Z$/, "Z");
  const msg = record.message.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join("");
  return `[${time} ${record.level.toUpperCase()} ${record.category.join("::")}] ${msg}\n`;
}

/**
 * Sends hakoniwa's log lines to stderr: `info` and up when verbose,
 * `debug` too when `debug` is set, otherwise warnings and errors only.
 */
export async function setupLogging(level: "warning" | "info" | "debug"): Promise<void> {
  const enc = new TextEncoder();
  await configure({
    reset: true,
    sinks: { stderr: (r: LogRecord) => Deno.stderr.writeSync(enc.encode(format(r))) },
    loggers: [
      { category: ["hakoniwa"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["stderr"] },
    ],
  });
}

/** Removes the logging configuration (for tests). */
export async function resetLogging(): Promise<void> {
  await reset();
}
