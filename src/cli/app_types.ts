/**
 * What cli.ts and the command tree (src/cli/app.ts, loaded only for help,
 * `check` and `completion`) hand each other, as types only: neither imports
 * the other, so the tree stays off the start-up graph and the two form no
 * cycle.
 *
 * @module
 */
import type { CompletionCommand } from "./completion.ts";

/** A subcommand: its documentation, flags and what its positional arguments are. */
export interface Subcommand extends CompletionCommand {
  /** The usage line after `hakoniwa NAME`. */
  usage: string;
  /** Example command lines, each runnable as written. */
  examples: string[];
}

/** What src/cli/app.ts needs of the CLI. */
export interface AppHost {
  /** The subcommands, for their help and completion. */
  SUBCOMMANDS: readonly Subcommand[];
  /** The version `--version` prints. */
  VERSION: string;
  /** Writes text to stdout. */
  write(text: string): void;
  /** `check FILE...`: returns how many files are invalid. */
  check(files: string[]): Promise<number>;
}

/** What src/cli/app.ts exports (declared here: even a type import of it would put it on the start-up graph). */
export interface AppModule {
  /** Runs the command tree on `args` and returns the exit code. */
  runApp(args: string[], host: AppHost): Promise<number>;
}
