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
import { parseSandboxArgs } from "./src/cli/parse.ts";
import { EXPLAIN_FLAGS, type FlagSpec, RUN_FLAGS, type SandboxFlags } from "./src/cli/flags.ts";
import type { AppHost, AppModule, Subcommand } from "./src/cli/app_types.ts";
import { SHELLS } from "./src/cli/shells.ts";
import { loadLater, logPlan, planTable, programPath, resolve } from "./src/cli/sandbox.ts";
import { currentHost } from "./src/plan/plan.ts";
import { HakoniwaError, PolicyError, SetupError, UsageError } from "./src/common/errors.ts";
import { logger, setupLogging } from "./src/common/log.ts";
import { type Report, reportJson } from "./src/run/report.ts";
import type { ReportFile } from "./src/cli/report_file.ts";
import { type RunningSandbox, startSandbox } from "./src/run/runner.ts";
import { canSetgroups } from "./src/run/spec.ts";
import { type StdinRelay, stdinRelay } from "./src/cli/stdin_relay.ts";
import { type OutputRelays, outputRelays } from "./src/cli/output_relay.ts";
import { explainSetupError, type SetupRemedies } from "./src/run/setup_hint.ts";

export { parseBind } from "./src/cli/flags.ts";
export type { AppHost, AppModule, Subcommand } from "./src/cli/app_types.ts";

/** The version `hakoniwa --version` prints. */
export const VERSION = "0.1.0";

/** How to fix a failed exec, in the CLI's words. */
const CLI_REMEDIES: SetupRemedies = {
  nothingBound: "bind them with --ro-bind (the default policy binds /bin, /lib, /lib64 and /usr), or use --rootfs /",
};

const FORWARDED: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"];

/** The flags of `completion` (for its own completion and for src/cli/app.ts, which declares them to the parser). */
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

const encoder = new TextEncoder();

function writeAll(to: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  for (let n = 0; n < bytes.length;) n += to.writeSync(bytes.subarray(n));
}

/**
 * The report destination of `--report-file`: `-` and `/dev/stdout` are this process's stdout, `/dev/stderr` its
 * stderr (written through the fd: those names are links, which a report file is never opened through).
 */
async function reportTo(path: string, open: () => Promise<ReportFile>): Promise<ReportFile> {
  const std = path === "-" || path === "/dev/stdout" ? Deno.stdout : path === "/dev/stderr" ? Deno.stderr : null;
  if (!std) return await open();
  return { path, write: (text) => Promise.resolve(writeAll(std, text)), close() {} };
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
  // A stdin that is a file or a device reaches the command through a pipe: it cannot be reopened for writing. So
  // does a stdout or stderr that is a file, relayed up to the file size limit.
  let relay: StdinRelay | null = null;
  let outputs: OutputRelays | null = null;
  let sandbox: RunningSandbox;
  let tty = false;
  const fsize = plan.rlimits.find((l) => l.name === "fsize")?.value ?? null;
  try {
    relay = await stdinRelay();
    outputs = await outputRelays(fsize);
    const stdio: [number, number, number] = [relay?.fd ?? 0, ...outputs?.stdio ?? [1, 2]];
    // A terminal on any stdio: the command gets its own pty, which also passes window size changes on. A relayed
    // stdin is a pipe; the pty's code loads only for a terminal.
    tty = (!relay && Deno.stdin.isTerminal()) || Deno.stdout.isTerminal() || Deno.stderr.isTerminal();
    sandbox = tty
      ? await (await import("./src/run/terminal.ts")).startTerminalSandbox(plan, { stdio, setgroups: canSetgroups() })
      : await startSandbox(plan, { stdio, session: "new", setgroups: canSetgroups() });
  } catch (e) {
    relay?.stop();
    outputs?.stop();
    reportFile?.close();
    throw e;
  }
  relay?.start();
  outputs?.start(() => sandbox.kill("SIGKILL"));
  const forward = FORWARDED.filter((sig) => !tty || sig !== "SIGWINCH").map((sig) =>
    [sig, () => sandbox.kill(sig)] as const
  );
  for (const [sig, fn] of forward) Deno.addSignalListener(sig, fn);
  const report = explainSetupError(await sandbox.finished, plan, CLI_REMEDIES);
  for (const [sig, fn] of forward) Deno.removeSignalListener(sig, fn);
  relay?.stop();
  if (await outputs?.done() && report.status !== "SE") {
    // Output relayed to a file reached the file size limit: the run ends as the kernel's limit would have ended it.
    Object.assign(report, {
      status: "OLE",
      reason: `file size limit of ${fsize} bytes reached by the output written to a file`,
      exitCode: 128 + 25,
      signal: "SIGXFSZ",
    });
  }
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
  const { plan } = await resolve(command, flags, state, { explain: true });
  const json = flags.json ? (await import("./src/plan/json.ts")).planToJson(plan) + "\n" : undefined;
  writeAll(Deno.stdout, json ?? planTable(plan));
  return 0;
}

/** Checks every file and reports each; returns how many are invalid. */
async function checkAction(files: string[]): Promise<number> {
  let bad = 0;
  for (const file of files) {
    try {
      const { loadPolicyFile } = await loadLater<typeof import("./src/policy/policy.ts")>("../policy/policy.ts");
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
  [/^(groups|user): /, "--user: "],
  [/\bgidMap\(ID, HOST, COUNT\)/g, "--gidmap C:H:N"],
  [/^allowNewPrivs: /, "--allow-new-privs: "],
  [/\blandlockAbi\(\)/g, "--landlock-abi"],
  [/allow running without it with landlockBestEffort\(\)/g, "pass --landlock-best-effort to run without it"],
];

/** An error's message as one line in the CLI's words (flags, not library methods). */
function cliMessage(e: Error): string {
  return FLAG_WORDS.reduce((m, [from, to]) => m.replace(from, to), oneLine(e.message));
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
  try {
    const sandbox = args[0] === "run"
      ? { table: RUN_FLAGS, action: runAction }
      : args[0] === "explain"
      ? { table: EXPLAIN_FLAGS, action: explainAction }
      : undefined;
    if (sandbox) {
      const parsed = parseSandboxArgs(sandbox.table, args.slice(1));
      if (!parsed.help) return await sandbox.action(parsed.flags, parsed.state, parsed.command);
    }
    // Everything else goes through the command tree on @stricli/core. Its module is named at run time: a literal
    // import() would be resolved with the start-up graph, and an npm package there boots Deno's npm resolver.
    const app: AppModule = await import(new URL("./src/cli/app.ts", import.meta.url).href);
    return await app.runApp(args, HOST);
  } catch (e) {
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
}

const HOST: AppHost = { SUBCOMMANDS, VERSION, write: (text) => writeAll(Deno.stdout, text), check: checkAction };

if (import.meta.main) Deno.exit(await main(Deno.args));
