/**
 * The `hakoniwa` command line: argv -> policy and flags -> Container ->
 * Plan -> sandbox -> exit code. The only module that exits the process.
 * Subcommands: `run`, `explain`, `check`, `completion`, `help`.
 *
 * ```sh
 * deno run -A jsr:@hakoniwa/cli run -- sh
 * ```
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import { type Application, type ApplicationContext, buildRouteMap, run, text_en } from "npm:@stricli/core@1.3.0";
// deno-lint-ignore no-import-prefix
import type { FlagParametersForType } from "npm:@stricli/core@1.3.0";
// deno-lint-ignore no-import-prefix
import { buildApplication, buildCommand, help, version } from "npm:@stricli/core@1.3.0";
import { argumentError, collectFlags, parserFlags, type Scan, scanArgs } from "./src/cli/args.ts";
import { EXPLAIN_FLAGS, type FlagSpec, RUN_FLAGS, type SandboxFlags } from "./src/cli/flags.ts";
import type { CompletionCommand } from "./src/cli/completion.ts";
import { type Shell, SHELLS } from "./src/cli/shells.ts";
import { logPlan, planTable, programPath, resolve } from "./src/cli/sandbox.ts";
import { currentHost, planToJson } from "./src/plan.ts";
import { HakoniwaError, PolicyError, SetupError, UsageError } from "./src/errors.ts";
import { logger, setupLogging } from "./src/log.ts";
import { type Report, reportJson } from "./src/report.ts";
import type { ReportFile } from "./src/cli/report_file.ts";
import { canSetgroups, type RunningSandbox, startSandbox } from "./src/runner.ts";
import { type StdinRelay, stdinRelay } from "./src/cli/stdin_relay.ts";
import { didYouMean } from "./src/suggest.ts";
import { explainSetupError, type SetupRemedies } from "./src/setup_hint.ts";

export { parseBind } from "./src/cli/flags.ts";

/** The version `hakoniwa --version` prints. */
export const VERSION = "0.1.0";

/** How to fix a failed exec, in the CLI's words. */
const CLI_REMEDIES: SetupRemedies = {
  nothingBound: "bind them with --ro-bind (the default policy binds /bin, /lib, /lib64 and /usr), or use --rootfs /",
};

const FORWARDED: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"];

/** A subcommand: its documentation, flags and what its positional arguments are. */
interface Subcommand extends CompletionCommand {
  /** The usage line after `hakoniwa NAME`. */
  usage: string;
  /** Example command lines, each runnable as written. */
  examples: string[];
}

/** The flags of `completion` (for its own completion; the parser's are declared in {@link buildApp}). */
const COMPLETION_FLAGS: readonly FlagSpec[] = [
  {
    name: "file",
    short: "f",
    value: "FILE",
    files: true,
    brief: "write the script to FILE (directories made) instead",
  },
];

/**
 * The subcommands with their help and examples. Every example runs as written
 * (tests/cli_test.ts runs them) from a checkout, with a `my-policy.toml` and
 * a `Makefile` in the current directory.
 */
