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

/** Logging through logtape (src/common/log_logtape.ts), loaded for `-v` and `-vv` only. */
export interface LogtapeSink {
  /** Logs `message` under `category` at `level`. */
  log(category: readonly string[], level: LogLevel, message: string): void;
  /** Removes logtape's configuration. */
  reset(): Promise<void>;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, off: 3 };
let threshold: LogLevel = "off";
/** Set while logtape carries the lines (info and debug runs): src/common/log_logtape.ts. */
let logtape: LogtapeSink | undefined;
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
    if (logtape) logtape.log(cat, level, message);
    else writeLine({ timestamp: Date.now(), level, category: cat, message });
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

/** Writes one line to stderr in the seed's format. */
export function writeLine(line: LogLine): void {
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
  // logtape's module is named at run time: a literal import() would be resolved with the start-up graph, and an npm
  // package there boots Deno's npm resolver (several MiB) even when nothing asks for -v.
  const { startLogtape }: { startLogtape(level: "info" | "debug"): Promise<LogtapeSink> } = await import(
    new URL("./log_logtape.ts", import.meta.url).href
  );
  const lt = await startLogtape(level);
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
