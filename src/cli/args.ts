/**
 * The flag table as @stricli/core declares it (for the help of `run` and
 * `explain`, src/cli/app.ts), and the parser's errors in our words. `run`
 * and `explain` themselves parse in src/cli/parse.ts.
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
import { UsageError } from "../common/errors.ts";
import type { FlagSpec } from "./flags.ts";

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
