/**
 * {@link Command}: runs a program in a {@link Container} the way
 * `Deno.Command` runs a process: the same options (`args`, `env`, `cwd`,
 * `stdin`/`stdout`/`stderr`, `signal`) and the same methods (`output()`,
 * `spawn()`).
 *
 * Errors: a bad setting throws a `UsageError` and nothing runs. When the
 * sandbox cannot be set up (a missing program, a bind source that does not
 * exist, namespaces refused), `spawn()` throws the `SetupError` if the
 * failure happens before the clone, and otherwise `status` and `output()`
 * reject with it, as `Deno.Command` throws `NotFound` for a missing program.
 * The error names the step, the errno and the path.
 *
 * There is no `outputSync()`: waiting for the sandbox while draining two
 * pipes would need a poll loop in the native core blocking the JS thread for
 * the whole run (walltime included), with signals and the abort signal
 * unable to reach the sandbox meanwhile. Use `await output()`.
 *
 * @module
 */
import { Child, type CommandOutput } from "./child.ts";
import type { ContainerSettings } from "./plan/types.ts";
import { HakoniwaError, UsageError } from "./common/errors.ts";
import { describeErrno, loadNative, loadNativeSync, type Native } from "./native/ffi.ts";
import { buildPlan, currentHost, type Plan } from "./plan/plan.ts";
import { startSandboxSync } from "./run/runner.ts";
import { canSetgroups, type SpawnIo } from "./run/spec.ts";
import { explainSetupError, LIBRARY_REMEDIES } from "./run/setup_hint.ts";

/**
 * Where a standard stream goes: the caller's own, a pipe, or /dev/null.
 *
 * @example
 * ```ts
 * import type { StdioOption } from "./command.ts";
 * const quiet: StdioOption = "null";
 * console.log(quiet);
 * ```
 */
export type StdioOption = "inherit" | "piped" | "null";

const STDIO_OPTIONS: readonly unknown[] = ["inherit", "piped", "null"] satisfies StdioOption[];

/**
 * Options of {@link Command}, as those of `Deno.Command`.
 *
 * @example
 * ```ts
 * import type { CommandOptions } from "./command.ts";
 * const options: CommandOptions = { args: ["-c", "echo hi"], cwd: "/tmp", stdout: "piped" };
 * console.log(options.args);
 * ```
 */
export interface CommandOptions {
  /** Arguments after the program (argv[0] is the program). */
  args?: string[];
  /** Environment variables added to the container's (the host's are never passed). */
  env?: Record<string, string>;
  /** Working directory inside the sandbox (absolute). */
  cwd?: string;
  /** stdin: default `"inherit"` for `spawn()`, `"null"` for `output()`. */
  stdin?: StdioOption;
  /** stdout: default `"inherit"` for `spawn()`, `"piped"` for `output()`. */
  stdout?: StdioOption;
  /** stderr: default `"inherit"` for `spawn()`, `"piped"` for `output()`. */
  stderr?: StdioOption;
  /** Aborting it kills the whole sandbox (SIGKILL to its init). */
  signal?: AbortSignal;
  /**
   * The most bytes `output()` keeps of stdout and of stderr, each (default: no limit). A command that writes
   * more is killed with everything in its sandbox, the bytes kept are the first `maxOutput`, and the status is
   * `OLE`, its reason naming the stream. Node's `maxBuffer` in spirit.
   */
  maxOutput?: number;
  /** A native core to load instead of the usual order (see `HAKONIWA_NATIVE_PATH`). */
  nativePath?: string;
}

/**
 * Builds the host-side inputs of a spawn from the container's settings.
 * (Seccomp and Landlock settings become `seccomp`/`landlock` here.)
 */
function spawnIo(_settings: ContainerSettings, stdio: [number, number, number]): SpawnIo {
  return { stdio, session: "new", setgroups: canSetgroups() };
}

function errnoError(native: Native, what: string, rc: number): HakoniwaError {
  const [code, text] = describeErrno(native, -rc);
  return new HakoniwaError(`${what}: ${code}: ${text}`);
}

/**
 * A program to run in a sandbox, shaped like `Deno.Command`. Made by
 * `Container.command()`; the container's settings are copied when the
 * command is made, so later changes to the container do not affect it.
 *
 * @example
 * ```ts
 * import { Container } from "jsr:@hakoniwa/cli";
 * const c = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true });
 * const { code, stdout } = await c.command("/bin/sh", { args: ["-c", "echo hello"] }).output();
 * console.log(code, new TextDecoder().decode(stdout)); // 0 "hello\n"
 * ```
 */
