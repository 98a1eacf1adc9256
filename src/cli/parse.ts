/**
 * The CLI room (src/cli/): takes argv and gives a Container and a command (through the policy stage when a file is
 * named); cli.ts, the only module that exits, drives it.
 *
 * The parser of `run` and `explain`, driven by the flag table
 * (`src/cli/flags.ts`): it checks each flag, parses its values, keeps the
 * order across flags (mounts, environment, namespaces and id maps apply in
 * command-line order) and finds where the command starts (after `--`, or at
 * the first word that is neither a flag nor a flag's value).
 *
 * These two subcommands are the hot path of the CLI, so they parse here
 * rather than through @stricli/core (src/cli/app.ts): the first npm package a
 * process imports boots Deno's npm resolver (+8 MiB resident, ~1 ms), and
 * building and running stricli's command tree took 4.3 ms of a cold run
 * (bench/README.md). stricli still serves help, `check`, `completion` and
 * `help`.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { didYouMean } from "../common/suggest.ts";
import { flagKey, type FlagSpec, type FlagState, newFlagState, type SandboxFlags } from "./flags.ts";

/** What {@link parseSandboxArgs} found. */
export type ParsedArgs =
  | { help: true }
  | {
    help: false;
    /** The flag values, by {@link flagKey}: a list for a repeatable flag, a count for `-vv`. */
    flags: SandboxFlags;
    /** The ordered state the table's `order` hooks built. */
    state: FlagState;
    /** The command and its arguments. */
    command: string[];
  };

/**
 * Parses the arguments of `run` or `explain` (after the subcommand's name)
 * against `table`. `--help` or `-h` among the flags gives `{ help: true }`.
 * Throws a {@link UsageError} of one line for an unknown flag (with the
 * nearest one), a missing value, a flag given twice that cannot repeat, or a
 * value the flag's parser refuses.
 *
 * @example
 * ```ts
 * import { parseSandboxArgs } from "./parse.ts";
 * import { SANDBOX_FLAGS } from "./flags.ts";
 * const p = parseSandboxArgs(SANDBOX_FLAGS, ["--tmpfs", "/a", "-b/etc", "ls", "-l"]);
 * if (!p.help) console.log(p.state.mounts.map((m) => m.target), p.command); // ["/a", "/etc"] ["ls", "-l"]
 * ```
 */
export function parseSandboxArgs(table: readonly FlagSpec[], args: readonly string[]): ParsedArgs {
  const long = new Map(table.map((f) => [f.name, f]));
  const short = new Map(table.filter((f) => f.short).map((f) => [f.short!, f]));
  const flags: SandboxFlags = {};
  const raw = new Map<string, string>();
  const occurrences: [FlagSpec, unknown][] = [];
  let help = false;

  /** The long name of the flag `word` names, when it names one. */
  const flagNamed = (word: string): string | undefined => {
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      return long.get(word.slice(2, eq < 0 ? undefined : eq))?.name;
    }
    return word.length > 1 && word.startsWith("-") ? short.get(word[1])?.name : undefined;
  };
  const give = (spec: FlagSpec, text: string | undefined) => {
    const key = flagKey(spec.name);
    if (spec.count) {
      flags[key] = ((flags[key] as number | undefined) ?? 0) + 1;
      occurrences.push([spec, flags[key]]);
      return;
    }
    if (!spec.repeat && raw.has(spec.name)) {
      const before = raw.get(spec.name)!;
      const values = spec.value ? ` ("${before}", then "${text}")` : "";
      throw new UsageError(`--${spec.name} is given twice${values}`, `--${spec.name}`);
    }
    raw.set(spec.name, text ?? "");
    let value: unknown = true;
    if (spec.value) {
      try {
        value = spec.parse ? spec.parse(text!) : text;
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError(`--${spec.name}: ${e instanceof Error ? e.message : String(e)}`, `--${spec.name}`);
      }
    }
    if (spec.repeat) ((flags[key] ??= []) as unknown[]).push(value);
    else flags[key] = value;
    occurrences.push([spec, value]);
  };
  /** The value of `spec` from the next word, which must not be `--` or another flag. */
  const next = (spec: FlagSpec, i: number): string => {
    const word = args[i + 1];
    if (word === undefined || word === "--") throw new UsageError(`--${spec.name}: expected a value`, `--${spec.name}`);
    const other = flagNamed(word);
    if (other) throw new UsageError(`--${spec.name}: expected a value, got --${other}`, `--${spec.name}`);
    return word;
  };

  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      i++;
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      if (name === "help" && eq < 0) {
        help = true;
        continue;
      }
      const spec = long.get(name);
      if (!spec) {
        const near = didYouMean(name, table.map((f) => f.name));
        throw new UsageError(`unknown flag --${name}${near ? `; did you mean --${near}?` : ""}`, `--${name}`);
      }
      if (!spec.value && eq >= 0) throw new UsageError(`--${name}: takes no value`, `--${name}`);
      give(spec, !spec.value ? undefined : eq >= 0 ? arg.slice(eq + 1) : next(spec, i++));
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      // A batch of one-letter flags (`-vv`); a flag that takes a value ends it: `-b VALUE`, `-bVALUE`, `-b=VALUE`.
      for (let j = 1; j < arg.length; j++) {
        if (arg[j] === "h") {
          help = true;
          continue;
        }
        const spec = short.get(arg[j]);
        if (!spec) throw new UsageError(`unknown flag -${arg[j]}`, `-${arg[j]}`);
        if (!spec.value) {
          give(spec, undefined);
          continue;
        }
        const rest = arg.slice(j + 1);
        give(spec, rest.startsWith("=") ? rest.slice(1) : rest || next(spec, i++));
        break;
      }
      continue;
    }
    break; // the first word of the command
  }
  if (help) return { help: true };
  const state = newFlagState();
  for (const [spec, value] of occurrences) spec.order?.(state, value);
  return { help: false, flags, state, command: args.slice(i) };
}
