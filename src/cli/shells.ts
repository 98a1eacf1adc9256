/**
 * The shells `hakoniwa completion` writes scripts for: apart from
 * src/cli/completion.ts so that the CLI declares the subcommand without
 * loading the generators, which only `completion` runs.
 *
 * @module
 */

/**
 * The shells `hakoniwa completion` supports.
 *
 * @example
 * ```ts
 * import { SHELLS } from "./shells.ts";
 * console.log(SHELLS.join(" ")); // "bash zsh fish elvish powershell"
 * ```
 */
export const SHELLS = ["bash", "zsh", "fish", "elvish", "powershell"] as const;

/** A shell `hakoniwa completion` supports. */
export type Shell = (typeof SHELLS)[number];