const SUBCOMMANDS: readonly Subcommand[] = [
  {
    name: "run",
    brief: "run a command in a new sandbox",
    usage: "[FLAGS] [--] [COMMAND [ARGS...]]",
    flags: RUN_FLAGS,
    words: "files",
    examples: [
      "hakoniwa run -- ls /",
      "hakoniwa run --ro-bind /etc --limit-walltime 5 -- sh -c 'cat /etc/hostname'",
      "hakoniwa run --policy-file policies/KISS-policy.toml -v -- /bin/bash",
      'hakoniwa run -b /etc -B "$PWD":/work -w /work --unshare-all -e TERM -- make',
      "hakoniwa run --rootfs / --chdir /etc --uidmap 0 --user 0:0 -- /bin/sh -c 'id -u; pwd'",
      "hakoniwa run --report-file - -- /bin/true",
    ],
  },
  {
    name: "explain",
    brief: "print the resolved plan of a run without running anything",
    usage: "[FLAGS] [--] [COMMAND [ARGS...]]",
    flags: EXPLAIN_FLAGS,
    words: "files",
    examples: [
      "hakoniwa explain -- ls /",
      "hakoniwa explain --policy-file policies/lang-python.toml -- python3 -V",
      "hakoniwa explain --json --ro-bind /etc --share-net -- curl example.org > plan.json",
    ],
  },
  {
    name: "check",
    brief: "validate policy files; exit 0 when every one is valid, 2 otherwise",
    usage: "FILE...",
    flags: [],
    words: "files",
    examples: [
      "hakoniwa check policies/KISS-policy.toml",
      "hakoniwa check my-policy.toml && hakoniwa run --policy-file my-policy.toml -- sh -c 'echo valid'",
    ],
  },
  {
    name: "completion",
    brief: "print a shell completion script, or write it to a file",
    usage: `[-f FILE] ${SHELLS.join("|")}`,
    flags: COMPLETION_FLAGS,
    words: SHELLS,
    examples: [
      "source <(hakoniwa completion bash)",
      "hakoniwa completion -f ~/.local/share/bash-completion/completions/hakoniwa bash",
      "hakoniwa completion -f ~/.zfunc/_hakoniwa zsh    # a directory on $fpath",
      "hakoniwa completion -f ~/.config/fish/completions/hakoniwa.fish fish",
      "hakoniwa completion -f ~/.config/elvish/lib/hakoniwa.elv elvish    # rc.elv: use hakoniwa",
      "hakoniwa completion -f ~/.config/powershell/hakoniwa.ps1 powershell    # $PROFILE: . ~/.config/powershell/hakoniwa.ps1",
    ],
  },
  {
    name: "help",
    brief: "print the help of a command",
    usage: "[COMMAND]",
    flags: [],
    words: ["run", "explain", "check", "completion", "help"],
    examples: ["hakoniwa help run"],
  },
];

const ROOT_EXAMPLES = [
  "hakoniwa run -- ls /",
  "hakoniwa explain --json -- sh",
  "hakoniwa check policies/KISS-policy.toml",
  "source <(hakoniwa completion bash)",
];

function describe(brief: string, examples: string[]): string {
  return `${brief}\n\nExamples:\n${examples.map((e) => `  ${e}`).join("\n")}`;
}

/** What the commands report back to {@link main}. */
interface Outcome {
  code: number;
  failure?: unknown;
}

const encoder = new TextEncoder();

function writeAll(to: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  for (let n = 0; n < bytes.length;) n += to.writeSync(bytes.subarray(n));
}

/** The report destination of `--report-file`: `-` is stdout. */
async function reportTo(path: string, open: () => Promise<ReportFile>): Promise<ReportFile> {
  if (path !== "-") return await open();
  return { path: "-", write: (text) => Promise.resolve(writeAll(Deno.stdout, text)), close() {} };
}

