/**
 * The shapes of the flag table and of what parsing it gives: read by the
 * table (flags.ts), the id flags (user_flags.ts), the parser, the help and
 * the completion scripts.
 *
 * @module
 */
import type { ContainerMount } from "../plan/types.ts";
import type { Namespace } from "../plan/namespace.ts";

/** Values of the flags whose order matters, in command-line order. */
export interface FlagState {
  /** Mounts and other filesystem entries. */
  mounts: ContainerMount[];
  /** Environment settings. */
  env: [string, string][];
  /** Namespace changes. */
  namespaces: ["share" | "unshare", Namespace][];
  /** uid map ranges. */
  uidMaps: { container: number; host: number; count: number }[];
  /** gid map ranges. */
  gidMaps: { container: number; host: number; count: number }[];
}

/**
 * A fresh, empty {@link FlagState}.
 *
 * @example
 * ```ts
 * import { newFlagState } from "./flag_types.ts";
 * console.log(newFlagState().mounts.length); // 0
 * ```
 */
export function newFlagState(): FlagState {
  return { mounts: [], env: [], namespaces: [], uidMaps: [], gidMaps: [] };
}

/**
 * One flag of the command line. The table of these is the only place a
 * flag is declared: the parser, the help and the completion scripts read it.
 *
 * @example
 * ```ts
 * import type { FlagSpec } from "./flag_types.ts";
 * const quiet: FlagSpec = { name: "quiet", short: "q", brief: "say nothing" };
 * console.log(quiet.name);
 * ```
 */
export interface FlagSpec {
  /** The long name without the dashes, e.g. `ro-bind`. */
  readonly name: string;
  /** A one-letter alias without the dash, e.g. `b`. */
  readonly short?: string;
  /** The value's placeholder, e.g. `SRC[:DST]`; absent for a switch. */
  readonly value?: string;
  /** One line of help. */
  readonly brief: string;
  /** The flag may be given more than once; its value is then the list of values. */
  readonly repeat?: boolean;
  /** A switch that counts how often it is given (`-vv`). */
  readonly count?: boolean;
  /** The value is a path on the host: shells complete file names. */
  readonly files?: boolean;
  /** Turns the text into the value; throws a {@link UsageError} naming the flag. */
  readonly parse?: (value: string) => unknown;
  /** For a flag whose place among others matters: adds its parsed value to the ordered state. */
  readonly order?: (state: FlagState, value: unknown) => void;
}

/** The parsed values of the flags, by `flagKey`, loosely typed. */
export type SandboxFlags = Record<string, unknown> & {
  policyFile?: string;
  config?: string;
  rootdir?: { path: string; rw: boolean };
  rootfs?: string;
  workDir?: { bind: string } | { chdir: string };
  workdir?: { bind: string } | { chdir: string };
  chdir?: string;
  hostname?: string;
  uid?: (number | { container: number; host: number; count: number })[];
  gid?: (number | { container: number; host: number; count: number })[];
  user?: string;
  userns?: string;
  allowNewPrivs?: boolean;
  limitWalltime?: number;
  tmpfsSize?: number;
};
