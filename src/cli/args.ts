/**
 * What the flag table needs beyond the parser (@stricli/core): the parser
 * checks each flag and parses its values, but keeps them per flag; this
 * module's scan of argv keeps the order across flags (mounts, environment,
 * namespaces and id maps apply in command-line order) and finds where the
 * command starts (after `--`, or at the first word that is neither a flag
 * nor a flag's value). {@link collectFlags} then checks that the scan and
 * the parser agree and merges them.
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import { AliasNotFoundError, ArgumentParseError, FlagNotFoundError } from "npm:@stricli/core@1.3.0";
// deno-lint-ignore no-import-prefix
import { UnexpectedFlagError, UnexpectedPositionalError, UnsatisfiedFlagError } from "npm:@stricli/core@1.3.0";
// deno-lint-ignore no-import-prefix
import { UnsatisfiedPositionalError } from "npm:@stricli/core@1.3.0";
import { UsageError } from "../errors.ts";
import { flagKey, type FlagSpec, type FlagState, newFlagState, type SandboxFlags } from "./flags.ts";

/** The result of {@link scanArgs}. */
export interface Scan {
  /** The arguments for the parser: the flags (`-bVALUE` split in two), then `--` and the command. */
  parserArgs: string[];
  /** The long name of each flag given, in command-line order, once per occurrence. */
  order: string[];
  /** The command and its arguments. */
  command: string[];
}

/**
 * Scans the arguments of `run` or `explain` (after the subcommand's name)
 * against `table`. Unknown flags are passed on for the parser to reject with
 * a suggestion; the scan itself never fails.
 *
 * @example
 * ```ts
 * import { scanArgs } from "./args.ts";
 * import { SANDBOX_FLAGS } from "./flags.ts";
 * const s = scanArgs(SANDBOX_FLAGS, ["--tmpfs", "/a", "-b/etc", "ls", "-l"]);
 * console.log(s.order, s.command); // ["tmpfs", "bindmount-ro"] ["ls", "-l"]
 * console.log(s.parserArgs); // ["--tmpfs", "/a", "-b", "/etc", "--", "ls", "-l"]
 * ```
 */
export function scanArgs(table: readonly FlagSpec[], args: readonly string[]): Scan {
  const long = new Map(table.map((f) => [f.name, f]));
  const short = new Map(table.filter((f) => f.short).map((f) => [f.short!, f]));
  const parserArgs: string[] = [];
  const order: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      i++;
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const spec = long.get(arg.slice(2, eq < 0 ? undefined : eq));
      parserArgs.push(arg);
      if (!spec) continue;
      order.push(spec.name);
      if (spec.value && eq < 0 && i + 1 < args.length) parserArgs.push(args[++i]);
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      // A batch of one-letter flags (`-vv`); a flag that takes a value ends it: `-b VALUE`, `-bVALUE`, `-b=VALUE`.
      let taken = false;
      for (let j = 1; j < arg.length && !taken; j++) {
        const spec = short.get(arg[j]);
        if (!spec) break; // an unknown letter: the parser names it
        order.push(spec.name);
        if (!spec.value) continue;
        taken = true;
        const rest = arg.slice(j + 1);
        if (j > 1) parserArgs.push(arg.slice(0, j));
        if (rest.startsWith("=")) parserArgs.push(`-${arg[j]}${rest}`);
        else {
          parserArgs.push(`-${arg[j]}`);
          if (rest) parserArgs.push(rest);
          else if (i + 1 < args.length) parserArgs.push(args[++i]);
        }
      }
      if (!taken) parserArgs.push(arg);
      continue;
    }
    break; // the first word of the command
  }
  const command = args.slice(i);
  parserArgs.push("--", ...command);
  return { parserArgs, order, command };
}

/**
 * Merges the parser's values (`parsed`, by long name; `positional`, the
 * command) with the scan's order into the flag values and the ordered
 * state. Throws a {@link UsageError} for a word the parser took for the
 * command although it looks like a flag (`-1`, `--x`), and an `Error` when
 * the scan and the parser disagree (a bug of this module).
 *
 * @example
 * ```ts
 * import { collectFlags, scanArgs } from "./args.ts";
 * import { SANDBOX_FLAGS } from "./flags.ts";
 * const scan = scanArgs(SANDBOX_FLAGS, ["--tmpfs", "/a", "--", "true"]);
 * const parsed = { tmpfs: [{ kind: "tmpfs", target: "/a" }] };
 * const { state } = collectFlags(SANDBOX_FLAGS, scan, parsed, ["true"]);
 * console.log(state.mounts); // [{ kind: "tmpfs", target: "/a" }]
 * ```
 */