export class Command {
  readonly #settings: ContainerSettings;
  readonly #program: string;
  readonly #options: CommandOptions;

  /** A command running `program` with `options` in a container with `settings` (see `Container.command`). */
  constructor(settings: ContainerSettings, program: string, options: CommandOptions = {}) {
    this.#settings = structuredClone(settings);
    this.#program = program;
    for (const name of ["stdin", "stdout", "stderr"] as const) {
      const mode = options[name];
      if (mode !== undefined && !STDIO_OPTIONS.includes(mode)) {
        throw new UsageError(`${name}: expected "inherit", "piped" or "null", got ${JSON.stringify(mode)}`, name);
      }
    }
    const max = options.maxOutput;
    if (max !== undefined && !(Number.isSafeInteger(max) && max >= 0)) {
      throw new UsageError(`maxOutput: expected a whole number of bytes, got ${max}`, "maxOutput");
    }
    this.#options = { ...options, args: [...(options.args ?? [])], env: { ...(options.env ?? {}) } };
  }

  /** The plan this command runs (what `--verbose` prints). */
  plan(): Plan {
    const o = this.#options;
    return buildPlan(this.#settings, { program: this.#program, args: o.args!, cwd: o.cwd, env: o.env }, currentHost());
  }

  /**
   * Runs the command and collects its output. stdout and stderr default to
   * `"piped"`, stdin to `"null"`. Rejects with a `SetupError` when the
   * sandbox cannot be set up.
   */
  output(): Promise<CommandOutput> {
    if (this.#options.stdin === "piped") {
      return Promise.reject(
        new UsageError('output() cannot feed a piped stdin: use spawn() for stdin: "piped"', "stdin"),
      );
    }
    // Loading the core first lets its check run on Web Crypto (spawn() has to check synchronously).
    return loadNative(this.#options.nativePath).then(() => this.#spawn("piped", "null").output());
  }

  /**
   * Starts the sandbox and returns at once. Every stream defaults to
   * `"inherit"`. Throws a `UsageError` for bad settings and a `SetupError`
   * when the namespaces cannot be created.
   */
  spawn(): Child {
    return this.#spawn("inherit", "inherit");
  }

  #spawn(outDefault: StdioOption, inDefault: StdioOption): Child {
    const o = this.#options;
    o.signal?.throwIfAborted();
    const plan = this.plan();
    const native = loadNativeSync(o.nativePath);
    const modes: StdioOption[] = [o.stdin ?? inDefault, o.stdout ?? outDefault, o.stderr ?? outDefault];
    const childFds: number[] = []; // the sandbox's ends, closed here once it has them
    const parentFds: (number | undefined)[] = [];
    const stdio: number[] = [];
    try {
      for (const [i, mode] of modes.entries()) {
        if (mode === "inherit") {
          stdio.push(i);
          parentFds.push(undefined);
        } else if (mode === "null") {
          const fd = native.hk_open_null();
          if (fd < 0) throw errnoError(native, "open /dev/null", fd);
          childFds.push(fd);
          stdio.push(fd);
          parentFds.push(undefined);
        } else if (mode === "piped") {
          const fds = new Int32Array(2);
          const rc = native.hk_pipe(fds);
          if (rc < 0) throw errnoError(native, "pipe", rc);
          const [theirs, ours] = i === 0 ? [fds[0], fds[1]] : [fds[1], fds[0]];
          childFds.push(theirs);
          parentFds.push(ours);
          stdio.push(theirs);
          // Ours waits in the event loop; theirs stays blocking, as a command expects of its stdio.
          const nb = native.hk_set_nonblock(ours);
          if (nb < 0) throw errnoError(native, "O_NONBLOCK", nb);
        } else {
          throw new Error(`unreachable: ${mode} was checked by the constructor`);
        }
      }
      const started = startSandboxSync(plan, spawnIo(this.#settings, stdio as [number, number, number]), o.nativePath);
      // A failed exec is said in the plan's words (nothing bound there, a directory, Landlock).
      const finished = started.finished.then((r) => explainSetupError(r, plan, LIBRARY_REMEDIES));
      finished.catch(() => {});
      const sandbox = { ...started, finished };
      const [stdin, stdout, stderr] = parentFds;
      parentFds.length = 0; // owned by the child from here on
      return new Child(native, sandbox, { stdin, stdout, stderr }, o.signal, o.maxOutput);
    } finally {
      for (const fd of childFds) native.hk_close(fd);
      for (const fd of parentFds) if (fd !== undefined) native.hk_close(fd);
    }
  }
}