async function runAction(flags: SandboxFlags, state: Parameters<typeof resolve>[2], command: string[]) {
  const verbose = (flags.verbose ?? 0) as number;
  const quiet = flags.quiet === true;
  if (quiet && verbose) throw new UsageError("--quiet and --verbose contradict each other: give one", "--quiet");
  await setupLogging(quiet ? "off" : !verbose ? "warning" : verbose > 1 ? "debug" : "info");
  const { plan } = await resolve(command, flags, state);
  logPlan(plan);
  const reportPath = flags.reportFile as string | undefined;
  const reportFile = reportPath
    ? await reportTo(reportPath, async () => (await import("./src/cli/report_file.ts")).openReport(reportPath, plan))
    : null;
  // A stdin that is a file or a device reaches the command through a pipe: it cannot be reopened for writing.
  let relay: StdinRelay | null = null;
  let sandbox: RunningSandbox;
  let tty = false;
  try {
    relay = await stdinRelay();
    const stdio: [number, number, number] = [relay?.fd ?? 0, 1, 2];
    // A terminal on any stdio: the command gets its own pty, which also passes window size changes on. A relayed
    // stdin is a pipe; the pty's code loads only for a terminal.
    tty = (!relay && Deno.stdin.isTerminal()) || Deno.stdout.isTerminal() || Deno.stderr.isTerminal();
    sandbox = tty
      ? await (await import("./src/terminal.ts")).startTerminalSandbox(plan, { stdio, setgroups: canSetgroups() })
      : await startSandbox(plan, { stdio, session: "new", setgroups: canSetgroups() });
  } catch (e) {
    relay?.stop();
    reportFile?.close();
    throw e;
  }
  relay?.start();
  const forward = FORWARDED.filter((sig) => !tty || sig !== "SIGWINCH").map((sig) =>
    [sig, () => sandbox.kill(sig)] as const
  );
  for (const [sig, fn] of forward) Deno.addSignalListener(sig, fn);
  const report = explainSetupError(await sandbox.finished, plan, CLI_REMEDIES);
  for (const [sig, fn] of forward) Deno.removeSignalListener(sig, fn);
  relay?.stop();
  const json = JSON.stringify(reportJson(report));
  if (report.status === "SE") console.error(`hakoniwa: ${report.reason}`);
  else if (!quiet && endedBySandbox(report)) {
    // A 1.x config speaks 1.x's words; otherwise the report's reason says which limit or signal fired.
    console.error(
      typeof flags.config === "string" && report.signal
        ? `hakoniwa: Process(${programPath(plan, currentHost())}) received signal ${report.signal}`
        : `hakoniwa: ${report.reason} (status ${report.status})`,
    );
  }
  logger("executor").info(`Result: ${json}`);
  if (reportFile) {
    // A report that cannot be written is said once; the exit code stays the command's.
    try {
      await reportFile.write(json + "\n");
    } catch (e) {
      console.error(`hakoniwa: --report-file: cannot write ${reportPath}: ${e instanceof Error ? e.message : e}`);
    } finally {
      try {
        reportFile.close();
      } catch { /* already reported */ }
    }
  }
  return report.exitCode;
}

/**
 * Whether the end of a run deserves one line at the default verbosity: a
 * limit, a seccomp kill or a signal ended the command. A shell stays silent
 * for SIGINT (the user pressed Ctrl-C) and SIGPIPE (a reader went away), so
 * does this.
 */
function endedBySandbox(report: Report): boolean {
  if (report.status === "OK" || report.status === "SE") return false;
  return report.status !== "SIG" || (report.signal !== "SIGINT" && report.signal !== "SIGPIPE");
}

async function explainAction(
  flags: SandboxFlags,
  state: Parameters<typeof resolve>[2],
  command: string[],
): Promise<number> {
  await setupLogging("warning");
  const { plan } = await resolve(command, flags, state);
  writeAll(Deno.stdout, flags.json ? planToJson(plan) + "\n" : planTable(plan));
  return 0;
}

/** Checks every file and reports each; returns how many are invalid. */
async function checkAction(files: string[]): Promise<number> {
  let bad = 0;
  for (const file of files) {
    try {
      const { loadPolicyFile } = await import("./src/policy.ts");
      const { containerFromPolicy, missingBindSources } = await import("./src/policy_container.ts");
      const policy = await loadPolicyFile(file, "check");
      const container = containerFromPolicy(policy); // resolves `user`, checks hostname and limits
      const missing = missingBindSources(container);
      for (const m of missing) {
        console.error(
          `hakoniwa: ${file}: warning: bind source ${JSON.stringify(m.source)} (target ${
            JSON.stringify(m.target)
          }) does not exist: a run skips it (optional = true says that is meant)`,
        );
      }
      const n = policy.filesRead.length;
      const warned = missing.length ? `, ${missing.length} warning${missing.length > 1 ? "s" : ""}` : "";
      writeAll(Deno.stdout, `${file}: ok (${n} file${n > 1 ? "s" : ""}${warned})\n`);
    } catch (e) {
      if (!(e instanceof HakoniwaError)) throw e;
      bad++;
      console.error(`hakoniwa: ${cliMessage(e)}`);
    }
  }
  return bad;
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, " ").trim();
}

