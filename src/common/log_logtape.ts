/**
 * The info and debug levels of src/common/log.ts on @logtape/logtape, which pulls
 * Node's `util` (it boots Deno's Node compatibility layer): src/common/log.ts loads
 * this module only when a run asks for `-v` or `-vv`, through a specifier
 * the start-up graph does not follow. Lines keep the seed's format.
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import { configure, getLogger, reset } from "npm:@logtape/logtape@2.4.2";
import { type LogtapeSink, writeLine } from "./log.ts";

/**
 * Configures logtape to write hakoniwa's lines of `level` and up to stderr.
 *
 * @example
 * ```ts
 * import { startLogtape } from "./log_logtape.ts";
 * const sink = await startLogtape("info");
 * sink.log(["hakoniwa", "example"], "info", "hello"); // [... INFO hakoniwa::example] hello
 * await sink.reset();
 * ```
 */
export async function startLogtape(level: "info" | "debug"): Promise<LogtapeSink> {
  await configure({
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
  return {
    log(category, at, message) {
      const l = getLogger([...category]);
      const args = ["{message}", { message }] as const;
      if (at === "debug") l.debug(...args);
      else if (at === "info") l.info(...args);
      else l.warn(...args);
    },
    reset,
  };
}
