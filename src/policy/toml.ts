/**
 * TOML, through smol-toml: the one module that imports it.
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import { parse, TomlError } from "npm:smol-toml@1.9.1";

/** A TOML syntax error with its 1-based position. */
export class TomlSyntaxError extends Error {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** Creates a syntax error at a position. */
  constructor(message: string, line: number, column: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "TomlSyntaxError";
    this.line = line;
    this.column = column;
  }
}

/**
 * Parses TOML into plain values; integers that do not fit a double exactly
 * become bigints. Throws {@link TomlSyntaxError} on bad syntax, duplicate
 * keys included.
 */
export function parseToml(text: string): Record<string, unknown> {
  try {
    return parse(text, { integersAsBigInt: "asNeeded" }) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
      throw new TomlSyntaxError(first, e.line, e.column, { cause: e });
    }
    throw e;
  }
}
