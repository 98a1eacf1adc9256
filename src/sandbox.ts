/**
 * The seed's API shape, for users who know hakoniwa from Rust:
 * `SandboxPolicy.fromStr(toml)`, `new Sandbox()`, `sandbox.withPolicy()`,
 * `sandbox.command(prog, argv)` and an executor with `roBind`, `rwBind`,
 * `limitCpu`, `limitWalltime`, `stdin`/`stdout`/`stderr` and `run()`. It is
 * a thin layer over {@link Container} and `Command`.
 *
 * Unlike `Command.output()`, `run()` reports a failed setup as a result
 * with status `SE` (as the seed did) instead of rejecting.
 *
 * @module
 */
import type { Child } from "./child.ts";
import type { Container } from "./container.ts";
import { SetupError, UsageError } from "./common/errors.ts";
import { defaultPolicy } from "./policy/default.ts";
import { loadPolicyFile, parsePolicy, parsePolicyAsync, type Policy } from "./policy/policy.ts";
import { containerFromPolicy } from "./policy_container.ts";
import type { Report } from "./run/report.ts";
import type { RlimitName } from "./plan/rlimit.ts";
import type { StdioOption } from "./command.ts";

/**
 * A validated policy (the seed's TOML format).
 *
 * @example
 * ```ts
 * import { SandboxPolicy } from "jsr:@hakoniwa/cli";
 * const policy = SandboxPolicy.fromStr('mount_new_tmpfs = true\nmounts = [{ source = "/usr", target = "/usr" }]');
 * console.log(policy.policy.mounts.length); // 1
 * ```
 */
export class SandboxPolicy {
  /** The parsed policy. */
  readonly policy: Policy;

  /** Wraps a parsed policy (see {@link SandboxPolicy.fromStr}). */
  constructor(policy: Policy) {
    this.policy = policy;
  }

  /**
   * Parses a policy from TOML text; throws a `PolicyError` naming line,
   * column and key. Synchronous: a template beyond plain helper calls needs
   * {@link SandboxPolicy.fromStrAsync} (or {@link SandboxPolicy.fromFile}).
   */
  static fromStr(toml: string, file = "<string>"): SandboxPolicy {
    return new SandboxPolicy(parsePolicy(toml, file));
  }

  /** Parses a policy from TOML text, loading the template engine when the policy needs it. */
  static async fromStrAsync(toml: string, file = "<string>"): Promise<SandboxPolicy> {
    return new SandboxPolicy(await parsePolicyAsync(toml, file));
  }

  /** Reads and parses a policy file. */
  static async fromFile(path: string): Promise<SandboxPolicy> {
    return new SandboxPolicy(await loadPolicyFile(path, "SandboxPolicy.fromFile"));
  }

  /** The embedded `KISS-policy.toml`, the CLI's default. */
  static kiss(): SandboxPolicy {
    return new SandboxPolicy(defaultPolicy());
  }
}

/**
 * Where a standard stream of an executor goes.
 *
 * @example
 * ```ts
 * import { Stdio } from "jsr:@hakoniwa/cli";
 * console.log(Stdio.piped().mode); // "piped"
 * ```
 */
export class Stdio {
  private constructor(
    /** The stream's mode. */
    readonly mode: StdioOption,
  ) {}
  /** The caller's own stream. */
  static inherit(): Stdio {
    return new Stdio("inherit");
  }
  /** A pipe: output is collected into the result; piped stdin is fed from `input()`. */
  static piped(): Stdio {
    return new Stdio("piped");
  }
  /** /dev/null. */
  static null(): Stdio {
    return new Stdio("null");
  }
}

/**
 * What {@link SandboxExecutor.run} returns: the report plus the collected output.
 *
 * @example
 * ```ts ignore
 * const { status, exitCode, stdout } = await executor.stdout(Stdio.piped()).run();
 * ```
 */
export interface ExecutorResult extends Report {
  /** stdout when it was piped, else empty. */
  stdout: Uint8Array;
  /** stderr when it was piped, else empty. */
  stderr: Uint8Array;
}

/**
 * Holds a policy and makes executors from it.
 *
 * @example
 * ```ts
 * import { Sandbox, SandboxPolicy, Stdio } from "jsr:@hakoniwa/cli";
 * const sandbox = new Sandbox();
 * sandbox.withPolicy(SandboxPolicy.kiss());
 * const result = await sandbox.command("/bin/echo", ["/bin/echo", "hi"]).stdout(Stdio.piped()).run();
 * console.log(result.status, new TextDecoder().decode(result.stdout)); // OK "hi\n"
 * ```
 */
export class Sandbox {
  #policy: SandboxPolicy = SandboxPolicy.kiss();

  /** Uses `policy` for the executors made from now on (default: the embedded KISS policy). */
  withPolicy(policy: SandboxPolicy): this {
    this.#policy = policy;
    return this;
  }

