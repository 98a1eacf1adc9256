/**
 * The common room (src/common/): what every stage uses (errors, logging, suggestions); it imports
 * from no other room.
 *
 * Typed errors. Every error of hakoniwa is a {@link HakoniwaError}; the CLI
 * maps {@link UsageError} and {@link PolicyError} to exit 2 and
 * {@link SetupError} to exit 125.
 *
 * @module
 */
import { SETUP_STEPS } from "../generated/abi.js";

/**
 * Base class of every error hakoniwa raises.
 *
 * @example
 * ```ts
 * import { HakoniwaError } from "jsr:@hakoniwa/cli";
 * try {
 *   throw new HakoniwaError("boom");
 * } catch (e) {
 *   if (e instanceof HakoniwaError) console.log(e.name);
 * }
 * ```
 */
export class HakoniwaError extends Error {
  /** Creates an error with a message and an optional cause. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HakoniwaError";
  }
}

/**
 * A command line or API argument is wrong: an unknown flag, a malformed
 * value. Nothing was run. The library's messages name its methods and
 * options (`uidMap`, `stdout`); the CLI says the same with its flags.
 *
 * @example
 * ```ts
 * import { UsageError } from "jsr:@hakoniwa/cli";
 * const e = new UsageError("rlimit cpu: expected a whole number, got -1", "rlimit");
 * console.log(e.option); // "rlimit"
 * ```
 */
export class UsageError extends HakoniwaError {
  /** The option, method or flag that is wrong, when one is. */
  readonly option?: string;
  /** Creates a usage error naming the flag or option at fault. */
  constructor(message: string, option?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
    this.option = option;
  }
}

/** Where in a policy file a problem was found. */
export interface PolicyLocation {
  /** The policy file, or `<string>` for a policy given as text. */
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  /** Dotted key path, e.g. `mounts[2].target`. */
  key?: string;
}

/**
 * A policy is invalid: malformed TOML, an unknown key, a wrong type or an
 * out-of-range value. The message starts with `file:line:column` and names
 * the key. Nothing was run.
 *
 * @example
 * ```ts
 * import { PolicyError } from "jsr:@hakoniwa/cli";
 * const e = new PolicyError("expected a boolean", { file: "p.toml", line: 3, column: 1, key: "share_net" });
 * console.log(e.message); // "p.toml:3:1: share_net: expected a boolean"
 * ```
 */
export class PolicyError extends HakoniwaError {
  /** Where the problem is. */
  readonly location: PolicyLocation;
  /** Creates a policy error; the message is prefixed with the location. */
  constructor(message: string, location: PolicyLocation, options?: ErrorOptions) {
    const where = [location.file, location.line, location.column].filter((x) => x !== undefined).join(":");
    super(`${where}: ${location.key ? `${location.key}: ` : ""}${message}`, options);
    this.name = "PolicyError";
    this.location = location;
  }
}

// Setup steps of the native core by number (`enum hk_step` of native/hakoniwa.h, generated into abi.ts).
export { SETUP_STEPS };

/** The name of a setup step, e.g. `"bind"` or `"execve"`. */
export type SetupStep = (typeof SETUP_STEPS)[number];

const WHAT: Partial<Record<SetupStep, string>> = {
  spec: "the sandbox description was rejected",
  clone: "cannot create the namespaces",
  "uid-map": "cannot write the uid map",
  "gid-map": "cannot write the gid map",
  setgroups: "cannot set up groups",
  "mount-private": "cannot make mounts private",
  "open-source": "cannot open the bind source",
  root: "cannot create the root filesystem",
  "root-layer": "cannot layer a tmpfs over the read-only rootdir for its missing mount points",
  "bind-layer": "cannot layer a tmpfs over the read-only bind for the mount points it lacks",
  devpts: "cannot mount devpts",
  mkdir: "cannot create the mount point",
  bind: "cannot bind mount",
  tmpfs: "cannot mount tmpfs",
  proc: "cannot mount proc",
  file: "cannot write the file",
  symlink: "cannot create the symlink",
  remount: "cannot remount read-only",
  "pivot-root": "cannot switch to the new root",
  hostname: "cannot set the hostname",
  chdir: "cannot change to the working directory",
  rlimit: "cannot set a resource limit",
  capabilities: "cannot drop capabilities",
  landlock: "cannot apply the Landlock ruleset",
  seccomp: "cannot install the seccomp filter",
  execve: "cannot execute the command",
  loopback: "cannot bring up the loopback interface",
  "net-relay": "cannot listen for the allow-net proxy inside",
  keyring: "cannot create a session keyring",
  init: "cannot start the hakoniwa-init program",
  cgroup: "cannot limit the sandbox's processes",
};

/**
 * The sandbox could not be set up; the command did not run. Carries the
 * step, the errno and the path the native core reported.
 *
 * @example
 * ```ts
 * import { SetupError } from "jsr:@hakoniwa/cli";
 * const e = new SetupError("execve", 2, "ENOENT", "No such file or directory", "nope");
 * console.log(e.message); // "execve: command not found: nope: No such file or directory"
 * ```
 */
export class SetupError extends HakoniwaError {
  /** The setup step that failed. */
  readonly step: SetupStep;
  /** The errno value (0 when none). */
  readonly errno: number;
  /** The errno's symbolic name, e.g. `ENOENT`. */
  readonly code: string;
  /** The path or object the step was working on. */
  readonly path: string;
  /** Creates a setup error from what the native core reported. */
  constructor(step: SetupStep, errno: number, code: string, text: string, path: string, options?: ErrorOptions) {
    const what = step === "execve" && errno === 2 ? "command not found" : WHAT[step] ?? "setup failed";
    super(`${step}: ${what}: ${path}${text ? `: ${text}` : ""}`, options);
    this.name = "SetupError";
    this.step = step;
    this.errno = errno;
    this.code = code;
    this.path = path;
  }
}

/**
 * Why a file could not be read or opened, in plain words: `no such file or
 * directory`, `permission denied`, `is a directory`..., without the
 * runtime's `(os error 2): open '...'` (the caller names the file).
 *
 * @example
 * ```ts
 * import { fileErrorText } from "./errors.ts";
 * try {
 *   Deno.readTextFileSync("/no/such/file");
 * } catch (e) {
 *   console.log(fileErrorText(e)); // "no such file or directory"
 * }
 * ```
 */
export function fileErrorText(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file or directory";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  if (e instanceof Deno.errors.NotADirectory) return "a part of the path is not a directory";
  const text = e instanceof Error ? e.message : String(e);
  // "Is a directory (os error 21): open '/tmp'" -> "is a directory"
  const plain = text.replace(/ \(os error \d+\).*$/s, "");
  return plain.charAt(0).toLowerCase() + plain.slice(1);
}