/** The library's names for what the CLI calls flags, in the library's messages. */
const FLAG_WORDS: [RegExp, string][] = [
  [/^(uid|gid)Map: /, "--$1map: "],
  [/\b(uid|gid)Map\((\w+), (\d+)\)/g, "--$1map $2:$3"],
  [/^seccomp: /, "--seccomp: "],
  [/^groups: /, "--user: "],
  [/\bgidMap\(ID, HOST, COUNT\)/g, "--gidmap C:H:N"],
  [/^allowNewPrivs: /, "--allow-new-privs: "],
  [/\blandlockAbi\(\)/g, "--landlock-abi"],
  [/allow running without it with landlockBestEffort\(\)/g, "pass --landlock-best-effort to run without it"],
];

/** An error's message as one line in the CLI's words (flags, not library methods). */
function cliMessage(e: Error): string {
  return FLAG_WORDS.reduce((m, [from, to]) => m.replace(from, to), oneLine(e.message));
}

function buildApp(scan: Scan | undefined, context: ApplicationContext, out: Outcome): Application<ApplicationContext> {
  const sub = (name: string) => SUBCOMMANDS.find((s) => s.name === name)!;
  const docs = (s: Subcommand) => ({
    brief: s.brief,
    fullDescription: describe(s.brief, s.examples),
    customUsage: [s.usage],
  });
  const guard = (fn: () => Promise<number | void>) => async () => {
    try {
      out.code = (await fn()) ?? 0;
    } catch (e) {
      out.failure = e;
    }
  };
  const sandboxCommand = (s: Subcommand, table: readonly FlagSpec[], action: typeof runAction) =>
    buildCommand({
      func: (parsed: Record<string, unknown>, ...command: string[]) =>
        guard(async () => {
          if (!scan) throw new Error(`${s.name}: the arguments were not scanned`);
          const { flags, state } = collectFlags(table, scan, parsed, command);
          return await action(flags, state, command);
        })(),
      parameters: {
        // The table's values are typed per flag when they are applied (flags.ts), not here.
        flags: parserFlags(table).flags as unknown as FlagParametersForType<Record<string, unknown>>,
        aliases: parserFlags(table).aliases,
        positional: {
          kind: "array",
          parameter: { brief: "the command and its arguments", placeholder: "COMMAND", parse: String },
        },
      },
      docs: docs(s),
    });
  const check = buildCommand({
    func: (_flags: NonNullable<unknown>, ...files: string[]) => guard(async () => (await checkAction(files)) ? 2 : 0)(),
    parameters: {
      positional: {
        kind: "array",
        minimum: 1,
        parameter: { brief: "policy files", placeholder: "FILE", parse: String },
      },
    },
    docs: docs(sub("check")),
  });
  const completion = buildCommand({
    func: (flags: { file?: string }, shell: Shell) =>
      guard(async () => {
        // The generators load only for this subcommand.
        const script = (await import("./src/cli/completion.ts")).completionScript(SUBCOMMANDS, shell);
        if (flags.file === undefined) return writeAll(Deno.stdout, script);
        const written = (await import("./src/cli/completion_file.ts")).writeCompletionFile(flags.file, script);
        writeAll(Deno.stdout, `wrote the ${shell} completion to ${written}\n`);
      })(),
    parameters: {
      flags: {
        file: {
          kind: "parsed",
          parse: String,
          brief: COMPLETION_FLAGS[0].brief,
          placeholder: "FILE",
          optional: true,
        },
      },
      aliases: { f: "file" },
      positional: {
        kind: "tuple",
        parameters: [{
          brief: "the shell",
          placeholder: "SHELL",
          parse: (v: string): Shell => {
            if (!(SHELLS as readonly string[]).includes(v)) {
              throw new UsageError(`completion: expected ${SHELLS.join(", ")}, got "${v}"`);
            }
            return v as Shell;
          },
        }],
      },
    },
    docs: docs(sub("completion")),
  });
  const helpCommand = buildCommand({
    func: (_flags: NonNullable<unknown>, name?: string) =>
      guard(async () => {
        const names = SUBCOMMANDS.map((s) => s.name);
        if (name !== undefined && !names.includes(name)) {
          const near = didYouMean(name, names);
          throw new UsageError(`help: unknown command "${name}"${near ? `; did you mean ${near}?` : ""}`);
        }
        await run(app, name === undefined ? ["--help"] : [name, "--help"], context);
      })(),
    parameters: {
      positional: {
        kind: "tuple",
        parameters: [{ brief: "a command", placeholder: "COMMAND", parse: String, optional: true }],
      },
    },
    docs: docs(sub("help")),
  });
  const root = buildRouteMap({
    routes: {
      run: sandboxCommand(sub("run"), RUN_FLAGS, runAction),
      explain: sandboxCommand(sub("explain"), EXPLAIN_FLAGS, explainAction),
      check,
      completion,
      help: helpCommand,
    },
    docs: {
      brief: "Process isolation for Linux: namespaces, limits, seccomp and Landlock",
      fullDescription: describe("Process isolation for Linux: namespaces, limits, seccomp and Landlock", ROOT_EXAMPLES),
    },
  });
  const app: Application<ApplicationContext> = buildApplication(root, {
    name: "hakoniwa",
    scanner: { allowArgumentEscapeSequence: true },
    documentation: { disableAnsiColor: true },
    localization: {
      text: {
        ...text_en,
        noCommandRegisteredForInput: ({ input, corrections }) => {
          const near = corrections.map((c) => c.replaceAll("`", ""));
          return `unknown command "${input}"${near.length ? `; did you mean ${near.join(" or ")}?` : ""}`;
        },
        exceptionWhileParsingArguments: (exc: unknown) => argumentError(exc),
      },
    },
  }, {
    help: help({
      brief: "show help",
      alias: "h",
      defaultForRouteMap: true,
      formatting: { useAliasInUsageLine: false, onlyRequiredInUsageLine: true, caseStyle: "original" },
    }),
    version: version({ brief: "print the version", alias: "V", info: { currentVersion: VERSION } }),
  });
  return app;
}

