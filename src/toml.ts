/**
 * TOML, through smol-toml: the one module that imports it.
 *
 * @module
 */
import { parse, TomlError } from "smol-toml";

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
