/**
 * Logging: a small facade over @logtape/logtape, the one module that
 * imports it. Lines look like the seed's:
 * `[2022-08-14T06:37:18Z INFO hakoniwa::executor] ...`.
 *
 * logtape pulls Node's `util` (it boots Deno's Node compatibility layer,
 * tens of milliseconds), so it is loaded only when a run asks for info or
 * debug lines (`-v`, `-vv`). At the default level the facade drops lower
 * levels with one comparison and writes warnings itself, in the same
 * format, from the same record. Until {@link setupLogging} is called
 * nothing is written (a library stays quiet).
 *
 * @module
 */

/** Plain-text logging methods; messages are taken verbatim (braces are not placeholders). */
export interface Log {
  /** Logs at debug level. */
  debug(message: string): void;
  /** Logs at info level (shown with --verbose). */
  info(message: string): void;
  /** Logs at warning level (always shown). */
  warn(message: string): void;
}

/** The levels {@link setupLogging} accepts, lowest first; `off` writes nothing. */
export type LogLevel = "debug" | "info" | "warning" | "off";

/** One log line before formatting. */
export interface LogLine {
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** The level: one of {@link LogLevel}, or logtape's own (`error`...) for its lines. */
  level: string;
  /** The category, `["hakoniwa", ...]`. */
  category: readonly string[];
  /** The message, verbatim. */
  message: string;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, off: 3 };
let threshold: LogLevel = "off";
/** Set while logtape carries the lines (info and debug runs). */
let logtape: typeof import("npm:@logtape/logtape@2.4.2") | undefined;
const encoder = new TextEncoder();

/**
 * A logger of a category under `hakoniwa`, e.g. `logger("executor")`.
 *
 * @example
 * ```ts
 * import { logger } from "./log.ts";
 * logger("executor").info("Mount point: ..."); // written only after setupLogging("info")
 * ```
 */
export function logger(category: string): Log {
  const cat = ["hakoniwa", ...category.split("::")];
  const emit = (level: LogLevel, message: string) => {
    if (RANK[level] < RANK[threshold]) return;
    if (logtape) {
      const l = logtape.getLogger(cat);
      const args = ["{message}", { message }] as const;
      if (level === "debug") l.debug(...args);
      else if (level === "info") l.info(...args);
      else l.warn(...args);
    } else writeLine({ timestamp: Date.now(), level, category: cat, message });
  };
  return {
    debug: (message) => emit("debug", message),
    info: (message) => emit("info", message),
    warn: (message) => emit("warning", message),
  };
}

/**
 * Formats a line the way the seed did.
 *
 * @example
 * ```ts
 * import { formatLine } from "./log.ts";
 * const line = formatLine({ timestamp: 0, level: "info", category: ["hakoniwa", "executor"], message: "hi" });
 * console.log(line); // "[1970-01-01T00:00:00Z INFO hakoniwa::executor] hi\n"
 * ```
 */
export function formatLine(line: LogLine): string {
  const time = new Date(line.timestamp).toISOString().replace(/\.\d+Z$/, "Z");
  return `[${time} ${line.level.toUpperCase()} ${line.category.join("::")}] ${line.message}\n`;
}

function writeLine(line: LogLine): void {
  Deno.stderr.writeSync(encoder.encode(formatLine(line)));
}

/**
 * Sends hakoniwa's log lines to stderr: `info` and up when verbose,
 * `debug` too when `debug` is set, warnings only for `warning`, nothing
 * for `off`.
 * Only the verbose levels load logtape.
 *
 * @example
 * ```ts
 * import { resetLogging, setupLogging } from "./log.ts";
 * await setupLogging("warning"); // loads nothing
 * await resetLogging();
 * ```
 */
export async function setupLogging(level: LogLevel): Promise<void> {
  if (level === "warning" || level === "off") {
    if (logtape) await logtape.reset();
    logtape = undefined;
    threshold = level;
    return;
  }
  // A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
  // deno-lint-ignore no-import-prefix
  const lt = await import("npm:@logtape/logtape@2.4.2");
  await lt.configure({
    reset: true,
    sinks: {
      stderr: (r) =>
        writeLine({
          timestamp: r.timestamp,
          level: r.level,
          category: r.category,
          message: r.message.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(""),
        }),
    },
    loggers: [
      { category: ["hakoniwa"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["stderr"] },
    ],
  });
  logtape = lt;
  threshold = level;
}

/**
 * Removes the logging configuration (for tests): nothing is written until
 * the next {@link setupLogging}.
 *
 * @example
 * ```ts
 * import { resetLogging } from "./log.ts";
 * await resetLogging();
 * ```
 */
export async function resetLogging(): Promise<void> {
  if (logtape) await logtape.reset();
  logtape = undefined;
  threshold = "off";
}