/**
 * hakoniwa 1.x's global flags given before the subcommand (`hakoniwa -v
 * run ...`, `-vv`, `--verbose`, `-q`, `--quiet`) are moved after it, where
 * `run` reads them.
 *
 * @example
 * ```ts
 * import { hoistGlobalFlags } from "./cli.ts";
 * console.log(hoistGlobalFlags(["-vv", "run", "--", "ls"])); // ["run", "-vv", "--", "ls"]
 * ```
 */
export function hoistGlobalFlags(args: readonly string[]): string[] {
  let i = 0;
  while (i < args.length && /^(-v+|--verbose|-q|--quiet)$/.test(args[i])) i++;
  if (i === 0 || i === args.length) return [...args];
  return [args[i], ...args.slice(0, i), ...args.slice(i + 1)];
}

/**
 * Runs the CLI with `args` (without the program name) and returns the exit
 * code: the command's, 128+N for signal N, 125 when the sandbox could not
 * be set up, 2 for bad usage or an invalid policy. Every error is one line
 * `hakoniwa: ...` on stderr.
 *
 * @example
 * ```ts ignore
 * import { main } from "./cli.ts";
 * Deno.exit(await main(["run", "--", "ls", "/"]));
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const args = hoistGlobalFlags(argv);
  const table = args[0] === "run" ? RUN_FLAGS : args[0] === "explain" ? EXPLAIN_FLAGS : undefined;
  const scan = table ? scanArgs(table, args.slice(1)) : undefined;
  const errors: string[] = [];
  const context = {
    process: {
      stdout: { write: (text: string) => writeAll(Deno.stdout, text) },
      stderr: { write: (text: string) => void errors.push(text) },
      env: {},
      exitCode: undefined as number | string | null | undefined,
    },
  };
  const out: Outcome = { code: 0 };
  await run(buildApp(scan, context, out), scan ? [args[0], ...scan.parserArgs] : args, context);
  const e = out.failure;
  if (e !== undefined) {
    if (e instanceof UsageError || e instanceof PolicyError) {
      console.error(`hakoniwa: ${cliMessage(e)}`);
      return 2;
    }
    if (e instanceof SetupError || e instanceof HakoniwaError) {
      console.error(`hakoniwa: ${cliMessage(e)}`);
      return 125;
    }
    throw e;
  }
  if (errors.length) {
    // The parser's complaint (it may find several; the first is the one to fix).
    console.error(`hakoniwa: ${oneLine(errors[0])}`);
    return 2;
  }
  return out.code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