export function collectFlags(
  table: readonly FlagSpec[],
  scan: Scan,
  parsed: Readonly<Record<string, unknown>>,
  positional: readonly string[],
): { flags: SandboxFlags; state: FlagState } {
  const extra = positional.length - scan.command.length;
  if (extra > 0) throw new UsageError(`unknown flag ${positional[0]}`, positional[0]);
  if (extra < 0 || positional.some((p, k) => p !== scan.command[k])) {
    throw new Error(`the argument scan and the parser disagree on the command: ${JSON.stringify(positional)}`);
  }
  const flags: SandboxFlags = {};
  const byName = new Map(table.map((f) => [f.name, f]));
  for (const spec of table) {
    const v = parsed[spec.name];
    const n = scan.order.filter((name) => name === spec.name).length;
    const agree = spec.repeat
      ? (n === 0 ? v === undefined : Array.isArray(v) && v.length === n)
      : spec.count
      ? (n === 0) === (v === undefined || v === 0)
      : spec.value
      ? (n === 0) === (v === undefined)
      : n > 0 || v === undefined || v === false;
    if (!agree) throw new Error(`the argument scan and the parser disagree on --${spec.name}`);
    if (v !== undefined) flags[flagKey(spec.name)] = v;
  }
  const state = newFlagState();
  const seen = new Map<string, number>();
  for (const name of scan.order) {
    const spec = byName.get(name)!;
    if (!spec.order) continue;
    const k = seen.get(name) ?? 0;
    seen.set(name, k + 1);
    spec.order(state, spec.repeat ? (parsed[name] as unknown[])[k] : parsed[name]);
  }
  return { flags, state };
}

/** A flag as the parser declares it (a subset of @stricli/core's flag parameters). */
export type ParserFlag =
  | { kind: "counter"; brief: string; optional: true }
  | { kind: "boolean"; brief: string; optional: true; withNegated: false }
  | {
    kind: "parsed";
    brief: string;
    placeholder: string;
    parse: (value: string) => unknown;
    optional: true;
    variadic?: true;
  };

/**
 * The parser's declaration of the flags of `table`: kinds, placeholders,
 * value parsers and one-letter aliases, for `buildCommand` of @stricli/core.
 * A switch has no `--no-` form and no default; a repeatable flag's value is
 * the list of its values.
 *
 * @example
 * ```ts
 * import { parserFlags } from "./args.ts";
 * import { RUN_FLAGS } from "./flags.ts";
 * const { flags, aliases } = parserFlags(RUN_FLAGS);
 * console.log(flags["ro-bind"].kind, aliases.b); // "parsed" "bindmount-ro"
 * ```
 */
export function parserFlags(
  table: readonly FlagSpec[],
): { flags: Record<string, ParserFlag>; aliases: Record<string, string> } {
  const flags: Record<string, ParserFlag> = {};
  const aliases: Record<string, string> = {};
  for (const f of table) {
    if (f.short) aliases[f.short] = f.name;
    flags[f.name] = f.count
      ? { kind: "counter", brief: f.brief, optional: true }
      : !f.value
      ? { kind: "boolean", brief: f.brief, optional: true, withNegated: false }
      : {
        kind: "parsed",
        brief: `${f.value}: ${f.brief}`,
        placeholder: f.value,
        parse: f.parse ?? String,
        optional: true,
        ...(f.repeat ? { variadic: true } : {}),
      };
  }
  return { flags, aliases };
}

/**
 * One line (without the `hakoniwa: ` prefix) for an error of the parser:
 * a flag's own message for a bad value, the nearest flag for an unknown one.
 *
 * @example
 * ```ts
 * import { FlagNotFoundError } from "@stricli/core";
 * import { argumentError } from "./args.ts";
 * console.log(argumentError(new FlagNotFoundError("jsno", ["json"]))); // "unknown flag --jsno; did you mean --json?"
 * ```
 */
export function argumentError(exc: unknown): string {
  if (exc instanceof ArgumentParseError) {
    const inner = exc.exception;
    if (inner instanceof UsageError) return inner.message;
    const what = /^[a-z]/.test(exc.externalFlagNameOrPlaceholder)
      ? `--${exc.externalFlagNameOrPlaceholder}`
      : exc.externalFlagNameOrPlaceholder;
    return `${what}: ${inner instanceof Error ? inner.message : String(inner)}`;
  }
  if (exc instanceof FlagNotFoundError) {
    const near = exc.corrections.map((c) => `--${c}`).join(" or ");
    return `unknown flag --${exc.input}${near ? `; did you mean ${near}?` : ""}`;
  }
  if (exc instanceof AliasNotFoundError) return `unknown flag -${exc.input}`;
  if (exc instanceof UnsatisfiedFlagError) {
    return `--${exc.externalFlagName}: expected a value${exc.nextFlagName ? `, got --${exc.nextFlagName}` : ""}`;
  }
  if (exc instanceof UnexpectedFlagError) {
    const values = exc.previousInput === "true" ? "" : ` ("${exc.previousInput}", then "${exc.input}")`;
    return `--${exc.externalFlagName} is given twice${values}`;
  }
  if (exc instanceof UnexpectedPositionalError) return `unexpected argument "${exc.input}"`;
  if (exc instanceof UnsatisfiedPositionalError) return `expected ${exc.placeholder}`;
  return exc instanceof Error ? exc.message : String(exc);
}