  /**
   * An executor for `prog` with `argv` (argv[0] included, as in the seed;
   * the sandbox always runs `prog` as argv[0]).
   */
  command(prog: string, argv: string[] = [prog]): SandboxExecutor {
    return new SandboxExecutor(containerFromPolicy(this.#policy.policy), prog, argv.slice(1));
  }
}

/**
 * One run of a program, set up the seed's way. Every stream defaults to
 * `Stdio.inherit()`.
 *
 * @example
 * ```ts
 * import { Sandbox, Stdio } from "jsr:@hakoniwa/cli";
 * const result = await new Sandbox().command("/bin/cat", ["cat"])
 *   .stdin(Stdio.piped()).input("piped in").stdout(Stdio.piped()).limitWalltime(5).run();
 * console.log(new TextDecoder().decode(result.stdout)); // "piped in"
 * ```
 */
export class SandboxExecutor {
  #stdio: [StdioOption, StdioOption, StdioOption] = ["inherit", "inherit", "inherit"];
  #input?: Uint8Array;

  /** An executor (see {@link Sandbox.command}). */
  constructor(
    /** The container the program runs in; every setting of it is available. */
    readonly container: Container,
    private readonly program: string,
    private readonly args: string[],
  ) {}

  /** `--ro-bind SRC[:DST]`. */
  roBind(source: string, target: string = source): this {
    this.container.bindRo(source, target);
    return this;
  }

  /** `--rw-bind SRC[:DST]`. */
  rwBind(source: string, target: string = source): this {
    this.container.bindRw(source, target);
    return this;
  }

  /** `--limit-cpu N` (seconds); null removes the limit. */
  limitCpu(seconds: number | null): this {
    return this.#limit("cpu", seconds);
  }

  /** `--limit-as N` (bytes); null removes the limit. */
  limitAs(bytes: number | null): this {
    return this.#limit("as", bytes);
  }

  /** `--limit-fsize N` (bytes); null removes the limit. */
  limitFsize(bytes: number | null): this {
    return this.#limit("fsize", bytes);
  }

  /** `--limit-walltime N` (seconds); null removes the limit. */
  limitWalltime(seconds: number | null): this {
    if (seconds === null) this.container.settings.walltime = null;
    else this.container.walltime(seconds);
    return this;
  }

  #limit(name: RlimitName, value: number | null): this {
    if (value === null) this.container.settings.rlimits.delete(name);
    else this.container.rlimit(name, value);
    return this;
  }

  /** `--setenv NAME=VALUE`. */
  setenv(name: string, value: string): this {
    this.container.env(name, value);
    return this;
  }

  /** Where stdin comes from. */
  stdin(stdio: Stdio): this {
    this.#stdio[0] = stdio.mode;
    return this;
  }

  /** Where stdout goes. */
  stdout(stdio: Stdio): this {
    this.#stdio[1] = stdio.mode;
    return this;
  }

  /** Where stderr goes. */
  stderr(stdio: Stdio): this {
    this.#stdio[2] = stdio.mode;
    return this;
  }

  /** Bytes for a piped stdin (without it, a piped stdin is empty). */
  input(data: Uint8Array | string): this {
    if (this.#stdio[0] !== "piped") throw new UsageError("input() needs stdin(Stdio.piped())", "stdin");
    this.#input = typeof data === "string" ? new TextEncoder().encode(data) : data;
    return this;
  }

  /**
   * Runs the program and waits. A failed setup is a result with status
   * `SE` (and `error` set), not an exception; bad settings still throw a
   * `UsageError`.
   */
  async run(): Promise<ExecutorResult> {
    const [stdin, stdout, stderr] = this.#stdio;
    let child: Child;
    const startTime = new Date();
    try {
      child = this.container.command(this.program, { args: this.args, stdin, stdout, stderr }).spawn();
    } catch (e) {
      if (!(e instanceof SetupError)) throw e;
      return seResult(e, startTime);
    }
    if (stdin === "piped") {
      const w = child.stdin.getWriter();
      // The command may exit without reading: a broken pipe is its business.
      await w.write(this.#input ?? new Uint8Array()).catch(() => {});
      await w.close().catch(() => {});
    }
    try {
      const out = await child.output();
      return {
        ...out.report,
        stdout: stdout === "piped" ? out.stdout : new Uint8Array(),
        stderr: stderr === "piped" ? out.stderr : new Uint8Array(),
      };
    } catch (e) {
      if (!(e instanceof SetupError)) throw e;
      return seResult(e, startTime);
    }
  }
}

function seResult(error: SetupError, startTime: Date): ExecutorResult {
  return {
    status: "SE",
    reason: error.message,
    exitCode: 125,
    signal: null,
    startTime,
    realTimeMs: Date.now() - startTime.getTime(),
    userTimeMs: 0,
    systemTimeMs: 0,
    maxRssKb: 0,
    usage: "none",
    error,
    stdout: new Uint8Array(),
    stderr: new Uint8Array(),
  };
}
